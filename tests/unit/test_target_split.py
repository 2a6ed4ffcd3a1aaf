"""The top-down split of a team target (目标分解, contract §12), worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import orjson
import pytest

from sales_scorecard.core.boards import explain
from sales_scorecard.core.engine import PayChange, ScorecardEngine
from sales_scorecard.core.payroll import PayrollLedger
from sales_scorecard.core.target_split import EqualSplit, divide, history_months, parse_split, split_shares
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.schemas.validation import Accepted, EventValidator, Rejected
from tests.factories import close_period, deal, roster, target

NOV = "2026-11-{:02d}T10:00:00+08:00"
LATER = "2026-11-20T00:00:00+08:00"
POSTED = "2026-12-01T00:00:00.000Z"


def build(*events: dict[str, Any]) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in events:
        engine.apply(record_from_event(ev))
    return engine


def shares(engine: ScorecardEngine, period: str, *reps: str) -> list[str | None]:
    """Each rep's resolved revenue target for ``period`` (2 decimals), in the order asked."""
    out = []
    for rep in reps:
        value = engine.rep_target(rep, period)
        out.append(None if value is None else f"{value:.2f}")
    return out


TEAM = (roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"), roster("x9", "t2"))


# ------------------------------------------------------------------ the pure split
def test_remainder_cents_go_one_each_in_rep_id_order() -> None:
    # 100000.00 = 10,000,000 cents / 3 = 3,333,333 each, 1 cent left: to r1, the first id.
    got = divide(D("100000.00"), {"r3": D(1), "r1": D(1), "r2": D(1)})
    assert got == {"r1": D("33333.34"), "r2": D("33333.33"), "r3": D("33333.33")}
    # 0.05 over 3: 1 cent each, 2 left: r1 and r2 get one more.
    assert divide(D("0.05"), {"r1": D(1), "r2": D(1), "r3": D(1)}) == {
        "r1": D("0.02"), "r2": D("0.02"), "r3": D("0.01")}


def test_what_own_targets_leave_is_shared_never_below_zero() -> None:
    own = {"r1": D("40000.00"), "r2": None, "r3": None}
    # 100000 - 40000 = 60000 over r2, r3
    assert split_shares(D("100000.00"), EqualSplit(), ["r1", "r2", "r3"], own, {}) == {
        "r2": D("30000.00"), "r3": D("30000.00")}
    over = {"r1": D("120000.00"), "r2": None, "r3": None}
    assert split_shares(D("100000.00"), EqualSplit(), ["r1", "r2", "r3"], over, {}) == {
        "r2": D("0.00"), "r3": D("0.00")}
    # A derived own target with fractions of a cent: 1000 - 333.333... = 666.666... -> pool 666.66
    third = {"r1": D(1000) / D(3), "r2": None, "r3": None}
    assert split_shares(D("1000.00"), EqualSplit(), ["r1", "r2", "r3"], third, {}) == {
        "r2": D("333.33"), "r3": D("333.33")}


def test_weights_renormalised_over_sharing_members_absent_ones_weigh_zero() -> None:
    rule = parse_split({"weights": {"r1": 2, "r2": "1", "r9": "5"}})  # r9 is no member; r3 not named
    got = split_shares(D("1000.00"), rule, ["r1", "r2", "r3"], {"r1": None, "r2": None, "r3": None}, {})
    # 100,000 cents x 2/3 = 66,666.67 -> 66,666; x 1/3 -> 33,333; r3 0; 1 cent left -> r1
    assert got == {"r1": D("666.67"), "r2": D("333.33"), "r3": D("0.00")}
    # Nobody sharing is named: equal.
    nobody = parse_split({"weights": {"r9": "1.5"}})
    assert split_shares(D("10.00"), nobody, ["r1", "r2"], {"r1": None, "r2": None}, {}) == {
        "r1": D("5.00"), "r2": D("5.00")}


def test_history_months_are_the_three_before_the_period() -> None:
    assert history_months("2026-11") == ["2026-08", "2026-09", "2026-10"]
    assert history_months("2026-Q1") == ["2025-10", "2025-11", "2025-12"]
    assert history_months("2027") == ["2026-10", "2026-11", "2026-12"]


# ------------------------------------------------------------------ in the engine
def test_equal_split_of_a_month_with_one_explicit_member() -> None:
    e = build(*TEAM, target("team", "t1", "2026-11", "100000.00", split="equal"))
    assert shares(e, "2026-11", "r1", "r2", "r3", "x9") == ["33333.34", "33333.33", "33333.33", None]
    # The team's target is the event's amount.
    e.apply(record_from_event(deal("d0", "r1", "c0", "1.00", closed_at=NOV.format(2))))
    assert e.render("team", "t1", "2026-11")["kpis"]["target"] == "100000.00"  # type: ignore[index]
    # r2 gets a target of its own: the others share 100000 - 40000 = 60000.
    e.apply(record_from_event(target("rep", "r2", "2026-11", "40000.00", occurred_at=LATER)))
    assert shares(e, "2026-11", "r1", "r2", "r3") == ["30000.00", "40000.00", "30000.00"]


def test_an_own_quarter_keeps_a_member_out_of_a_month_split() -> None:
    # r3's own 2026-Q4 of 90000 derives November = 30000: r3 does not share November.
    e = build(*TEAM, target("rep", "r3", "2026-Q4", "90000.00"),
              target("team", "t1", "2026-11", "100000.00", split="equal"))
    # 100000 - 30000 = 70000 over r1, r2
    assert shares(e, "2026-11", "r1", "r2", "r3") == ["35000.00", "35000.00", "30000.00"]


def test_a_transfer_in_the_period_splits_among_the_members_at_its_end() -> None:
    e = build(*TEAM, target("team", "t1", "2026-11", "90000.00", split="equal"))
    assert shares(e, "2026-11", "r1", "r2", "r3") == ["30000.00", "30000.00", "30000.00"]
    # r3 moves to t2 on 15 Nov: t1 at November's end is r1, r2.
    e.apply(record_from_event(roster("r3", "t2", effective_at="2026-11-15T00:00:00+08:00")))
    assert shares(e, "2026-11", "r1", "r2", "r3") == ["45000.00", "45000.00", None]
    # x9 moves into t1 on 20 Nov: r1, r2, x9.
    e.apply(record_from_event(roster("x9", "t1", effective_at="2026-11-20T00:00:00+08:00")))
    assert shares(e, "2026-11", "r1", "r2", "x9") == ["30000.00", "30000.00", "30000.00"]
    # x9 leaves on 25 Nov: not active at the end, no share.
    e.apply(record_from_event(roster("x9", "t1", status="left", effective_at="2026-11-25T00:00:00+08:00")))
    assert shares(e, "2026-11", "r1", "r2", "x9") == ["45000.00", "45000.00", None]


def test_a_rep_moving_between_two_split_teams_gets_the_share_of_the_team_it_ends_in() -> None:
    # r1 is in t3, both teams' November targets split equally; then a late roster event
    # moves r1 to t1 from 1 November. t1 (re-split first: teams go in id order) names r1,
    # t3 names it no longer: r1's share is t1's 40,000 / 2 = 20,000, not dropped with t3's.
    e = build(roster("r1", "t3"), roster("r2", "t1"),
              target("team", "t1", "2026-11", "40000.00", split="equal"),
              target("team", "t3", "2026-11", "9000.00", split="equal"))
    assert shares(e, "2026-11", "r1", "r2") == ["9000.00", "40000.00"]
    e.apply(record_from_event(roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00")))
    assert shares(e, "2026-11", "r1", "r2") == ["20000.00", "20000.00"]
    # and back to t3 from 10 November: t3's whole 9,000 again, t1's 40,000 to r2
    e.apply(record_from_event(roster("r1", "t3", effective_at="2026-11-10T00:00:00+08:00")))
    assert shares(e, "2026-11", "r1", "r2") == ["9000.00", "40000.00"]


def test_history_split_by_revenue_of_the_three_months_before_and_equal_when_all_zero() -> None:
    e = build(*TEAM, target("team", "t1", "2026-11", "100000.01", split="history"))
    # Nobody sold in August-October: equal. 10,000,001 cents / 3 = 3,333,333 r 2: r1, r2 get one more.
    assert shares(e, "2026-11", "r1", "r2", "r3") == ["33333.34", "33333.34", "33333.33"]
    e.apply(record_from_event(deal("h1", "r1", "c1", "30000.00", closed_at="2026-08-10T10:00:00+08:00")))
    e.apply(record_from_event(deal("h2", "r2", "c2", "10000.00", closed_at="2026-10-31T10:00:00+08:00")))
    # July and November do not count.
    e.apply(record_from_event(deal("h3", "r3", "c3", "50000.00", closed_at="2026-07-31T10:00:00+08:00")))
    e.apply(record_from_event(deal("h4", "r3", "c4", "50000.00", closed_at=NOV.format(3))))
    # Weights 3 : 1 : 0 -> 7,500,000.75 -> 7,500,000; 2,500,000.25 -> 2,500,000; 0; 1 cent left -> r1.
    assert shares(e, "2026-11", "r1", "r2", "r3") == ["75000.01", "25000.00", "0.00"]


def test_a_split_quarter_gives_each_month_a_third_and_the_explanation_says_split() -> None:
    e = build(*TEAM, target("rep", "r3", "2026-11", "20000.00"),
              target("team", "t1", "2026-Q4", "300000.00", split="equal"),
              deal("d1", "r1", "c1", "150000.00", closed_at=NOV.format(5)),
              deal("d3", "r3", "c3", "10000.00", closed_at=NOV.format(5)))
    # r3 has only November given, so no own Q4: the quarter is split three ways, 100000 each.
    assert shares(e, "2026-Q4", "r1", "r2", "r3") == ["100000.00", "100000.00", "100000.00"]
    r1 = explain(e, "rep", "r1", "2026-11")
    assert r1 is not None
    assert r1["facts"]["target"] == "33333.33" and r1["facts"]["target_source"] == "split"  # 100000 / 3
    assert r1["commission_months"][0]["target_source"] == "split"
    r3 = explain(e, "rep", "r3", "2026-11")
    assert r3 is not None and r3["facts"]["target_source"] == "explicit"
    team = explain(e, "team", "t1", "2026-11")
    assert team is not None and (team["facts"]["target"], team["facts"]["target_source"]) == ("100000.00", "derived")


def test_a_derived_target_makes_attainment_and_commission_non_null() -> None:
    without = build(*TEAM, deal("d1", "r1", "c1", "150000.00", closed_at=NOV.format(5)))
    k = without.render("rep", "r1", "2026-11")["kpis"]  # type: ignore[index]
    assert (k["target"], k["attainment"], k["commission"]) == (None, None, "7500.00")  # 5 % of all, no target
    e = build(*TEAM, deal("d1", "r1", "c1", "150000.00", closed_at=NOV.format(5)),
              target("team", "t1", "2026-11", "300000.00", split="equal"))
    k = e.render("rep", "r1", "2026-11")["kpis"]  # type: ignore[index]
    # target 100000; attainment 1.5; 5 % of 100000 + 8 % of 50000 (no survey: the gate passes) = 9000
    assert (k["target"], k["attainment"], k["commission"]) == ("100000.00", 1.5, "9000.00")
    assert k["expected_to_date"] is not None and k["pace"] is not None


def test_a_late_split_marks_every_member_and_their_team_dirty() -> None:
    e = build(*TEAM, *(deal(f"d{r}", r, f"c{r}", "10.00", closed_at=NOV.format(5)) for r in ("r1", "r2", "r3")))
    e.take_dirty()
    e.take_payroll_changes()
    e.apply(record_from_event(target("team", "t1", "2026-Q4", "300.00", split="equal", occurred_at=LATER)))
    dirty = set(e.take_dirty())
    for rep in ("r1", "r2", "r3"):
        assert {("rep", rep, "2026-11"), ("rep", rep, "2026-Q4"), ("rep", rep, "2026")} <= dirty
    assert ("team", "t1", "2026-Q4") in dirty
    changes = e.take_payroll_changes()
    assert {k for k in changes if k[0] == "r2"} == {("r2", "2026-10"), ("r2", "2026-11"), ("r2", "2026-12")}
    assert changes[("r1", "2026-11")] == PayChange("target_change")


def test_a_resplit_of_a_closed_month_is_a_payroll_adjustment() -> None:
    e, ledger = ScorecardEngine("Asia/Shanghai"), PayrollLedger()
    out: list[dict[str, Any]] = []

    def run(*events: dict[str, Any]) -> None:
        for ev in events:
            e.apply(record_from_event(ev))
            if ev["type"] == "close_period":
                out.extend(o.event for o in ledger.post_statements(e, POSTED))
            out.extend(o.event for o in ledger.adjust(e, e.take_payroll_changes(), POSTED))

    run(roster("r1", "t1"), roster("r2", "t1"), target("team", "t1", "2026-11", "100000.00", split="equal"),
        deal("d1", "r1", "c1", "60000.00", closed_at=NOV.format(5)), close_period("2026-11"))
    statements = {s["rep_id"]: s for s in out}
    # r1: target 50000; 5 % of 50000 + 8 % of 10000 = 2500 + 800 = 3300. r2 has a target and no revenue.
    assert (statements["r1"]["target"], statements["r1"]["commission"]) == ("50000.00", "3300.00")
    assert (statements["r2"]["target"], statements["r2"]["commission"]) == ("50000.00", "0.00")
    out.clear()
    run(target("rep", "r2", "2026-11", "80000.00", occurred_at="2026-12-02T00:00:00+08:00"))
    # r1's share falls to 100000 - 80000 = 20000: 5 % of 20000 + 8 % of 40000 = 1000 + 3200 = 4200, +900.
    assert [(a["type"], a["rep_id"], a["delta_revenue"], a["delta_commission"], a["reason"], a["apply_in_period"])
            for a in out] == [("payroll.adjustment", "r1", "0.00", "900.00", "target_change", "2026-12")]


def test_a_rep_partition_takes_the_shares_it_is_sent() -> None:
    from sales_scorecard.core.engine import rep_partition

    part = ScorecardEngine("Asia/Shanghai", role=rep_partition(lambda rep: rep == "r1"))
    for ev in (roster("r1", "t1"), deal("d1", "r1", "c1", "150000.00", closed_at=NOV.format(5)),
               target("team", "t1", "2026-11", "900.00", split="equal")):
        part.apply(record_from_event(ev))
    assert part.rep_target("r1", "2026-11") is None  # a partition never splits by itself
    part.take_payroll_changes()
    assert part.apply_split_shares("r1", {"2026-11": D("100000.00")}).value == "applied"
    assert part.render("rep", "r1", "2026-11")["kpis"]["commission"] == "9000.00"  # type: ignore[index]
    assert part.take_payroll_changes() == {("r1", "2026-11"): PayChange("target_change")}
    assert part.apply_split_shares("r1", {"2026-11": D("100000.00")}).value == "duplicate"
    part.apply_split_shares("r1", {})
    assert part.rep_target("r1", "2026-11") is None


def test_an_engine_keeping_every_rep_splits_every_team_target_at_once() -> None:
    from sales_scorecard.core.engine import rep_partition

    events = (*TEAM, target("rep", "r2", "2026-11", "40000.00"),
              target("team", "t1", "2026-11", "100000.00", split="equal"),
              target("team", "t1", "2026-12", "40000.00", split="history"),
              deal("h1", "r1", "c1", "30000.00", closed_at="2026-09-10T10:00:00+08:00"),
              deal("h3", "r3", "c3", "10000.00", closed_at=NOV.format(3)))
    every = ScorecardEngine("Asia/Shanghai", role=rep_partition(lambda rep: True))  # the what-if's
    for ev in events:
        every.apply(record_from_event(ev))
    assert every.rep_target("r1", "2026-11") is None  # no share as the facts come
    every.split_team_targets()
    # November: 100000 - r2's own 40000 = 60000 over r1, r3. December by September-November
    # revenue, 30000 : 0 : 10000 of 40000.
    assert shares(every, "2026-11", "r1", "r2", "r3", "x9") == ["30000.00", "40000.00", "30000.00", None]
    assert shares(every, "2026-12", "r1", "r2", "r3") == ["30000.00", "0.00", "10000.00"]
    assert every.splits.shares == build(*events).splits.shares  # the whole engine's, fact by fact
    every.take_split_reps()
    every.split_team_targets()
    assert every.take_split_reps() == set()  # the same shares again
    # a later November target of t1 without split takes the November shares away
    every.apply(record_from_event(target("team", "t1", "2026-11", "100000.00", occurred_at=LATER)))
    every.split_team_targets()
    assert shares(every, "2026-11", "r1", "r2", "r3") == [None, "40000.00", None]
    assert shares(every, "2026-12", "r1", "r3") == ["30000.00", "10000.00"]


# ------------------------------------------------------------------ validation
def _validate(event: dict[str, Any]) -> Accepted | Rejected:
    return EventValidator("CNY").validate("sales.targets", orjson.dumps(event))


@pytest.mark.parametrize("split", ["equal", "history", {"weights": {"r1": 2, "r2": "0.5"}}])
def test_valid_splits_are_accepted(split: Any) -> None:
    result = _validate(target("team", "t1", "2026-11", "100.00", split=split))
    assert isinstance(result, Accepted) and result.event["split"] == split


@pytest.mark.parametrize("event,path", [
    pytest.param(target("rep", "r1", "2026-11", "1.00", split="equal"), "split is only allowed on a team target",
                 id="on-a-rep"),
    pytest.param(target("company", "*", "2026", "1.00", split="history"), "split is only allowed on a team target",
                 id="on-the-company"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split="random"), "$.split", id="unknown-rule"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {}}), "$.split.weights", id="no-weights"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {"r1": 0}}), "$.split.weights.r1",
                 id="zero"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {"r1": "0.00"}}), "$.split.weights.r1",
                 id="zero-string"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {"r1": "-1"}}), "$.split.weights.r1",
                 id="negative"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {"r1": 1.5}}), "$.split.weights.r1",
                 id="a-float"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {"bad id!": 1}}), "$.split.weights",
                 id="bad-rep-id"),
    pytest.param(target("team", "t1", "2026-11", "1.00", split={"weights": {"r1": 1}, "x": 1}), "$.split",
                 id="extra-key"),
])
def test_a_bad_split_is_rejected_with_a_reason(event: dict[str, Any], path: str) -> None:
    result = _validate(event)
    assert isinstance(result, Rejected), result
    assert result.reason == "schema_violation"
    assert path in result.detail, result.detail


def test_a_rep_target_from_shares_follows_a_change_of_shares() -> None:
    from decimal import Decimal

    from sales_scorecard.core.target_split import TargetSplits

    splits = TargetSplits()
    splits.put_team("t1", "2026-Q1", {"r1": Decimal("300.00"), "r2": Decimal("150.00")})
    assert splits.resolve("r1", "2026-02") == Decimal("100")  # a third of the quarter's share
    splits.put_team("t1", "2026-Q1", {"r1": Decimal("600.00"), "r2": Decimal("150.00")})
    assert splits.resolve("r1", "2026-02") == Decimal("200")
    splits.put_rep("r1", {})
    assert splits.resolve("r1", "2026-02") is None
