"""The access middleware on a bare aiohttp app (no Faust, no broker): kinds by route,
401/403 shapes, the public mode, token reloads and the loopback rule."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient, TestServer

from sales_scorecard.core.access import Resource, hash_token
from sales_scorecard.streams.auth import TokenStore, access_of, denied, install, is_public
from sales_scorecard.streams.settings import Settings, SettingsError, is_loopback

ROUTES = ("/", "/me", "/static/scorecard.css", "/static/scorecard.js", "/api/me", "/api/me/ranks", "/api/boards",
          "/api/stream", "/api/leaderboard", "/api/scorecards/{scope}/{id}/{period}",
          "/api/scorecards/{scope}/{id}/{period}/explain", "/api/payroll/{period}", "/metrics", "/healthz",
          "/readyz", "/table/{name}")


def tokens_file(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def line(name: str, role: str, scope: str = "") -> str:
    scope_json = f', "scope": {scope}' if scope else ""
    return f'{{"name": "{name}", "sha256": "{hash_token("tok-" + name)}", "role": "{role}"{scope_json}}}'


async def echo(request: aioweb.Request) -> aioweb.Response:
    """Stands in for a view: reports the middleware's decision and the view-level check."""
    access = access_of(request)
    match = request.match_info
    resource = Resource("explain" if request.path.endswith("/explain") else "scorecard",
                        match.get("scope"), match.get("id"), match.get("id", "").replace("r", "t") or None)
    refused = denied(request, resource) if "scope" in match else None
    if refused is not None:
        return refused
    return aioweb.json_response({"principal": access.principal.name if access and access.principal else None,
                                 "public": is_public(request)})


def build(settings: Settings) -> aioweb.Application:
    app = aioweb.Application()
    for route in ROUTES:
        app.router.add_get(route, echo)
    install(app, settings)
    return app


async def fetch(app: aioweb.Application, requests: list[tuple[str, str | None]]) -> list[tuple[int, dict, dict]]:
    out = []
    async with TestClient(TestServer(app)) as client:
        for path, header in requests:
            resp = await client.get(path, headers={"Authorization": header} if header else {})
            out.append((resp.status, dict(resp.headers), await resp.json()))
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tokens_file(tmp_path / "tokens.jsonl", line("ops", "admin"), line("fin", "payroll"),
                       line("mia", "manager", '["t1"]'), line("rita", "rep", '"r1"'))
    return Settings(auth_tokens_file=str(path))


def test_routes_need_a_token_except_monitoring_and_the_page_shell(settings: Settings) -> None:
    paths = ["/api/me", "/api/me/ranks", "/api/boards", "/api/stream", "/api/leaderboard",
             "/api/scorecards/rep/r1/2026-11", "/api/scorecards/rep/r1/2026-11/explain", "/api/payroll/2026-11",
             "/table/facts", "/nowhere"]
    results = asyncio.run(fetch(build(settings), [(p, None) for p in paths] +
                                [(p, "Bearer wrong") for p in [*paths, "/"]]))
    for (path_status, headers, body) in results:
        assert path_status == 401 and headers["WWW-Authenticate"] == 'Bearer realm="sales-scorecard"'
        assert set(body) == {"error"}
    shells = ("/", "/me", "/static/scorecard.css", "/static/scorecard.js")
    ops = asyncio.run(fetch(build(settings), [(p, None) for p in ("/metrics", "/healthz", "/readyz", *shells)]))
    # the static pages with their sign-in form, and the files they share
    assert [s for s, _, _ in ops] == [200] * 7


def test_roles_by_kind_and_view_level_decisions(settings: Settings) -> None:
    cases = [
        ("/api/payroll/2026-11", "fin", 200), ("/api/payroll/2026-11", "mia", 403),
        ("/api/payroll/2026-11", "rita", 403), ("/api/payroll/2026-11", "ops", 200),
        ("/api/leaderboard", "fin", 403), ("/api/leaderboard", "rita", 200), ("/", "mia", 200),
        ("/me", "rita", 200), ("/api/me", "rita", 200), ("/api/me", "fin", 200),  # /api/me decides per rep
        ("/api/me/ranks", "rita", 200), ("/api/me/ranks", "fin", 200),
        ("/table/facts", "mia", 403), ("/table/facts", "ops", 200), ("/nowhere", "rita", 403),
        ("/api/scorecards/rep/r1/2026-11/explain", "rita", 200),
        ("/api/scorecards/rep/r2/2026-11/explain", "rita", 403),
        ("/api/scorecards/rep/r1/2026-11", "mia", 200),  # the stand-in view puts r1 in team t1
        ("/api/scorecards/rep/r2/2026-11", "mia", 403),
        ("/api/scorecards/team/t1/2026-11", "mia", 200), ("/api/scorecards/team/t2/2026-11", "mia", 403),
    ]
    results = asyncio.run(fetch(build(settings), [(path, f"Bearer tok-{who}") for path, who, _ in cases]))
    for (path, who, expected), (status, headers, body) in zip(cases, results, strict=True):
        assert status == expected, (path, who, status, body)
        if status == 403:
            assert set(body) == {"error"} and "WWW-Authenticate" not in headers
        else:
            assert body == {"principal": who, "public": False}


def test_public_leaderboard_opens_only_the_board_routes(settings: Settings) -> None:
    public = Settings(auth_tokens_file=settings.auth_tokens_file, public_leaderboard=True)
    paths = ["/", "/api/boards", "/api/stream", "/api/leaderboard"]
    results = asyncio.run(fetch(build(public), [(p, None) for p in paths]))
    assert [(s, b) for s, _, b in results] == [(200, {"principal": None, "public": True})] * 4
    closed = asyncio.run(fetch(build(public), [("/api/scorecards/rep/r1/2026-11", None), ("/api/payroll/2026-11", None),
                                               ("/api/leaderboard", "Bearer wrong"), ("/api/me", None)]))
    assert [s for s, _, _ in closed] == [401, 401, 401, 401]  # /me's figures are never public
    with_token = asyncio.run(fetch(build(public), [("/api/leaderboard", "Bearer tok-rita")]))
    assert with_token[0][2] == {"principal": "rita", "public": False}


def test_without_a_tokens_file_nothing_is_checked() -> None:
    results = asyncio.run(fetch(build(Settings()), [("/api/payroll/2026-11", None), ("/table/x", None)]))
    assert [(s, b) for s, _, b in results] == [(200, {"principal": None, "public": False})] * 2


def test_token_store_reloads_and_fails_closed(tmp_path: Path) -> None:
    path = tokens_file(tmp_path / "t.jsonl", line("ops", "admin"))
    store = TokenStore(str(path))
    assert store.authenticate("Bearer tok-ops").name == "ops"
    tokens_file(path, line("rita", "rep", '"r1"'))
    os.utime(path, ns=(1, 1))  # a different mtime even within the clock's resolution
    assert store.authenticate("Bearer tok-ops") is None  # revoked
    assert store.authenticate("Bearer tok-rita").name == "rita"
    tokens_file(path, "{broken")
    os.utime(path, ns=(2, 2))
    assert store.authenticate("Bearer tok-rita") is None  # malformed: nobody gets in
    path.unlink()
    assert store.authenticate("Bearer tok-rita") is None
    tokens_file(path, line("rita", "rep", '"r1"'))
    assert store.authenticate("Bearer tok-rita").name == "rita"


def test_install_turns_file_problems_into_one_line_settings_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^SCORECARD_AUTH_TOKENS_FILE: cannot read tokens file .*nope"):
        install(aioweb.Application(), Settings(auth_tokens_file=str(tmp_path / "nope")))
    bad = tokens_file(tmp_path / "bad.jsonl", '{"name": "x", "sha256": "short", "role": "admin"}')
    with pytest.raises(SettingsError, match="sha256 must be 64 hex digits"):
        install(aioweb.Application(), Settings(auth_tokens_file=str(bad)))


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("scorecard-0.svc", False), ("", False),
])
def test_loopback_rule(host: str, loopback: bool, tmp_path: Path) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        Settings(web_host=host).check_web_access()
    else:
        with pytest.raises(SettingsError, match="not a loopback address"):
            Settings(web_host=host).check_web_access()
    Settings(web_host=host, auth_tokens_file=str(tmp_path / "t.yaml")).check_web_access()
