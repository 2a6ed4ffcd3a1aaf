"""``scorecard bench`` end to end, at toy sizes, against the suite's broker.

The figures themselves are not asserted (these machines are noisy); what is asserted is
that every part ran on the data it was given: each throughput consumer handled every
pre-loaded event, every won deal of the latency run was reflected in a scorecard update,
the memory run digested reps x months of state and both stores recovered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_bench_runs_every_part_and_writes_json_and_markdown(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "sales_scorecard.cli.main", "bench", "--bootstrap", kafka_bootstrap,
         "--events", "3000", "--rate", "100", "--duration", "5", "--reps", "40", "--months", "2",
         "--timeout", "300", "--out-dir", str(out)],
        capture_output=True, cwd=REPO, env={**os.environ, "SCORECARD_DATA_DIR": str(tmp_path / "data")}, timeout=900,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    figures = orjson.loads(next(out.glob("bench-*.json")).read_bytes())
    markdown = next(out.glob("bench-*.md")).read_text()

    t = figures["throughput"]
    for consumer in ("ceiling", "baseline", "faust_floor", "pipeline"):
        assert t[consumer]["events"] == 3000, (consumer, t[consumer])
        assert t[consumer]["events_per_s"] > 0
    assert t["c_over_b"] == round(t["pipeline"]["events_per_s"] / t["baseline"]["events_per_s"], 3)
    assert t["c_over_floor"] == round(t["pipeline"]["events_per_s"] / t["faust_floor"]["events_per_s"], 3)
    assert t["pipeline"]["scorecards_emitted"] > 0

    lat = figures["latency"]
    assert lat["events"] == 500 and lat["won_deals"] == 100
    assert lat["deals_reflected"] == lat["won_deals"], lat
    assert 0 < lat["ms"]["p50"] <= lat["ms"]["p95"] <= lat["ms"]["p99"] <= lat["ms"]["max"]

    mem = figures["memory"]
    assert mem["rep_periods"] == 80 and mem["events"] == 40 * (1 + 2 * 2)
    for store in ("memory", "rocksdb"):
        assert mem["stores"][store]["loaded_peak_rss_mib"] > mem["stores"][store]["idle_peak_rss_mib"] > 0
        rec = mem["recovery"][store]
        assert rec["facts"] == mem["events"] and rec["seconds"] > 0

    assert "failover" not in figures  # only with --only failover (it waits out a 60 s session)

    engine = figures["engine"]
    assert engine["events"] > 0
    # The bound is the rate of three stages in a row: below each stage's own rate.
    assert 0 < engine["python_bound_events_per_s"] < min(engine["validate_events_per_s"], engine["apply_events_per_s"])
    for row in ("c/floor (target >= 0.5)", "Faust floor", "latency p99", "(rocksdb store): bytes per rep-period",
                "recovery to /readyz (rocksdb store"):
        assert row in markdown, row
    assert "c/floor (target >= 0.5)" in result.stdout.decode()


def test_profile_needs_the_throughput_part() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sales_scorecard.cli.main", "bench", "--only", "latency", "--profile"],
        capture_output=True, cwd=REPO, timeout=120,
    )
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "--profile samples the throughput part: add --only throughput" in err
    assert "Traceback" not in err
