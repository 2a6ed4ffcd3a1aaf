"""The what-if of contract §13 on hand-worked figures (contract §6, §7, §11, §12)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sales_scorecard.core.commission import load_plans
from sales_scorecard.core.scoreplan import ScopedPlans, load_scorecard_plan, parse_plan
from sales_scorecard.core.whatif import Plans, WhatIf, WhatIfError, month_range, recompute, rep_engine, score_rounded
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, deal, roster, target

D = Decimal
CURRENT = Plans(load_scorecard_plan(None), load_plans(None))


def default_commission_text() -> str:
    """The packaged default commission plan file, as text (5 % / 8 % with the csat gate)."""
    from importlib import resources

    return resources.files("sales_scorecard.core").joinpath("plans/default_commission.yaml").read_text()


def six_nine(tmp_path: Path, extra: str = "") -> Plans:
    """The default plan with its 5 % and 8 % bands paid 6 % and 9 % (the gate kept)."""
    text = default_commission_text().replace('rate: "0.05"', 'rate: "0.06"').replace('rate: "0.08"', 'rate: "0.09"')
    assert text.count('"0.06"') == 1 and text.count('"0.09"') == 1
    path = tmp_path / "candidate.yaml"
    path.write_text(text.replace("teams: {}\n", extra) if extra else text)
    return Plans(CURRENT.scorecard, load_plans(str(path)))


#: a scorecard plan of one component: 100 × min(weighted attainment, 1)
ATTAINMENT_ONLY = ScopedPlans.uniform(parse_plan({"plan_id": "attainment-only", "components": [
    {"kpi": "weighted_attainment", "dimension": "financial", "weight": "1", "goal": "1.0"}]}))


def history() -> list[dict[str, Any]]:
    """r1 and r2 in team t1, r3 in t2; October and November 2026."""
    return [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"),
        target("rep", "r1", "2026-10", "100000.00"), target("rep", "r1", "2026-11", "100000.00"),
        target("rep", "r2", "2026-11", "200000.00"),
        # r1, October: 120 % of target, no survey (the 8 % gate passes when there is none)
        deal("d1", "r1", "c1", "120000.00", closed_at="2026-10-10T10:00:00+08:00"),
        # r1, November: 50 % of target
        deal("d2", "r1", "c2", "50000.00", closed_at="2026-11-10T10:00:00+08:00"),
        # r2, November: 125 % of target, csat 4.0 (the gate fails)
        deal("d3", "r2", "c3", "250000.00", closed_at="2026-11-12T10:00:00+08:00"),
        activity("r2", "survey", "2026-11-13T10:00:00+08:00", customer_id="c3", score=4),
        activity("r2", "survey", "2026-11-14T10:00:00+08:00", customer_id="c3", score=4),
        # r3, November: no target
        deal("d4", "r3", "c4", "10000.00", closed_at="2026-11-20T10:00:00+08:00"),
    ]


def run(candidate: Plans, first: str = "2026-10", last: str = "2026-11",
        events: list[dict[str, Any]] | None = None) -> WhatIf:
    engine = rep_engine("Asia/Shanghai", CURRENT)
    for event in history() if events is None else events:
        engine.apply(record_from_event(event))
    return recompute(engine, candidate, first, last)


def commissions(report: WhatIf) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {(r.rep_id, r.period): (r.commission_current, r.commission_candidate) for r in report.rows}


def test_six_and_nine_percent_by_hand(tmp_path: Path) -> None:
    report = run(six_nine(tmp_path))
    assert commissions(report) == {
        # 100,000 × 5 % + 20,000 × 8 % = 6,600; 100,000 × 6 % + 20,000 × 9 % = 7,800
        ("r1", "2026-10"): (D("6600.00"), D("7800.00")),
        # 50,000 × 5 % = 2,500; × 6 % = 3,000
        ("r1", "2026-11"): (D("2500.00"), D("3000.00")),
        # csat 4.0 < 4.5: the 50,000 above target earn the first band's rate under both plans:
        # 250,000 × 5 % = 12,500; 250,000 × 6 % = 15,000
        ("r2", "2026-11"): (D("12500.00"), D("15000.00")),
        # no target: all revenue at the first band's rate, 10,000 × 5 % = 500; × 6 % = 600
        ("r3", "2026-11"): (D("500.00"), D("600.00")),
    }
    # 6,600 + 2,500 + 12,500 + 500 = 22,100; 7,800 + 3,000 + 15,000 + 600 = 26,400
    total = report.total()
    assert (total.rep_months, total.current, total.candidate, total.delta) == \
        (4, D("22100.00"), D("26400.00"), D("4300.00"))
    assert [(t.name, t.rep_months, t.current, t.candidate, t.delta) for t in report.by_team()] == [
        ("t1", 3, D("21600.00"), D("25800.00"), D("4200.00")),
        ("t2", 1, D("500.00"), D("600.00"), D("100.00")),
    ]
    assert [(r.rep_id, r.period, r.delta) for r in report.largest_changes(3)] == [
        ("r2", "2026-11", D("2500.00")), ("r1", "2026-10", D("1200.00")), ("r1", "2026-11", D("500.00"))]


def test_a_team_override_of_the_candidate_applies_to_its_reps(tmp_path: Path) -> None:
    flat = 'teams:\n  t2: {plan_id: t2-flat, tiers: [{from: "0", to: null, rate: "0.10"}]}\n'
    report = run(six_nine(tmp_path, flat))
    # r3 is in t2: 10,000 × 10 % = 1,000 (no target: the first, here only, band); t1 keeps 6 %/9 %
    assert commissions(report)[("r3", "2026-11")] == (D("500.00"), D("1000.00"))
    assert commissions(report)[("r1", "2026-10")] == (D("6600.00"), D("7800.00"))


def test_scores_under_both_scorecard_plans() -> None:
    report = run(Plans(ATTAINMENT_ONLY, CURRENT.commission))
    scores = {(r.rep_id, r.period): (score_rounded(r.score_current), score_rounded(r.score_candidate))
              for r in report.rows}
    # Default plan (§6), r1 October: weighted attainment 1.2 → 1 (×40), win rate 1/1 → 1 (×10),
    # 1 new customer of 2 → 0.5 (×10), csat none (left out), complaint rate 0 → 1 (×10),
    # contact coverage 0 of a book of 1 → 0 (×10), training 0 of 4 h → 0 (×10):
    # 100 × (40 + 10 + 5 + 10) / 90 = 72.2222. Attainment only: 100 × min(1.2, 1) = 100.
    assert scores[("r1", "2026-10")] == ("72.2222", "100.0000")
    # r1 November: 0.5 (×40) = 20, + 10 + 5 + 10, coverage 0 of c1 and c2, training 0:
    # 100 × 45 / 90 = 50; attainment only: 50.
    assert scores[("r1", "2026-11")] == ("50.0000", "50.0000")
    # r2 November: 40 + 10 + 5 + csat 4.0 / 4.5 × 10 + 10 + 0 + 0 over 100 = 73.8889; 100.
    assert scores[("r2", "2026-11")] == ("73.8889", "100.0000")
    # r3 November, no target: weighted attainment null; 100 × (10 + 5 + 10) / 50 = 50;
    # attainment only has nothing to score: no score.
    assert scores[("r3", "2026-11")] == ("50.0000", "")
    # the commission plan is the same on both sides
    assert all(r.delta == 0 for r in report.rows)


def split_history() -> list[dict[str, Any]]:
    """r1, r2 and r3 in t1, whose November target of 30,000 is split equally (contract §12);
    none of them has a target of their own."""
    return [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"),
        target("team", "t1", "2026-11", "30000.00", split="equal"),
        deal("d1", "r1", "c1", "12000.00", closed_at="2026-11-10T10:00:00+08:00"),
        deal("d2", "r2", "c2", "4000.00", closed_at="2026-11-12T10:00:00+08:00"),
    ]


def test_a_share_of_a_split_team_target_is_the_reps_target(tmp_path: Path) -> None:
    #: attainment alone against a goal of 1.5: the score shows the attainment
    attainment = ScopedPlans.uniform(parse_plan({"plan_id": "attainment-1.5", "components": [
        {"kpi": "weighted_attainment", "dimension": "financial", "weight": "1", "goal": "1.5"}]}))
    report = run(Plans(attainment, six_nine(tmp_path).commission), "2026-11", "2026-11", split_history())
    # 30,000 / 3 = 10,000 each. r1: 12,000 of 10,000, attainment 1.2, no survey (the gate passes):
    # 10,000 × 5 % + 2,000 × 8 % = 660; 10,000 × 6 % + 2,000 × 9 % = 780.
    # r2: 4,000 of 10,000, attainment 0.4: 4,000 × 5 % = 200; × 6 % = 240.
    # r3 sold nothing: a share makes no scorecard, so no rep-month.
    assert commissions(report) == {("r1", "2026-11"): (D("660.00"), D("780.00")),
                                   ("r2", "2026-11"): (D("200.00"), D("240.00"))}
    assert [(r.rep_id, r.delta) for r in report.rows] == [("r1", D("120.00")), ("r2", D("40.00"))]
    total = report.total()
    assert (total.rep_months, total.current, total.candidate, total.delta) == \
        (2, D("860.00"), D("1020.00"), D("160.00"))
    scores = {r.rep_id: (score_rounded(r.score_current), score_rounded(r.score_candidate)) for r in report.rows}
    # r1 under the default plan, as r1's October in test_scores_under_both_scorecard_plans:
    # 100 × (40 + 10 + 5 + 10) / 90 = 72.2222; attainment only: 100 × 1.2 / 1.5 = 80.
    # r2: attainment 0.4 (× 40) = 16, + 10 + 5 + 10: 100 × 41 / 90 = 45.5556; 100 × 0.4 / 1.5 = 26.6667.
    assert scores == {"r1": ("72.2222", "80.0000"), "r2": ("45.5556", "26.6667")}


def test_the_current_plans_as_candidate_change_nothing() -> None:
    report = run(CURRENT)
    assert len(report.rows) == 4
    assert all(r.delta == 0 and r.score_current == r.score_candidate for r in report.rows)
    assert report.total().delta == 0 and report.largest_changes(10) == []


def test_only_the_months_asked_for() -> None:
    assert [(r.rep_id, r.period) for r in run(CURRENT, "2026-10", "2026-10").rows] == [("r1", "2026-10")]
    assert run(CURRENT, "2026-12", "2027-03").rows == ()


def test_month_range() -> None:
    assert month_range("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert month_range("2026-11", "2026-11") == ["2026-11"]


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2026-13", "2027-01", "--from must be a month like 2026-07, got '2026-13'"),
    ("2026-01", "2026-7", "--to must be a month like 2026-07, got '2026-7'"),
    ("2026-12", "2026-11", "--from 2026-12 is after --to 2026-11: swap them"),
])
def test_bad_months(first: str, last: str, message: str) -> None:
    with pytest.raises(WhatIfError) as caught:
        month_range(first, last)
    assert str(caught.value) == message

