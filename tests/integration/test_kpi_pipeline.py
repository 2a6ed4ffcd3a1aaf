"""KPIs end to end, with both stage shapes: a simulated history through the real broker and a running worker,
read back with ``scorecard snapshot``, equals the independent offline recomputation."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.streams.settings import Settings
from tests.integration.compare import assert_snapshot_matches
from tests.integration.conftest import REPO
from tests.integration.faults import SHAPES
from tests.integration.kafka_helpers import metric_value, wait_for
from tests.reference.model import built_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

@pytest.mark.parametrize("shape", ["single", "partitioned", "company-values"])
def test_simulated_history_matches_offline_recomputation(test_settings: Settings, run_worker, tmp_path: Path,
                                                         shape: str) -> None:
    s = dataclasses.replace(test_settings, **SHAPES[shape])
    # reviews, engagement and one team's split targets included (contract §12)
    events = simulate(SimulationConfig(seed=11, reps=100, teams=10, months=4, start_month="2026-07",
                                       split_targets=True))
    assert any("split" in e for e in events) and {"review", "engagement"} <= {e["type"] for e in events}
    assert len(events) >= 20_000
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    worker = run_worker(s)
    env = {**os.environ, **s.to_env()}
    produced = subprocess.run(
        [sys.executable, "-m", "sales_scorecard.cli.main", "produce", str(path), "--quiet"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert produced.returncode == 0, produced.stderr
    unique = len({e["event_id"] for e in events})

    def settled() -> bool:
        m = worker.metrics()
        accepted = sum(v for line in m.splitlines() if line.startswith("scorecard_records_accepted_total{")
                       for v in [float(line.rsplit(" ", 1)[1])])
        facts = sum(v for line in m.splitlines() if line.startswith("scorecard_facts_total{")
                    for v in [float(line.rsplit(" ", 1)[1])])
        return accepted >= unique and facts >= accepted and metric_value(m, "scorecard_pending_updates") == 0

    assert wait_for(settled, timeout=900, interval=2), worker.log_tail()
    # the company's activities came from the team partitions' values, and only then
    assert (metric_value(worker.metrics(), "scorecard_team_values_total") > 0) == (shape == "company-values")
    snap = subprocess.run(
        [sys.executable, "-m", "sales_scorecard.cli.main", "snapshot"],
        env=env, cwd=REPO, capture_output=True, timeout=300,
    )
    assert snap.returncode == 0, snap.stderr
    rows = [orjson.loads(line) for line in snap.stdout.splitlines() if line.strip()]
    compared = assert_snapshot_matches(rows, built_model(events, timezone=s.timezone))
    assert {r["scope"] for r in rows} == {"rep", "team", "company"}
    assert compared >= 100 * 4
