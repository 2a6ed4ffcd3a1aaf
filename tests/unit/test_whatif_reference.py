"""The what-if (contract §13) against the independent reference model on a simulated history
with a team whose targets are split down to its reps (contract §12): every rep-month's
commission under the default plan and under a 6 % / 9 % candidate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.commission import load_plans
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.whatif import Plans, recompute, rep_engine
from sales_scorecard.schemas.records import record_from_event
from tests.reference.model import Rates, ReferenceModel
from tests.unit.test_whatif import CURRENT, six_nine

SIX_NINE = Rates(base=Decimal("0.06"), above_target=Decimal("0.09"))


def test_every_rep_month_matches_the_reference(tmp_path: Path) -> None:
    # 40 reps in 4 teams over 5 months, with the simulator's duplicates, out-of-order
    # versions, amendments, reassignments, reversals, hires and departures, and one team's
    # monthly targets split equally, by weights and by history in turn.
    events = simulate(SimulationConfig(seed=11, reps=40, teams=4, months=5, start_month="2026-07",
                                       split_targets=True))
    engine = rep_engine("Asia/Shanghai", CURRENT)
    for event in events:
        engine.apply(record_from_event(event))
    report = recompute(engine, six_nine(tmp_path), "2026-08", "2026-11")
    model = ReferenceModel(events, features=("split",))
    months = {"2026-08", "2026-09", "2026-10", "2026-11"}
    keys = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    want = {(id, period) for scope, id, period in keys if scope == "rep" and period in months}
    assert {(r.rep_id, r.period) for r in report.rows} == want
    gated = above = 0
    # the rep-months whose target is a share of the split team target, under each rule
    split = {r.period for r in report.rows if model.target_source(r.rep_id, r.period) == "split"}
    assert split == months, split
    for r in report.rows:
        assert r.commission_current == model.month_commission(r.rep_id, r.period), r
        assert r.commission_candidate == model.month_commission(r.rep_id, r.period, SIX_NINE), r
        target = model.revenue_target("rep", r.rep_id, r.period)
        if target and model.revenue("rep", r.rep_id, r.period) > target:
            above += 1
            csat = model.month_csat(r.rep_id, r.period)
            gated += csat is not None and csat < Decimal("4.5")
    # the history exercises both sides of the gate on the band above target
    assert above - gated > 0 and gated > 0, (above, gated)


def test_the_current_plan_as_candidate_changes_no_rep_month() -> None:
    events = simulate(SimulationConfig(seed=5, reps=20, teams=2, months=3, start_month="2026-09",
                                       split_targets=True))
    engine = rep_engine("Asia/Shanghai", CURRENT)
    for event in events:
        engine.apply(record_from_event(event))
    report = recompute(engine, Plans(CURRENT.scorecard, load_plans(None)), "2026-09", "2026-11")
    assert len(report.rows) >= 40
    assert all(r.delta == 0 and r.score_current == r.score_candidate for r in report.rows)
    assert report.total().delta == 0
    # and the current side is what the worker's whole engine (its org stage computing the
    # split shares) scores, the reps of the split team included
    worker = ScorecardEngine("Asia/Shanghai", CURRENT.scorecard, CURRENT.commission)
    for event in events:
        worker.apply(record_from_event(event))
    model = ReferenceModel(events, features=("split",))
    assert any(model.target_source(r.rep_id, r.period) == "split" for r in report.rows)
    for r in report.rows:
        scored = worker.scored("rep", r.rep_id, r.period)
        assert scored is not None and (r.commission_current, r.score_current) == \
            (scored[1]["commission"], scored[2].score), r
