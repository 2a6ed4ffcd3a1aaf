"""The query API through the real broker, with two workers: a query sent to the worker
that does not own the aggregation stage returns the owner's answer."""

from __future__ import annotations

import dataclasses
import queue
import threading
import urllib.request

import orjson
import pytest

from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.localkafka.broker import free_port
from sales_scorecard.streams.settings import Settings
from tests.factories import deal, roster
from tests.integration.kafka_helpers import json_values, metric_value, produce_events, read_topic, wait_for

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"


def get_json(port: int, path: str) -> tuple[int, dict]:
    status, body = http_get(port, path, timeout=10)
    return status, (orjson.loads(body) if body else {})


def test_api_answers_alike_on_both_workers(test_settings: Settings, run_worker, tmp_path) -> None:
    # RocksDB, as in production: with the test-only memory store, the rebalance that the
    # second worker causes sometimes left the owner's changelog recovery waiting forever
    # ("No event received for active tp ... since recovery start").
    # Three rows per published snapshot: the topic carries the top of the ranking, the API all of it.
    s = dataclasses.replace(test_settings, store="rocksdb", leaderboard_rows=3)
    a = run_worker(s, name="a")
    s_b = dataclasses.replace(s, web_port=free_port(), data_dir=str(tmp_path / "b"))
    b = run_worker(s_b, name="b", ready=False)
    produce_events(s, [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"), roster("r4", "t2"),
        deal("d1", "r1", "c1", "200.00", closed_at=NOV.format(3)),
        deal("d2", "r1", "c2", "100.00", closed_at=NOV.format(4)),
        deal("d3", "r2", "c3", "100.00", closed_at=NOV.format(5)),
        deal("d4", "r3", "c4", "100.00", closed_at=NOV.format(6)),
        deal("d5", "r4", "c5", "50.00", closed_at=NOV.format(7)),
    ])

    def settled() -> bool:
        for w in (a, b):
            r = w.readiness()
            if r.get("ready") and r.get("aggregation_owner"):
                m = w.metrics()
                applied = sum(metric_value(m, "scorecard_facts_total", type=t, outcome="applied")
                              for t in ("roster", "deal"))
                return applied == 9 and metric_value(m, "scorecard_pending_updates") == 0
        return False

    assert wait_for(settled, timeout=120), (a.log_tail(), b.log_tail())
    assert wait_for(lambda: a.readiness().get("ready") and b.readiness().get("ready"), timeout=180), (
        a.readiness(), b.readiness(), a.log_tail(), b.log_tail())
    owners = [w for w in (a, b) if w.readiness()["aggregation_owner"]]
    assert len(owners) == 1
    path = "/api/scorecards/rep/r1/2026-11"
    sa, ja = get_json(s.web_port, path)
    sb, jb = get_json(s_b.web_port, path)
    assert sa == sb == 200, (ja, jb)
    assert ja == jb
    assert ja["kpis"]["revenue"] == "300.00" and ja["team_id"] == "t1" and ja["revision"] >= 1

    explain_a = get_json(s.web_port, path + "/explain")[1]
    explain_b = get_json(s_b.web_port, path + "/explain")[1]
    assert explain_a == explain_b
    assert [d["deal_id"] for d in explain_a["facts"]["credited_deals"]] == ["d1", "d2"]
    assert explain_a["facts"]["won_deals"] == 2

    board = get_json(s_b.web_port, "/api/leaderboard?board=company&period=2026-11&metric=revenue")[1]
    assert [(r["rank"], r["rep_id"], r["value"]) for r in board["rows"]] == [
        (1, "r1", "300.00"), (2, "r2", "100.00"), (2, "r3", "100.00"), (4, "r4", "50.00")]
    team = get_json(s.web_port, "/api/leaderboard?board=team:t2&period=2026-11&metric=revenue&limit=1")[1]
    assert [(r["rank"], r["rep_id"]) for r in team["rows"]] == [(1, "r3")]

    # The top of the same ranking is published as a leaderboard snapshot (compacted topic,
    # latest revision wins), with how many reps the board ranks.
    def snapshot() -> tuple:
        latest: dict = {}
        for rec in json_values(read_topic(s, s.topic("sales.leaderboards"))):
            key = (rec["board"], rec["period"], rec["metric"])
            if key not in latest or rec["revision"] > latest[key]["revision"]:
                latest[key] = rec
        board = latest.get(("company", "2026-11", "revenue"), {})
        return board.get("ranked"), [(r["rank"], r["rep_id"], r["value"]) for r in board.get("rows", [])]

    assert wait_for(lambda: snapshot() == (4, [(1, "r1", "300.00"), (2, "r2", "100.00"), (2, "r3", "100.00")]),
                    timeout=30), snapshot()

    for port in (s.web_port, s_b.web_port):
        status, body = get_json(port, "/api/scorecards/rep/nobody/2026-11")
        assert status == 404 and "error" in body
        status, body = get_json(port, "/api/scorecards/rep/r1/2026-13")
        assert status == 400 and "error" in body
        status, body = get_json(port, "/api/scorecards/galaxy/r1/2026-11")
        assert status == 400
        status, body = get_json(port, "/api/leaderboard?board=company&period=2026-11&metric=height")
        assert status == 400 and "metric" in body["error"]

    # The worker that does not own the stage relays the owner's own event stream: its first
    # event is the board the API answers, and a new deal is pushed through it (no reload).
    other = next(w for w in (a, b) if w is not owners[0])
    received: queue.Queue[dict] = queue.Queue()
    stream = urllib.request.urlopen(
        f"http://127.0.0.1:{other.settings.web_port}/api/stream?board=company&period=2026-11&metric=revenue",
        timeout=120)

    def read() -> None:
        try:
            for line in stream:
                if line.startswith(b"data: "):
                    received.put(orjson.loads(line[6:]))
        except (OSError, ValueError, AttributeError):
            pass  # closed below (http.client drops its socket under the reader)

    threading.Thread(target=read, daemon=True).start()
    try:
        assert received.get(timeout=60)["rows"] == board["rows"]
        produce_events(s, [deal("d6", "r4", "c6", "500.00", closed_at=NOV.format(8))])
        # r4: 50.00 + 500.00 = 550.00 goes to the top; the rest keep their order.
        want = [(1, "r4", "550.00"), (2, "r1", "300.00"), (3, "r2", "100.00"), (3, "r3", "100.00")]
        seen = []
        while not seen or seen[-1] != want:
            seen.append([(r["rank"], r["rep_id"], r["value"]) for r in received.get(timeout=60)["rows"]])
    finally:
        stream.close()
