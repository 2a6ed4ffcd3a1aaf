"""The CLI as a user runs it, against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from sales_scorecard.streams.settings import Settings
from tests.factories import deal, roster
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import read_topic, send_raw

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def scorecard(settings: Settings | None, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(settings.to_env() if settings else {})}
    return subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", *args], input=stdin,
                          capture_output=True, cwd=REPO, env=env, timeout=300)


def test_produce_routes_lines_and_reports_bad_ones(test_settings: Settings, tmp_path: Path) -> None:
    s = test_settings
    good = [roster("r1", "t1"), deal("d1", "r1", "c1", "10.00")]
    path = tmp_path / "in.jsonl"
    path.write_bytes(orjson.dumps(good[0]) + b"\n" + b"{not json\n" + b"\n"
                     + orjson.dumps({"type": "refund"}) + b"\n" + orjson.dumps(good[1]) + b"\n"
                     + orjson.dumps({"type": "deal"}) + b"\n")
    result = scorecard(s, "produce", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert "line 2: not JSON" in err
    assert "line 4: unknown type 'refund'" in err
    assert "line 6: missing key field 'deal_id'" in err
    assert "sent 2 records" in err and "skipped 3 lines" in err
    deals = read_topic(s, s.topic("sales.deals"))
    assert [(r.key, orjson.loads(r.value)["deal_id"]) for r in deals] == [(b"d1", "d1")]
    assert [r.key for r in read_topic(s, s.topic("sales.roster"))] == [b"r1"]
    strict = scorecard(s, "produce", "-", "--strict", "--quiet", stdin=b"{not json\n")
    assert strict.returncode == 2
    assert strict.stderr.decode().strip().splitlines()[-1].startswith("scorecard: error: line 1: not JSON")


def test_snapshot_keeps_the_latest_revision_and_filters(test_settings: Settings) -> None:
    s = test_settings
    def card(scope: str, id: str, period: str, revision: int) -> bytes:
        return orjson.dumps({"scope": scope, "id": id, "period": period, "revision": revision, "kpis": {}})
    topic = s.topic("sales.scorecards")
    send_raw(s, [(topic, b"rep:r1:2026-11", card("rep", "r1", "2026-11", 1)),
                 (topic, b"rep:r1:2026-11", card("rep", "r1", "2026-11", 2)),
                 (topic, b"team:t1:2026-11", card("team", "t1", "2026-11", 1)),
                 (topic, b"rep:r1:2026-Q4", card("rep", "r1", "2026-Q4", 1))])
    result = scorecard(s, "snapshot")
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(r["scope"], r["id"], r["period"], r["revision"]) for r in rows] == [
        ("rep", "r1", "2026-11", 2), ("rep", "r1", "2026-Q4", 1), ("team", "t1", "2026-11", 1)]
    only = scorecard(s, "snapshot", "--scope", "rep", "--period", "2026-11")
    assert [orjson.loads(line)["revision"] for line in only.stdout.splitlines()] == [2]


def test_close_period_publishes_and_rejects_a_bad_month(test_settings: Settings) -> None:
    s = test_settings
    ok = scorecard(s, "close-period", "2026-11")
    assert ok.returncode == 0, ok.stderr
    records = read_topic(s, s.topic("sales.control"))
    assert [(r.key, orjson.loads(r.value)["period"]) for r in records] == [(b"2026-11", "2026-11")]
    bad = scorecard(s, "close-period", "2026-13")
    assert bad.returncode == 2
    lines = bad.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "period must be a month" in lines[0]


def test_unreachable_broker_is_one_line() -> None:
    s = Settings(bootstrap_servers="127.0.0.1:1")
    result = scorecard(s, "close-period", "2026-11")
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "cannot reach Kafka" in lines[0] and "Traceback" not in result.stderr.decode()


def test_simulate_is_deterministic(tmp_path: Path) -> None:
    a = scorecard(None, "simulate", "--seed", "3", "--reps", "10", "--teams", "2", "--months", "2")
    b = scorecard(None, "simulate", "--seed", "3", "--reps", "10", "--teams", "2", "--months", "2")
    assert a.returncode == 0 and a.stdout == b.stdout and a.stdout.count(b"\n") > 500


def test_bench_prints_and_writes_figures(tmp_path: Path) -> None:
    result = scorecard(None, "bench", "--only", "engine", "--rate", "300", "--out-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert b"engine: apply (offline)" in result.stdout
    written = sorted(p.suffix for p in tmp_path.iterdir())
    assert written == [".json", ".md"]
    figures = orjson.loads(next(tmp_path.glob("*.json")).read_bytes())["engine"]
    assert figures["events"] > 100 and figures["apply_events_per_s"] > 0
    # the single stage digested the same events as a backlog and published as it went
    assert figures["stage_cpu_us_per_event"] > 0 and figures["stage_updates_sent"] > 0
    assert b"engine: the single stage digesting the events as a backlog" in result.stdout
    # and the latency part's load on time, at the rate given
    assert figures["on_time_rate"] == 300 and figures["on_time_stage_cpu_us_per_event"] > 0
    assert figures["on_time_updates_sent"] > 0
