"""Web access control: the imperative shell around ``core.access`` (docs/access-control.md).

``install`` adds one aiohttp middleware to the worker's web app when
``SCORECARD_AUTH_TOKENS_FILE`` is set. Deny by default: every route needs a valid
bearer token except ``/metrics``, ``/healthz`` and ``/readyz`` (no business data), the
pages ``/`` and ``/me`` and the files they share (``/static/…``) when no ``Authorization``
header is sent (static shells with no data: they hold the sign-in form, and everything
they read needs a token) and, with
``SCORECARD_PUBLIC_LEADERBOARD=1``, what the leaderboard page reads.
Unknown routes (Faust's built-in views, if ever re-enabled) are admin only.

The middleware runs on the worker that receives the request, before the query API's
``table_route`` forwards it to the owner of the aggregation stage; Faust forwards the
request headers, ``Authorization`` included, so the owner authenticates again and then
makes the full decision (``authorize`` with the rep's current team from its engine)
through ``denied``. A missing or unknown token is 401 with ``WWW-Authenticate``; a known
token out of its scope is 403; both answer ``{"error": ...}``. Tokens are never logged.

A browser signs in once (``POST /api/session`` with the bearer token, ``register_session_api``)
and then carries the token in the ``scorecard_session`` cookie (HttpOnly, SameSite=Strict,
Secure over TLS). The ``Authorization`` header wins when both are sent. A request that
authenticates by the cookie and is not a GET, HEAD or OPTIONS must carry
``X-Scorecard-CSRF: csrf_token(token)`` (``core.access``; the page reads it from the
``scorecard_csrf`` cookie): a cross-site form post carries the cookie but cannot set the
header, and is refused with 403.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web as aioweb

from sales_scorecard.core.access import (
    PUBLIC_KINDS,
    REALM,
    Principal,
    Resource,
    TokenEntry,
    TokenFileError,
    authenticate,
    authenticate_token,
    authorize,
    bearer_token,
    csrf_matches,
    csrf_token,
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
    "/me": "page",
    "/static/scorecard.css": "page",
    "/static/scorecard.js": "page",
    "/api/me": "me",
    "/api/me/ranks": "me",
    "/api/boards": "boards",
    "/api/stream": "stream",
    "/api/leaderboard": "leaderboard",
    "/api/scorecards/{scope}/{id}/{period}": "scorecard",
    "/api/scorecards/{scope}/{id}/{period}/explain": "explain",
    "/api/payroll/{period}": "payroll",
    "/api/awards": "awards",
    "/api/disputes": "disputes",
    "/api/disputes/{id}": "disputes",
    "/api/disputes/{id}/resolve": "disputes",
    "/api/disputes/{id}/withdraw": "disputes",
    "/api/session": "session",
}
#: The sign-in cookie: the bearer token, HttpOnly (page scripts never see it).
SESSION_COOKIE = "scorecard_session"
#: The anti-CSRF value (``core.access.csrf_token``), readable by the page's own scripts.
CSRF_COOKIE = "scorecard_csrf"
#: The header a write signed in by cookie must carry, holding the ``CSRF_COOKIE`` value.
CSRF_HEADER = "X-Scorecard-CSRF"
#: How long a browser keeps the sign-in (a working day); revoking the token ends it at once.
SESSION_MAX_AGE = 8 * 3600
#: Methods that change nothing: no CSRF header needed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What a token must look like to travel in a cookie unquoted (``secrets.token_urlsafe`` does).
_COOKIE_SAFE = re.compile(r"^[A-Za-z0-9._~+-]{1,512}\Z")


@dataclass(frozen=True)
class Access:
    """What the middleware decided: the caller, or a public (token-less) request;
    ``session_token`` is the token when it came in the sign-in cookie rather than the header."""

    principal: Principal | None
    public: bool = False
    session_token: str | None = None


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

    def authenticate_token(self, token: str) -> Principal | None:
        """The principal of a token (the sign-in cookie's), else None."""
        self.refresh()
        return authenticate_token(token, self._entries)


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
        if kind == "page" and not header and request.method in SAFE_METHODS:
            request[ACCESS_KEY] = Access(None, public=True)  # the static page: its sign-in form is the way in
            return await handler(request)
        cookie = None if header else request.cookies.get(SESSION_COOKIE) or None
        principal = store.authenticate(header) if header else store.authenticate_token(cookie) if cookie else None
        if principal is None:
            if header:
                return error(401, "invalid token")
            if cookie:
                return error(401, "the sign-in has expired or its token was revoked: sign in again")
            if public_leaderboard and kind in PUBLIC_KINDS:
                request[ACCESS_KEY] = Access(None, public=True)
                return await handler(request)
            return error(401, "authentication required: send Authorization: Bearer <token>")
        if cookie and request.method not in SAFE_METHODS and not csrf_matches(cookie, request.headers.get(CSRF_HEADER)):
            return error(403, f"cross-site request refused: a write signed in by cookie needs the {CSRF_HEADER} "
                              f"header (the value of the {CSRF_COOKIE} cookie)")
        if not may_request(principal, kind):
            return error(403, f"role {principal.role} may not read this resource")
        request[ACCESS_KEY] = Access(principal, session_token=cookie)
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


def forwarded_authorization(request: aioweb.Request) -> str | None:
    """The ``Authorization`` header to send along when relaying a request to another worker:
    the caller's own, or the bearer form of the token their sign-in cookie holds."""
    header = request.headers.get("Authorization")
    if header:
        return header
    access = access_of(request)
    token = access.session_token if access is not None else None
    return f"Bearer {token}" if token else None


def denied(request: aioweb.Request, resource: Resource) -> aioweb.Response | None:
    """A 403 response when the caller may not read ``resource``; None when allowed or auth is off."""
    access = access_of(request)
    if access is None:
        return None
    if access.principal is None or not authorize(access.principal, resource):
        return error(403, "this token may not read this resource")
    return None


# -- browser sign-in ------------------------------------------------------------
def _over_tls(request: aioweb.Request) -> bool:
    """Whether the browser reached us over TLS: directly, or through a proxy that says so
    (trusting ``X-Forwarded-Proto`` here can only add ``Secure``, which restricts the cookie)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").strip().lower() == "https"


async def sign_in(request: aioweb.Request) -> aioweb.Response:
    """``POST /api/session`` with ``Authorization: Bearer <token>``: set the sign-in cookie and
    the CSRF cookie, and answer the caller and the CSRF value. Only the header signs in (a
    cross-site form cannot send it, so nobody can be signed in as someone else)."""
    access = access_of(request)
    if access is None:
        return error(404, "sign-in is off: the worker runs without SCORECARD_AUTH_TOKENS_FILE")
    token = bearer_token(request.headers.get("Authorization"))
    if token is None or access.principal is None:
        return error(400, "sign in with Authorization: Bearer <token>")
    if not _COOKIE_SAFE.match(token):
        return error(400, "this token cannot travel in a cookie; send it as Authorization: Bearer <token>")
    p = access.principal
    csrf = csrf_token(token)
    response = aioweb.json_response({"name": p.name, "role": p.role, "scope": list(p.scope), "csrf": csrf,
                                     "expires_in": SESSION_MAX_AGE}, headers={"Cache-Control": "no-store"})
    secure = _over_tls(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, path="/", httponly=True, secure=secure,
                        samesite="Strict")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=SESSION_MAX_AGE, path="/", httponly=False, secure=secure,
                        samesite="Strict")
    return response


async def sign_out(request: aioweb.Request) -> aioweb.Response:
    """``DELETE /api/session``: drop both cookies (a write: signed in by cookie, it needs the
    CSRF header like any other)."""
    response = aioweb.Response(status=204, headers={"Cache-Control": "no-store"})
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(CSRF_COOKIE, path="/")
    return response


def register_session_api(web_app: aioweb.Application) -> None:
    """Add ``POST /api/session`` (sign in) and ``DELETE /api/session`` (sign out) to an aiohttp
    app whose access middleware ``install`` added (the worker's: ``streams.web``)."""
    web_app.router.add_post("/api/session", sign_in)
    web_app.router.add_delete("/api/session", sign_out)
