"""Web access control (docs/access-control.md) over HTTP against a real worker: bearer
tokens by role, 401/403, Faust's built-in views off, the public leaderboard and forwarding
between workers."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest

from sales_scorecard.core.access import hash_token
from sales_scorecard.localkafka.broker import free_port
from sales_scorecard.streams.settings import Settings
from tests.factories import close_period, deal, roster
from tests.integration.kafka_helpers import produce_events, wait_for

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"
TOKENS = {"admin": "tok-admin-Zq1", "payroll": "tok-payroll-Zq2", "manager": "tok-manager-Zq3",
          "rep": "tok-rep-Zq4", "rep2": "tok-rep2-Zq5"}
#: Strings that only business data contains (rep and deal ids, names, amounts).
BUSINESS = ("rep1", "rep2", "rep3", "deal1", "deal2", "deal3", "Alice", "Bob", "Carol",
            "123456.00", "654321.00", "400000.00")
#: Paths Faust's built-in views use (router, tables, stats, graph, performance, index).
BUILT_IN = ("/router", "/router/", "/table", "/table/", "/table/facts", "/table/facts/", "/table/facts/engine",
            "/table/payroll_state/", "/table/emitted/", "/stats", "/stats/", "/assignment", "/assignment/",
            "/graph", "/graph/", "/performance", "/performance/", "/signal", "/signal/", "/api/", "/tables")


def write_tokens(path: Path) -> Path:
    """A YAML tokens file: admin, payroll, a manager of t1, reps rep1 and rep2."""
    path.write_text(f"""
tokens:
  - {{name: ops, sha256: {hash_token(TOKENS['admin'])}, role: admin}}
  - {{name: finance, sha256: {hash_token(TOKENS['payroll'])}, role: payroll}}
  - {{name: mia, sha256: {hash_token(TOKENS['manager'])}, role: manager, scope: [t1]}}
  - {{name: alice, sha256: {hash_token(TOKENS['rep'])}, role: rep, scope: rep1}}
  - {{name: bob, sha256: {hash_token(TOKENS['rep2'])}, role: rep, scope: rep2}}
""")
    return path


def get(port: int, path: str, token: str | None = None, header: str | None = None,
        timeout: float = 10) -> tuple[int, dict, bytes]:
    """GET with an optional bearer token: (status, headers, body)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {TOKENS.get(token, token)}")
    if header is not None:
        req.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, OSError):  # not listening yet
        return 0, {}, b""


def status(port: int, path: str, token: str | None = None) -> int:
    return get(port, path, token)[0]


def first_event(port: int, path: str, token: str | None = None, rows: int = 3) -> dict:
    """The first ``data:`` event of an SSE stream with ``rows`` rows (the board cache fills
    as scorecards are rendered, so an early event may have fewer)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {TOKENS[token]}")
    last = None
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            for line in resp:
                if line.startswith(b"data: "):
                    last = orjson.loads(line[6:])
                    if len(last["rows"]) == rows:
                        return last
    except TimeoutError:
        pass
    raise AssertionError(f"no event with {rows} rows; last: {last}")


EVENTS = [
    {**roster("rep1", "t1"), "name": "Alice"}, {**roster("rep2", "t1"), "name": "Bob"},
    {**roster("rep3", "t2"), "name": "Carol"},
    deal("deal1", "rep1", "cust1", "123456.00", closed_at=NOV.format(3)),
    deal("deal2", "rep2", "cust2", "654321.00", closed_at=NOV.format(4)),
    deal("deal3", "rep3", "cust3", "400000.00", closed_at=NOV.format(5)),
]


def start(run_worker, settings: Settings, tmp_path: Path, public: bool = False, log_level: str = "WARNING"):
    s = dataclasses.replace(settings, auth_tokens_file=str(write_tokens(tmp_path / "tokens.yaml")),
                            public_leaderboard=public)
    worker = run_worker(s, env={"SCORECARD_LOG_LEVEL": log_level})
    produce_events(s, EVENTS)
    assert wait_for(lambda: status(s.web_port, "/api/scorecards/rep/rep3/2026-11", "admin") == 200, timeout=90), \
        worker.log_tail()
    # The board is the one last published (docs/web-api.md): it ranks all three after the flush.
    assert wait_for(lambda: ranked(s.web_port) == 3, timeout=60), worker.log_tail()
    return s, worker


def ranked(port: int) -> int:
    """How many rows the November company board has (0 while the API cannot answer)."""
    code, _, body = get(port, "/api/leaderboard?period=2026-11", "admin")
    return len(orjson.loads(body)["rows"]) if code == 200 else 0


def test_roles_over_http_and_built_in_views_off(test_settings: Settings, run_worker, tmp_path: Path) -> None:
    # At DEBUG, so that a re-enabled access log or header logging (aiohttp, Faust, ours) is caught below.
    s, worker = start(run_worker, test_settings, tmp_path, log_level="DEBUG")
    port = s.web_port
    produce_events(s, [close_period("2026-11")])
    assert wait_for(lambda: status(port, "/api/payroll/2026-11", "payroll") == 200, timeout=60), worker.log_tail()

    # No token, a wrong token, a malformed header: 401 with a JSON error and the challenge.
    protected = ("/api/scorecards/rep/rep1/2026-11", "/api/scorecards/rep/rep1/2026-11/explain",
                 "/api/leaderboard?period=2026-11", "/api/payroll/2026-11", "/api/boards", "/",
                 "/api/stream?period=2026-11", "/api/scorecards/company/*/2026-11")
    for path in protected:
        for kwargs in ({}, {"token": "not-a-token"}, {"header": f"Basic {TOKENS['admin']}"}):
            if path == "/" and not kwargs:
                continue  # the static page with its sign-in form, below
            code, headers, body = get(port, path, **kwargs)  # type: ignore[arg-type]  # token or header: str
            assert code == 401, (path, kwargs, code, body)
            assert "error" in orjson.loads(body) and headers.get("WWW-Authenticate", "").startswith("Bearer")
            assert not any(b in body.decode() for b in BUSINESS), body

    # The page itself: a static shell with its sign-in form, without business data.
    code, _, body = get(port, "/")
    assert code == 200 and not any(b in body.decode() for b in BUSINESS)

    # Monitoring stays reachable without a token and without business data.
    for path in ("/metrics", "/healthz", "/readyz"):
        code, _, body = get(port, path)
        assert code == 200, path
        assert not any(b in body.decode() for b in BUSINESS), (path, body[:500])

    # Faust's built-in views: nothing without a token, and switched off (404) even for admin.
    for path in BUILT_IN:
        code, _, body = get(port, path)
        assert code in (401, 404), (path, code)
        assert not any(b in body.decode() for b in BUSINESS), (path, body[:500])
        code, _, body = get(port, path, "admin")
        assert code == 404, (path, code, body[:200])
        assert not any(b in body.decode() for b in BUSINESS), (path, body[:500])

    # rep rep1: own scorecard and explain; nobody else's; no team, company or payroll.
    code, _, body = get(port, "/api/scorecards/rep/rep1/2026-11/explain", "rep")
    assert code == 200 and [d["deal_id"] for d in orjson.loads(body)["facts"]["credited_deals"]] == ["deal1"]
    assert status(port, "/api/scorecards/rep/rep1/2026-11", "rep") == 200
    code, _, body = get(port, "/api/scorecards/rep/rep2/2026-11/explain", "rep")
    assert code == 403 and "error" in orjson.loads(body) and b"654321" not in body
    assert status(port, "/api/scorecards/rep/rep2/2026-11", "rep") == 403
    assert status(port, "/api/scorecards/rep/nobody/2026-11", "rep") == 403  # no probing for ids
    assert status(port, "/api/scorecards/team/t1/2026-11", "rep") == 403
    assert status(port, "/api/scorecards/company/*/2026-11", "rep") == 403
    assert status(port, "/api/payroll/2026-11", "rep") == 403
    code, _, body = get(port, "/api/leaderboard?period=2026-11&metric=revenue", "rep")
    assert code == 200 and [r["rep_id"] for r in orjson.loads(body)["rows"]] == ["rep2", "rep3", "rep1"]
    assert orjson.loads(body)["rows"][0]["revenue"] == "654321.00"

    # manager of t1: the team and its reps; not t2 nor its rep; the company scorecard; no payroll.
    assert status(port, "/api/scorecards/team/t1/2026-11", "manager") == 200
    assert status(port, "/api/scorecards/team/t1/2026-11/explain", "manager") == 200
    code, _, body = get(port, "/api/scorecards/rep/rep2/2026-11/explain", "manager")
    assert code == 200 and orjson.loads(body)["facts"]["revenue"] == "654321.00"
    assert status(port, "/api/scorecards/team/t2/2026-11", "manager") == 403
    assert status(port, "/api/scorecards/rep/rep3/2026-11", "manager") == 403
    assert status(port, "/api/scorecards/company/*/2026-11", "manager") == 200
    assert status(port, "/api/scorecards/company/*/2026-11/explain", "manager") == 403
    assert status(port, "/api/payroll/2026-11", "manager") == 403

    # payroll: the statements of the closed month, 404 for an open one, nothing else.
    code, _, body = get(port, "/api/payroll/2026-11", "payroll")
    statements = orjson.loads(body)
    assert code == 200 and statements["period"] == "2026-11"
    assert [(st["rep_id"], st["team_id"], st["paid_revenue"]) for st in statements["statements"]] == [
        ("rep1", "t1", "123456.00"), ("rep2", "t1", "654321.00"), ("rep3", "t2", "400000.00")]
    assert all(st["statement_id"] == f"stmt:{st['rep_id']}:2026-11" for st in statements["statements"])
    code, _, body = get(port, "/api/payroll/2026-10", "payroll")
    assert code == 404 and "not closed" in orjson.loads(body)["error"]
    assert status(port, "/api/scorecards/rep/rep1/2026-11", "payroll") == 403
    assert status(port, "/api/leaderboard?period=2026-11", "payroll") == 403

    # admin: everything.
    for path in ("/api/payroll/2026-11", "/api/scorecards/company/*/2026-11/explain",
                 "/api/scorecards/rep/rep3/2026-11/explain", "/api/boards", "/"):
        assert status(port, path, "admin") == 200, path

    # Tokens never reach the log, even at DEBUG (which did log: the check is not vacuous).
    log = worker.log_path.read_text(errors="replace")
    assert '"level":"DEBUG"' in log, log[-2000:]
    assert not any(t in log for t in TOKENS.values())


def test_public_leaderboard_shows_names_teams_ranks_and_the_metric(
        test_settings: Settings, run_worker, tmp_path: Path) -> None:
    s, worker = start(run_worker, test_settings, tmp_path, public=True)
    port = s.web_port

    code, _, body = get(port, "/api/leaderboard?board=company&period=2026-11&metric=revenue")
    assert code == 200, body
    rows = orjson.loads(body)["rows"]
    # Percentiles are public too (contract §11): 100 × rank / 3 ranked, one decimal; the top
    # decile is rank <= ceil(0.1 × 3) = 1.
    assert rows == [
        {"rank": 1, "name": "Bob", "team_id": "t1", "value": "654321.00", "top_percent": 33.3, "top_decile": True},
        {"rank": 2, "name": "Carol", "team_id": "t2", "value": "400000.00", "top_percent": 66.7,
         "top_decile": False},
        {"rank": 3, "name": "Alice", "team_id": "t1", "value": "123456.00", "top_percent": 100.0,
         "top_decile": False},
    ]
    # The page and what it reads are public; the stream carries the same reduced rows.
    assert status(port, "/") == 200 and status(port, "/api/boards") == 200
    event = first_event(port, "/api/stream?board=company&period=2026-11&metric=revenue")
    assert event["rows"] == rows
    # With a token: the full rows.
    full = orjson.loads(get(port, "/api/leaderboard?board=company&period=2026-11&metric=revenue", "rep")[2])["rows"]
    assert [(r["rep_id"], r["revenue"]) for r in full] == [("rep2", "654321.00"), ("rep3", "400000.00"),
                                                         ("rep1", "123456.00")]
    assert "rep_id" in first_event(port, "/api/stream?board=company&period=2026-11&metric=revenue", "rep")["rows"][0]
    # A wrong token is still refused; no drill-down without a token.
    assert get(port, "/api/leaderboard?period=2026-11", "not-a-token")[0] == 401
    for path in ("/api/scorecards/rep/rep1/2026-11/explain", "/api/scorecards/rep/rep1/2026-11",
                 "/api/payroll/2026-11"):
        assert status(port, path) == 401, path


def test_forwarded_queries_are_authorized_on_both_workers(
        test_settings: Settings, run_worker, tmp_path: Path) -> None:
    # RocksDB as in test_query_api (the memory store's recovery can stall on a rebalance).
    tokens = str(write_tokens(tmp_path / "tokens.yaml"))
    s = dataclasses.replace(test_settings, store="rocksdb", auth_tokens_file=tokens)
    a = run_worker(s, name="a")
    s_b = dataclasses.replace(s, web_port=free_port(), data_dir=str(tmp_path / "b"))
    b = run_worker(s_b, name="b", ready=False)
    produce_events(s, EVENTS)

    def both_answer() -> bool:
        return all(status(p, "/api/scorecards/rep/rep3/2026-11", "admin") == 200 for p in (s.web_port, s_b.web_port))

    assert wait_for(both_answer, timeout=180), (a.log_tail(), b.log_tail())
    for port in (s.web_port, s_b.web_port):
        code, _, body = get(port, "/api/scorecards/rep/rep1/2026-11/explain", "rep")
        assert code == 200, (port, body)
        assert [d["deal_id"] for d in orjson.loads(body)["facts"]["credited_deals"]] == ["deal1"]
        assert status(port, "/api/scorecards/rep/rep2/2026-11/explain", "rep") == 403
        assert status(port, "/api/scorecards/rep/rep2/2026-11/explain", "rep2") == 200
        assert status(port, "/api/scorecards/team/t1/2026-11", "manager") == 200
        assert status(port, "/api/scorecards/team/t2/2026-11", "manager") == 403
        code, headers, _ = get(port, "/api/scorecards/rep/rep1/2026-11")
        assert code == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
        assert [r["rep_id"] for r in first_event(port, "/api/stream?period=2026-11&metric=revenue", "rep")["rows"]] \
            == ["rep2", "rep3", "rep1"]
