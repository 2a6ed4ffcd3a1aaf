"""Figures kept between renders (core/derived_figures.py): a render after a target, a roster,
a fact or a clock change shows the change. Values worked out by hand (contract §3, §4, §7)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sales_scorecard.core.commission import CommissionPlan, PlanSet, Tier
from sales_scorecard.core.derived_figures import DerivedFigures
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.schemas.records import record_from_event
from tests.factories import deal, roster, target
from tests.unit.test_engine import kpis

NOV = "2026-11-05T10:00:00+08:00"


def apply(engine: ScorecardEngine, *events: dict[str, Any]) -> ScorecardEngine:
    for ev in events:
        engine.apply(record_from_event(ev))
    return engine


def test_a_target_change_after_a_render_changes_the_month_and_quarter_commission() -> None:
    e = apply(ScorecardEngine(), roster("r1", "t1"), target("rep", "r1", "2026-11", "10000.00"),
              deal("d1", "r1", "c1", "12000.00", closed_at=NOV))
    # 5 % of the first 10000, 8 % of the 2000 above (no survey: the csat gate passes)
    assert kpis(e, "rep", "r1", "2026-11")["commission"] == "660.00"
    assert kpis(e, "rep", "r1", "2026-Q4")["commission"] == "660.00"  # October, December: nothing won
    apply(e, target("rep", "r1", "2026-11", "20000.00", occurred_at="2026-02-01T00:00:00+08:00"))
    month = kpis(e, "rep", "r1", "2026-11")
    assert (month["target"], month["attainment"], month["commission"]) == ("20000.00", 0.6, "600.00")
    assert kpis(e, "rep", "r1", "2026-Q4")["commission"] == "600.00"  # 5 % of 12000


def test_a_new_fact_of_the_month_after_a_render_changes_its_commission() -> None:
    e = apply(ScorecardEngine(), roster("r1", "t1"), target("rep", "r1", "2026-11", "10000.00"),
              deal("d1", "r1", "c1", "12000.00", closed_at=NOV))
    assert kpis(e, "rep", "r1", "2026-Q4")["commission"] == "660.00"
    apply(e, deal("d2", "r1", "c2", "3000.00", closed_at="2026-11-20T10:00:00+08:00"))
    # 15000 against 10000: 500 + 8 % of 5000
    assert kpis(e, "rep", "r1", "2026-11")["commission"] == "900.00"
    assert kpis(e, "rep", "r1", "2026")["commission"] == "900.00"


def test_a_roster_change_after_a_render_moves_member_sums_and_the_plan() -> None:
    flat = CommissionPlan("flat-10", (Tier(Decimal(0), None, Decimal("0.10")),))
    plans = PlanSet(CommissionPlan("flat-5", (Tier(Decimal(0), None, Decimal("0.05")),)), by_team={"t2": flat})
    e = apply(ScorecardEngine(commission_plans=plans), roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"),
              target("rep", "r1", "2026-11", "10000.00"), target("rep", "r2", "2026-11", "5000.00"),
              deal("d1", "r1", "c1", "1000.00", closed_at=NOV), deal("d2", "r2", "c2", "4000.00", closed_at=NOV),
              deal("d3", "r3", "c3", "1000.00", closed_at=NOV))
    assert kpis(e, "team", "t1", "2026-11")["target"] == "15000.00"  # r1 + r2
    assert kpis(e, "team", "t2", "2026-11")["target"] is None  # r3 has none: no summand has a value
    assert kpis(e, "rep", "r2", "2026-11")["commission"] == "200.00"  # 5 % of 4000 (t1: default plan)
    # r2 moves to t2 on 10 November: at the month's end it is t2's member, on t2's plan
    apply(e, roster("r2", "t2", effective_at="2026-11-10T00:00:00+08:00"))
    assert kpis(e, "team", "t1", "2026-11")["target"] == "10000.00"
    assert kpis(e, "team", "t2", "2026-11")["target"] == "5000.00"
    assert kpis(e, "rep", "r2", "2026-11")["commission"] == "400.00"  # 10 % of 4000
    assert kpis(e, "company", "*", "2026-11")["target"] == "15000.00"


def test_a_clock_move_after_a_render_changes_as_of_and_the_pace_figures() -> None:
    e = apply(ScorecardEngine(), roster("r1", "t1"), target("rep", "r1", "2026-11", "30000.00"),
              deal("d1", "r1", "c1", "6000.00", closed_at=NOV))
    e.wall_clock = datetime.fromisoformat("2026-11-16T00:00:00+08:00")  # 15 of November's 30 days
    first = e.render("rep", "r1", "2026-11")
    assert first is not None
    assert (first["as_of"], first["kpis"]["expected_to_date"], first["kpis"]["pace"]) == \
        ("2026-11-15T16:00:00.000Z", "15000.00", 0.4)
    e.wall_clock = datetime.fromisoformat("2026-11-21T00:00:00+08:00")  # 20 of 30 days
    e.touch_clock()
    second = e.render("rep", "r1", "2026-11")
    assert second is not None
    assert (second["as_of"], second["kpis"]["expected_to_date"], second["kpis"]["pace"]) == \
        ("2026-11-20T16:00:00.000Z", "20000.00", 0.3)
    assert (second["period_start"], second["period_end"]) == ("2026-10-31T16:00:00.000Z", "2026-11-30T16:00:00.000Z")


def test_a_view_under_other_plans_pays_its_own_commission_from_the_same_facts() -> None:
    e = apply(ScorecardEngine(), roster("r1", "t1"), target("rep", "r1", "2026-11", "10000.00"),
              deal("d1", "r1", "c1", "12000.00", closed_at=NOV))
    flat = PlanSet(CommissionPlan("flat-10", (Tier(Decimal(0), None, Decimal("0.10")),)))
    view = e.with_plans(e.plans, flat)
    assert kpis(e, "rep", "r1", "2026-11")["commission"] == "660.00"
    assert kpis(view, "rep", "r1", "2026-11")["commission"] == "1200.00"
    assert kpis(e, "rep", "r1", "2026-11")["commission"] == "660.00"


def test_kept_figures_are_forgotten_by_what_they_read() -> None:
    figures: DerivedFigures[str] = DerivedFigures()
    plans, other = object(), object()
    figures.put_pay(plans, "r1", "2026-11", "paid")
    figures.put_target("team", "t1", "2026-11", None)
    figures.put_target("rep", "r1", "2026-11", Decimal("5"))
    assert figures.pay(plans, "r1", "2026-11") == "paid"
    assert figures.pay(other, "r1", "2026-11") is None  # computed under another plan set
    assert figures.target("team", "t1", "2026-11") == (True, None)  # kept: no target
    assert figures.target("team", "t1", "2026-12") == (False, None)  # not kept
    figures.month_changed("r1", "2026-10")
    assert figures.pay(plans, "r1", "2026-11") == "paid"
    figures.month_changed("r1", "2026-11")
    assert figures.pay(plans, "r1", "2026-11") is None
    assert figures.target("rep", "r1", "2026-11") == (True, Decimal("5"))
    figures.put_pay(plans, "r1", "2026-11", "paid")
    figures.targets_changed()
    assert figures.pay(plans, "r1", "2026-11") is None
    assert figures.target("rep", "r1", "2026-11") == (False, None)
