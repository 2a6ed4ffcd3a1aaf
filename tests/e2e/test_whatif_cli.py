"""``scorecard whatif`` against the real broker (contract §13): a worker digests a simulated
history, with a team whose targets are split down to its reps (contract §12), and stops; the
what-if then reads its facts table's changelog alone and pays every rep-month as the
reference model does, under the current plan and a 6 % / 9 % candidate."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.snapshot import read_snapshot
from sales_scorecard.streams.settings import Settings
from tests.e2e.test_cli import scorecard
from tests.integration.compare import applied_total
from tests.integration.kafka_helpers import metric_value, produce_events, wait_for
from tests.reference.model import Rates, ReferenceModel
from tests.unit.test_whatif import six_nine

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SIX_NINE = Rates(base=Decimal("0.06"), above_target=Decimal("0.09"))
MONTHS = ("2026-08", "2026-09", "2026-10")


def test_whatif_reads_the_facts_without_a_worker(test_settings: Settings, run_worker, tmp_path: Path) -> None:
    s = test_settings
    events = simulate(SimulationConfig(seed=23, reps=24, teams=3, months=3, start_month="2026-08",
                                       split_targets=True))
    worker = run_worker(s)
    produce_events(s, events)
    # every accepted copy reaches the stage once (applied, duplicate or stale), and every
    # scorecard it changed is published (the comparison below reads the last ones)
    assert wait_for(lambda: applied_total(m := worker.metrics()) >= len(events)
                    and metric_value(m, "scorecard_pending_updates") == 0, timeout=240), worker.metrics()
    worker.stop()
    published = {(r["id"], r["period"]): r for r in read_snapshot(s, scope="rep")}

    candidate = tmp_path / "six-nine.yaml"
    six_nine(tmp_path)  # writes candidate.yaml
    (tmp_path / "candidate.yaml").rename(candidate)
    out = tmp_path / "whatif.csv"
    result = scorecard(s, "whatif", "--commission-plan", str(candidate), "--from", MONTHS[0], "--to", MONTHS[-1],
                       "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr.decode()
    assert "facts: " in result.stderr.decode() and "applied" in result.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    model = ReferenceModel(events, features=("split",))
    assert any(model.target_source(r["rep_id"], r["period"]) == "split" for r in rows)
    keys = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    assert sorted((r["rep_id"], r["period"]) for r in rows) == \
        sorted((id, period) for scope, id, period in keys if scope == "rep" and period in MONTHS)
    total_current = total_candidate = Decimal(0)
    for r in rows:
        rep, month = r["rep_id"], r["period"]
        assert r["commission_current"] == str(model.month_commission(rep, month)), r
        assert r["commission_candidate"] == str(model.month_commission(rep, month, SIX_NINE)), r
        # the current side is what the worker published for the month
        card = published[(rep, month)]
        assert r["commission_current"] == card["kpis"]["commission"], r
        assert (Decimal(r["score_current"]) if r["score_current"] else None) == \
            (None if card["score"] is None else Decimal(str(card["score"]))), (r, card["score"])
        assert r["score_candidate"] == r["score_current"]  # the scorecard plan is unchanged
        total_current += Decimal(r["commission_current"])
        total_candidate += Decimal(r["commission_candidate"])
    assert total_candidate > total_current > 0
    stdout = result.stdout.decode()
    assert f"what-if {MONTHS[0]}..{MONTHS[-1]}: {len(rows):,} rep-months" in stdout
    assert f"{total_current:,.2f}" in stdout and f"{total_candidate - total_current:+,.2f}" in stdout
