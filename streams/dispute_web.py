"""The appeals routes on an aiohttp app: ``DisputeApi`` (streams/dispute_api.py) behind the
access middleware (streams/auth.py), registered on the worker by ``streams.web``.

``register_disputes_api(web_app, api)`` adds

    POST /api/disputes                   open        (202 + id)
    GET  /api/disputes?rep=&state=       list
    GET  /api/disputes/{id}              read one
    POST /api/disputes/{id}/resolve      decide      (202)
    POST /api/disputes/{id}/withdraw     take back   (202)

The caller is the principal the middleware authenticated (bearer token, or the sign-in
cookie with its CSRF header for a POST). Without a tokens file there is no middleware and
no caller: reads then answer as for admin, like every other route of a loopback-only
worker, and writes are refused with 403, since an appeal event must name who sent it (and
a loopback worker would otherwise take a cross-site form post from any page the user opens).

The worker's ``DisputeApi`` publishes to ``sales.disputes`` and waits for the broker, reads
the disputes its dispute stage holds and the roster of its engine: both live on the worker
that owns the aggregation stage, so ``ready`` says whether this worker serves the routes
(503 otherwise, after the access checks of the middleware).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web as aioweb

from sales_scorecard.core.access import Principal

from .auth import access_of, error
from .dispute_api import Answer, DisputeApi

#: Who reads when authentication is off (loopback only): everything, as admin would.
LOCAL_READER = Principal("local", "admin")


def _response(answer: Answer) -> aioweb.Response:
    return aioweb.json_response(answer.body, status=answer.status, headers=dict(answer.headers) or None)


def _reader(request: aioweb.Request) -> Principal | None:
    access = access_of(request)
    return LOCAL_READER if access is None else access.principal


def _writer(request: aioweb.Request) -> Principal | None | aioweb.Response:
    """The caller of a write, or the 403 of a worker without authentication."""
    access = access_of(request)
    if access is None:
        return error(403, "appeal writes need a signed-in caller: set SCORECARD_AUTH_TOKENS_FILE "
                          "(docs/access-control.md)")
    return access.principal


def _not_here() -> aioweb.Response:
    return error(503, "appeals are served by the worker that owns the aggregation stage; try again there "
                      "or once it has started")


def register_disputes_api(web_app: aioweb.Application, api: DisputeApi,
                          ready: Callable[[], bool] = lambda: True) -> None:
    """Add the appeals routes, answered by ``api``, to ``web_app``; while ``ready()`` is
    false they answer 503."""

    async def open_dispute(request: aioweb.Request) -> aioweb.Response:
        if not ready():
            return _not_here()
        caller = _writer(request)
        if isinstance(caller, aioweb.Response):
            return caller
        return _response(await api.open(caller, await request.read()))

    async def resolve(request: aioweb.Request) -> aioweb.Response:
        if not ready():
            return _not_here()
        caller = _writer(request)
        if isinstance(caller, aioweb.Response):
            return caller
        return _response(await api.resolve(caller, request.match_info["id"], await request.read()))

    async def withdraw(request: aioweb.Request) -> aioweb.Response:
        if not ready():
            return _not_here()
        caller = _writer(request)
        if isinstance(caller, aioweb.Response):
            return caller
        return _response(await api.withdraw(caller, request.match_info["id"], await request.read()))

    async def list_disputes(request: aioweb.Request) -> aioweb.Response:
        if not ready():
            return _not_here()
        q = request.query
        return _response(api.list(_reader(request), q.get("rep") or None, q.get("state") or None))

    async def get_dispute(request: aioweb.Request) -> aioweb.Response:
        if not ready():
            return _not_here()
        return _response(api.get(_reader(request), request.match_info["id"]))

    router = web_app.router
    router.add_post("/api/disputes", open_dispute)
    router.add_get("/api/disputes", list_disputes)
    router.add_get("/api/disputes/{id}", get_dispute)
    router.add_post("/api/disputes/{id}/resolve", resolve)
    router.add_post("/api/disputes/{id}/withdraw", withdraw)
