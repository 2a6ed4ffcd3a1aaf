"""The appeals routes and the browser sign-in on a bare aiohttp app (no Faust, no broker):
statuses over HTTP, the session cookie's attributes, and writes safe from the browser (a
cookie alone never writes; the CSRF header must match it; a cross-site form post is 403).

The app is what the worker will get: the access middleware (``auth.install``), the session
routes and the dispute routes over ``Desk`` (tests/unit/test_dispute_api.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient, TestServer

from sales_scorecard.core.access import csrf_token
from sales_scorecard.streams.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    access_of,
    forwarded_authorization,
    install,
    register_session_api,
)
from sales_scorecard.streams.dispute_web import register_disputes_api
from sales_scorecard.streams.settings import Settings
from tests.unit.test_auth_middleware import line
from tests.unit.test_dispute_api import OPEN_BODY, Desk

Scenario = Callable[[TestClient], Awaitable[None]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "tokens.jsonl"
    path.write_text("\n".join([line("ops", "admin"), line("fin", "payroll"), line("mia", "manager", '["t1"]'),
                               line("rita", "rep", '"r1"'), line("rob", "rep", '"r2"')]) + "\n")
    return Settings(auth_tokens_file=str(path))


async def board(request: aioweb.Request) -> aioweb.Response:
    """Stands in for an existing read route (kind ``leaderboard``)."""
    access = access_of(request)
    return aioweb.json_response({"principal": access.principal.name if access and access.principal else None,
                                 "forward": forwarded_authorization(request)})


def serve(settings: Settings, desk: Desk, scenario: Scenario) -> None:
    app = aioweb.Application()
    register_disputes_api(app, desk.api)
    register_session_api(app)
    app.router.add_get("/api/leaderboard", board)
    install(app, settings)

    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{name}"}


def set_cookies(headers: Any) -> dict[str, str]:
    """Set-Cookie header values by cookie name."""
    return {value.split("=", 1)[0]: value for value in headers.getall("Set-Cookie", [])}


async def sign_in(client: TestClient, name: str, **headers: str) -> dict[str, Any]:
    resp = await client.post("/api/session", headers={**bearer(name), **headers})
    assert resp.status == 200, await resp.text()
    return {"body": await resp.json(), "cookies": set_cookies(resp.headers), "headers": resp.headers}


# -- the routes over HTTP --------------------------------------------------------------------
def test_statuses_with_a_bearer_token(settings: Settings) -> None:
    desk = Desk()

    async def scenario(client: TestClient) -> None:
        resp = await client.post("/api/disputes", data=orjson.dumps(OPEN_BODY))
        assert resp.status == 401 and resp.headers["WWW-Authenticate"] == 'Bearer realm="sales-scorecard"'
        resp = await client.post("/api/disputes", data=orjson.dumps(OPEN_BODY), headers=bearer("rob"))
        assert resp.status == 403 and "themselves only" in (await resp.json())["error"]
        resp = await client.post("/api/disputes", data=b'{"rep_id": "r1"}', headers=bearer("rita"))
        assert resp.status == 400 and set(await resp.json()) == {"error"}
        resp = await client.post("/api/disputes", data=orjson.dumps(OPEN_BODY), headers=bearer("rita"))
        answer = await resp.json()
        dispute_id = answer["dispute_id"]  # the refused requests above drew ids too: ids are not a count
        assert resp.status == 202 and resp.headers["Location"] == f"/api/disputes/{dispute_id}"
        assert set(answer) == {"dispute_id", "event_id", "status"} and answer["status"] == "accepted"
        one = f"/api/disputes/{dispute_id}"
        assert (await client.get(one, headers=bearer("rita"))).status == 404  # published, not processed yet
        desk.process()
        resp = await client.get(one, headers=bearer("rita"))
        assert resp.status == 200 and (await resp.json())["state"] == "open"
        assert (await client.get(one, headers=bearer("rob"))).status == 403
        resp = await client.post(f"{one}/resolve", headers=bearer("rita"),
                                 data=b'{"decision": "rejected", "resolution": "no"}')
        assert resp.status == 403 and (await resp.json())["error"] == "nobody decides their own dispute"
        resp = await client.post(f"{one}/resolve", headers=bearer("mia"),
                                 data=b'{"decision": "rejected", "resolution": "The deal is r2\'s."}')
        assert resp.status == 202
        desk.process()
        resp = await client.get("/api/disputes?rep=r1&state=resolved", headers=bearer("fin"))
        assert [d["decision"] for d in (await resp.json())["disputes"]] == ["rejected"]
        assert (await client.post(f"{one}/withdraw", headers=bearer("rita"))).status == 409
        assert (await client.get("/api/disputes?state=lost", headers=bearer("fin"))).status == 400
        assert (await client.get("/api/disputes?rep=r2", headers=bearer("rita"))).status == 403

    serve(settings, desk, scenario)
    assert [orjson.loads(v)["type"] for _, v in desk.published] == ["dispute_opened", "dispute_resolved"]


# -- the browser: sign-in cookie and CSRF ----------------------------------------------------
def test_sign_in_sets_an_httponly_strict_cookie_and_a_csrf_value(settings: Settings) -> None:
    async def scenario(client: TestClient) -> None:
        signed = await sign_in(client, "rita")
        assert signed["body"] == {"name": "rita", "role": "rep", "scope": ["r1"], "csrf": csrf_token("tok-rita"),
                                  "expires_in": 8 * 3600}
        assert signed["headers"]["Cache-Control"] == "no-store"
        session, csrf = signed["cookies"][SESSION_COOKIE], signed["cookies"][CSRF_COOKIE]
        attributes = [a.strip().lower() for a in session.split(";")[1:]]
        assert session.startswith(f"{SESSION_COOKIE}=tok-rita;")
        assert {"httponly", "samesite=strict", "path=/", "max-age=28800"} <= set(attributes)
        assert "secure" not in attributes  # plain HTTP: a Secure cookie would never come back
        assert csrf.startswith(f"{CSRF_COOKIE}={csrf_token('tok-rita')};")
        assert "httponly" not in csrf.lower() and "samesite=strict" in csrf.lower()  # the page reads this one
        over_tls = await sign_in(client, "rita", **{"X-Forwarded-Proto": "https"})
        for value in over_tls["cookies"].values():
            assert "secure" in [a.strip().lower() for a in value.split(";")[1:]]

    serve(settings, Desk(), scenario)


def test_a_signed_in_browser_writes_only_with_the_csrf_header(settings: Settings) -> None:
    desk = Desk()

    async def scenario(client: TestClient) -> None:
        csrf = (await sign_in(client, "rita"))["body"]["csrf"]  # the client's jar keeps the cookies now
        resp = await client.get("/api/disputes")
        assert resp.status == 200  # a read needs no CSRF header
        resp = await client.get("/api/leaderboard")
        assert await resp.json() == {"principal": "rita", "forward": "Bearer tok-rita"}  # relayed as a bearer
        # A cross-site form post: the browser attaches the cookie, the form cannot add the header.
        resp = await client.post("/api/disputes", data="rep_id=r1&claim=x", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"})
        assert resp.status == 403 and "cross-site request refused" in (await resp.json())["error"]
        resp = await client.post("/api/disputes", data=orjson.dumps(OPEN_BODY),
                                 headers={CSRF_HEADER: csrf_token("tok-rob")})  # another session's value
        assert resp.status == 403
        resp = await client.post("/api/disputes", data=orjson.dumps(OPEN_BODY), headers={CSRF_HEADER: ""})
        assert resp.status == 403
        assert desk.published == []
        resp = await client.post("/api/disputes", data=orjson.dumps(OPEN_BODY), headers={CSRF_HEADER: csrf})
        assert resp.status == 202
        assert orjson.loads(desk.published[-1][1])["opened_by"] == "r1"
        # Signing out is a write too; then the cookies are gone.
        assert (await client.delete("/api/session")).status == 403
        resp = await client.delete("/api/session", headers={CSRF_HEADER: csrf})
        assert resp.status == 204
        for value in set_cookies(resp.headers).values():
            assert "max-age=0" in value.lower()
        assert (await client.get("/api/disputes")).status == 401

    serve(settings, desk, scenario)
    assert len(desk.published) == 1


def test_the_header_wins_over_the_cookie_and_needs_no_csrf(settings: Settings) -> None:
    desk = Desk()

    async def scenario(client: TestClient) -> None:
        await sign_in(client, "rita")
        resp = await client.post("/api/disputes", data=orjson.dumps({**OPEN_BODY, "rep_id": "r2"}),
                                 headers=bearer("mia"))
        assert resp.status == 202
        resp = await client.get("/api/leaderboard", headers=bearer("mia"))
        assert await resp.json() == {"principal": "mia", "forward": "Bearer tok-mia"}

    serve(settings, desk, scenario)
    assert orjson.loads(desk.published[0][1])["opened_by"] == "mia"


def test_a_stale_cookie_is_401_and_only_the_header_signs_in(settings: Settings) -> None:
    async def scenario(client: TestClient) -> None:
        stale = {"Cookie": f"{SESSION_COOKIE}=tok-revoked"}
        resp = await client.get("/api/disputes", headers=stale)
        assert resp.status == 401 and "sign in again" in (await resp.json())["error"]
        assert (await client.get("/api/leaderboard", headers=stale)).status == 401
        assert (await client.post("/api/session")).status == 401
        assert (await client.post("/api/session", headers=bearer("nobody"))).status == 401
        signed_by_cookie = {"Cookie": f"{SESSION_COOKIE}=tok-rita", CSRF_HEADER: csrf_token("tok-rita")}
        resp = await client.post("/api/session", headers=signed_by_cookie)
        assert resp.status == 400 and "Authorization: Bearer" in (await resp.json())["error"]

    serve(settings, Desk(), scenario)


def test_without_a_tokens_file_reads_are_open_and_writes_refused() -> None:
    desk = Desk()
    desk.opened()

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/disputes")
        assert resp.status == 200 and (await resp.json())["count"] == 1
        assert (await client.get("/api/disputes/dsp-1")).status == 200
        for path in ("/api/disputes", "/api/disputes/dsp-1/resolve", "/api/disputes/dsp-1/withdraw"):
            resp = await client.post(path, data=orjson.dumps(OPEN_BODY))
            assert resp.status == 403 and "SCORECARD_AUTH_TOKENS_FILE" in (await resp.json())["error"]
        resp = await client.post("/api/session", headers=bearer("rita"))
        assert resp.status == 404 and "sign-in is off" in (await resp.json())["error"]

    serve(Settings(), desk, scenario)
    assert len(desk.published) == 1  # the opening made before the server
