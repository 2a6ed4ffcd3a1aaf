"""What the org engine (``core.engine.ORG``) reads of its reps' figures, values by hand.

The org stage renders team and company scorecards only; of its reps its engine keeps
which periods exist and their month revenue (``core.rep_tally``): the new-hire ramp and
``history`` splits read members' month revenue (contract §5, §12). Rep scorecards and
explanations come from the rep stage (docs/architecture.md, "The two stages").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sales_scorecard.core.boards import explain
from sales_scorecard.core.engine import (
    ORG,
    ORG_BESIDE_TEAMS,
    WHOLE,
    EngineRole,
    RepFiguresNotKept,
    ScorecardEngine,
    rep_partition,
)
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, complaint, deal, roster, target

NOV, DEC = "2026-11", "2026-12"

#: t1: r1 (hired long ago), r7 hired 10 September, r9 hired 1 September (contract §5's
#: new_hire_ramp: November is their third month); December split by history (Sep-Nov).
FACTS = (
    roster("r1", "t1"),
    roster("r7", "t1", effective_at="2026-09-10T10:00:00+08:00", hired_at="2026-09-10T10:00:00+08:00"),
    roster("r9", "t1", effective_at="2026-09-01T00:00:00+08:00", hired_at="2026-09-01T00:00:00+08:00"),
    deal("g1", "r7", "c1", "10000.00", closed_at="2026-09-20T10:00:00+08:00"),
    deal("g2", "r7", "c2", "25000.00", closed_at="2026-11-20T10:00:00+08:00"),
    deal("g3", "r9", "c3", "7000.00", closed_at="2026-11-21T10:00:00+08:00"),  # no September revenue: no ratio
    deal("g4", "r1", "c4", "5000.00", closed_at="2026-10-15T10:00:00+08:00"),
    target("team", "t1", DEC, "47000.00", occurred_at="2026-08-01T00:00:00+08:00", split="history"),
)


def build(role: EngineRole, *events: dict[str, Any]) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai", role=role)
    for ev in events:
        engine.apply(record_from_event(ev))
    return engine


def ramp(engine: ScorecardEngine, scope: str, id: str) -> Any:
    rendered = engine.render(scope, id, NOV)
    assert rendered is not None
    return rendered["kpis"]["new_hire_ramp"]


def december_shares(engine: ScorecardEngine) -> dict[str, Decimal]:
    return {rep: engine.splits.of_rep(rep).get(DEC, Decimal(0)) for rep in ("r1", "r7", "r9")}


def test_the_org_engine_ramps_new_hires_and_splits_by_history_on_its_reps_month_revenue() -> None:
    org = build(ORG, *FACTS)
    # r7: 25000 in November over 10000 in September; r9 sold nothing in September.
    assert ramp(org, "team", "t1") == 2.5
    assert ramp(org, "company", "*") == 2.5
    # History September-November: r1 5000, r7 35000, r9 7000 of 47000: each its own revenue.
    assert december_shares(org) == {"r1": Decimal("5000.00"), "r7": Decimal("35000.00"), "r9": Decimal("7000.00")}

    # g2 moves to r1: r7's November is retracted (ratio 0 / 10000), r1's history grows.
    org.apply(record_from_event(deal("g2", "r1", "c2", "25000.00", closed_at="2026-11-20T10:00:00+08:00",
                                     version=2)))
    assert ramp(org, "team", "t1") == 0.0
    assert december_shares(org) == {"r1": Decimal("30000.00"), "r7": Decimal("10000.00"), "r9": Decimal("7000.00")}


def rep_periods(engine: ScorecardEngine) -> dict[str, set[str]]:
    return {id: set(labels) for (scope, id), labels in engine.known.items() if scope == "rep" and labels}


def test_the_org_engine_keeps_no_rep_buckets_and_refuses_rep_scorecards() -> None:
    # The rep stage renders rep scorecards and the query API asks it (streams/scorecard_sources.py).
    facts = (*FACTS, activity("r9", "call", customer_id="c3", effective=True),
             complaint("k1", "r7", "c2", opened_at="2026-11-22T09:00:00+08:00"))
    org = build(ORG, *facts)
    assert {scope for scope, _ in org.buckets.scopes} == {"team", "company"}
    with pytest.raises(RepFiguresNotKept):
        org.render("rep", "r7", NOV)
    with pytest.raises(RepFiguresNotKept):
        explain(org, "rep", "r7", NOV)
    # nor read as zero by what pays a rep (r7 sold 25000.00 in November)
    with pytest.raises(RepFiguresNotKept):
        org.commission_of("r7", NOV)
    with pytest.raises(RepFiguresNotKept):
        org.has_figures("r7", NOV)
    # Which rep periods exist stays (the boards list, /api/me): r1 October, r7 September and
    # November (a deal and a complaint), r9 November (a deal and a call).
    assert rep_periods(org) == {
        "r1": {"2026-10", "2026-Q4", "2026"},
        "r7": {"2026-09", "2026-Q3", "2026-11", "2026-Q4", "2026"},
        "r9": {"2026-11", "2026-Q4", "2026"},
    }


def test_without_rep_buckets_team_and_company_scorecards_are_the_whole_engines() -> None:
    facts = (*FACTS, activity("r9", "call", customer_id="c3", effective=True),
             complaint("k1", "r7", "c2", opened_at="2026-11-22T09:00:00+08:00"))
    org, whole = build(ORG, *facts), build(WHOLE, *facts)

    def compare() -> None:
        keys = [key for key in whole.all_keys() if key[0] != "rep"]
        assert {(scope, id) for scope, id, _ in keys} == {("team", "t1"), ("company", "*")}
        assert [key for key in org.all_keys() if key[0] != "rep"] == keys
        for key in keys:
            assert org.render(*key) == whole.render(*key), key
        assert rep_periods(org) == rep_periods(whole)

    compare()
    # r9's won deal moves from November to October (its call keeps November), and r1's
    # only deal goes to r7: r1's periods stop existing, r7's October starts.
    for event in (deal("g3", "r9", "c3", "7000.00", closed_at="2026-10-21T10:00:00+08:00", version=2),
                  deal("g4", "r7", "c4", "5000.00", closed_at="2026-10-15T10:00:00+08:00", version=2)):
        org.apply(record_from_event(event))
        whole.apply(record_from_event(event))
    assert rep_periods(org) == {
        "r7": {"2026-09", "2026-Q3", "2026-10", "2026-11", "2026-Q4", "2026"},
        "r9": {"2026-10", "2026-11", "2026-Q4", "2026"},
    }
    # November ramp: r7 25000 over its September 10000; r9 had no September revenue.
    assert ramp(org, "team", "t1") == 2.5
    # History September-November: r1 nothing, r7 10000 + 5000 + 25000, r9 7000 of 47000.
    assert december_shares(org) == {"r1": Decimal(0), "r7": Decimal("40000.00"), "r9": Decimal("7000.00")}
    compare()


def test_a_rep_partitions_memos_are_bounded_by_its_share_and_it_pays_what_the_whole_engine_pays() -> None:
    """60 reps x 12 months of commissions: more than the memo of an engine holding one in 32
    reps keeps, fewer than a whole engine's."""
    reps, months = [f"r{i:02}" for i in range(60)], [f"2026-{m:02}" for m in range(1, 13)]
    facts = [roster(rep, "t1" if i % 2 else "t2") for i, rep in enumerate(reps)]
    for i, rep in enumerate(reps):
        for m, month in enumerate(months):
            facts.append(target("rep", rep, month, "10000.00"))
            facts.append(deal(f"d-{rep}-{m}", rep, f"c{i}", f"{8000 + 250 * i + 100 * m}.00",
                              closed_at=f"{month}-15T10:00:00+08:00"))
    whole, part = build(WHOLE, *facts), build(rep_partition(lambda rep_id: True, share=32), *facts)
    assert part.memo_limit * 32 <= whole.memo_limit
    assert part.memo_limit < len(reps) * len(months) < whole.memo_limit
    paid = {(rep, month): whole.month_commission(rep, month) for rep in reps for month in months}
    assert whole.fullest_memo() >= len(paid)  # the whole engine keeps every month
    for _ in range(2):  # the second pass reads what the first one kept, or computes it again
        for (rep, month), amount in paid.items():
            assert part.month_commission(rep, month) == amount, (rep, month)
            assert part.fullest_memo() <= part.memo_limit
    assert len(set(paid.values())) > 100  # the months pay different amounts


def test_beside_a_team_stage_the_org_engine_keeps_only_unassigneds_team_figures_and_the_same_company() -> None:
    # r5 deals before its first roster entry (``unassigned``), then joins t2; the team
    # partitions keep t1's and t2's figures, the org engine the company's and unassigned's.
    facts = (*FACTS, deal("u1", "r5", "c9", "3000.00", closed_at="2026-10-02T10:00:00+08:00"),
             roster("r5", "t2", effective_at="2026-11-01T00:00:00+08:00"),
             deal("u2", "r5", "c9", "4000.00", closed_at="2026-11-25T10:00:00+08:00"),
             complaint("k1", "r7", "c2", opened_at="2026-11-22T09:00:00+08:00"))
    beside, org = build(ORG_BESIDE_TEAMS, *facts), build(ORG, *facts)
    assert {id for scope, id in org.buckets.scopes if scope == "team"} == {"t1", "t2", "unassigned"}
    assert {id for scope, id in beside.buckets.scopes if scope == "team"} == {"unassigned"}
    assert not beside.exists("team", "t1", NOV) and not beside.role.keeps("team", "t1")
    assert beside.role.keeps("team", "unassigned") and beside.role.keeps("company", "*")
    assert any(key[1] == "unassigned" for key in org.all_keys())
    for key in org.all_keys():
        if key[0] == "company" or key[1] == "unassigned":
            assert beside.render(*key) == org.render(*key), key
    # what the team figures need of the org engine stays: the split shares and the tally
    assert december_shares(beside) == december_shares(org)
    assert rep_periods(beside) == rep_periods(org)
