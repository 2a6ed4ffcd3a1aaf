"""Web access control: the imperative shell around ``core.access`` (docs/access-control.md).

``install`` adds one aiohttp middleware to the worker's web app when
``SCORECARD_AUTH_TOKENS_FILE`` is set. Deny by default: every route needs a valid
bearer token except ``/metrics``, ``/healthz`` and ``/readyz`` (no business data) and,
with ``SCORECARD_PUBLIC_LEADERBOARD=1``, the leaderboard page and what it reads.
Unknown routes (Faust's built-in views, if ever re-enabled) are admin only.

The middleware runs on the worker that receives the request, before the query API's
``table_route`` forwards it to the owner of the aggregation stage; Faust forwards the
request headers, ``Authorization`` included, so the owner authenticates again and then
makes the full decision (``authorize`` with the rep's current team from its engine)
through ``denied``. A missing or unknown token is 401 with ``WWW-Authenticate``; a known
token out of its scope is 403; both answer ``{"error": ...}``. Tokens are never logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web as aioweb

from sales_scorecard.core.access import (
    PUBLIC_KINDS,
    Principal,
    Resource,
    TokenEntry,
    TokenFileError,
    authenticate,
    authorize,
    load_tokens,
    may_request,
)

from .settings import Settings, SettingsError

log = logging.getLogger(__name__)

#: Routes reachable without a token: monitoring, no business data.
OPERATIONAL = frozenset({"/metrics", "/healthz", "/readyz"})
#: Route pattern -> request kind (core.access.KINDS); any other route is "internal".
KIND_BY_ROUTE = {
    "/": "page",
    "/api/boards": "boards",
    "/api/stream": "stream",
    "/api/leaderboard": "leaderboard",
    "/api/scorecards/{scope}/{id}/{period}": "scorecard",
    "/api/scorecards/{scope}/{id}/{period}/explain": "explain",
    "/api/payroll/{period}": "payroll",
}
REALM = 'Bearer realm="sales-scorecard"'


@dataclass(frozen=True)
class Access:
    """What the middleware decided: the caller, or a public (token-less) request."""

    principal: Principal | None
    public: bool = False


#: Key of the ``Access`` decision stored on the aiohttp request (a typed key on aiohttp >= 3.12).
ACCESS_KEY: Any = aioweb.RequestKey("scorecard.access", Access) if hasattr(aioweb, "RequestKey") \
    else "scorecard.access"


class TokenStore:
    """The tokens file, re-read when it changes (so a revoked token stops working).

    A file that becomes unreadable or malformed fails closed: no token is accepted until
    it is fixed (the reason is logged, never a token).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._entries: list[TokenEntry] = []
        self.refresh(strict=True)

    def refresh(self, strict: bool = False) -> None:
        """Reload when the file's mtime or size changed; ``strict`` raises instead of failing closed."""
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp is not None and stamp == self._stamp:
            return
        try:
            self._entries = load_tokens(self.path)
            self._stamp = stamp
        except TokenFileError as exc:
            if strict:
                raise
            if self._stamp != stamp or self._entries:
                log.warning("access: %s; refusing every token until the file is fixed", exc)
            self._entries, self._stamp = [], stamp

    def authenticate(self, header: str | None) -> Principal | None:
        """The principal of an ``Authorization`` header, else None."""
        self.refresh()
        return authenticate(header, self._entries)


def error(status: int, message: str) -> aioweb.Response:
    """A JSON error response; 401 carries the ``WWW-Authenticate`` challenge."""
    headers = {"WWW-Authenticate": REALM} if status == 401 else None
    return aioweb.json_response({"error": message}, status=status, headers=headers)


def route_kind(request: aioweb.Request) -> str:
    """The request kind of the matched route (``internal`` when unknown or unmatched)."""
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    if canonical in OPERATIONAL:
        return "operational"
    return KIND_BY_ROUTE.get(canonical, "internal")


Handler = Callable[[aioweb.Request], Awaitable[aioweb.StreamResponse]]


def middleware(store: TokenStore, public_leaderboard: bool) -> Callable:
    """The aiohttp middleware that authenticates every request and checks the role's kinds."""

    @aioweb.middleware
    async def access_control(request: aioweb.Request, handler: Handler) -> aioweb.StreamResponse:
        kind = route_kind(request)
        if kind == "operational":
            return await handler(request)
        header = request.headers.get("Authorization")
        principal = store.authenticate(header) if header else None
        if principal is None:
            if header:
                return error(401, "invalid token")
            if public_leaderboard and kind in PUBLIC_KINDS:
                request[ACCESS_KEY] = Access(None, public=True)
                return await handler(request)
            return error(401, "authentication required: send Authorization: Bearer <token>")
        if not may_request(principal, kind):
            return error(403, f"role {principal.role} may not read this resource")
        request[ACCESS_KEY] = Access(principal)
        return await handler(request)

    return access_control


def install(web_app: aioweb.Application, settings: Settings) -> TokenStore | None:
    """Enforce the loopback rule and, with a tokens file, add the access middleware."""
    settings.check_web_access()
    if not settings.auth_tokens_file:
        return None
    try:
        store = TokenStore(settings.auth_tokens_file)
    except TokenFileError as exc:
        raise SettingsError(f"SCORECARD_AUTH_TOKENS_FILE: {exc}") from None
    web_app.middlewares.append(middleware(store, settings.public_leaderboard))
    return store


def access_of(request: aioweb.Request) -> Access | None:
    """The middleware's decision for a request; None when authentication is off."""
    return request.get(ACCESS_KEY)


def is_public(request: aioweb.Request) -> bool:
    """True for a token-less request let in by the public-leaderboard setting."""
    access = access_of(request)
    return access is not None and access.public


def denied(request: aioweb.Request, resource: Resource) -> aioweb.Response | None:
    """A 403 response when the caller may not read ``resource``; None when allowed or auth is off."""
    access = access_of(request)
    if access is None:
        return None
    if access.principal is None or not authorize(access.principal, resource):
        return error(403, "this token may not read this resource")
    return None
