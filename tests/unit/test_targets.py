"""Target book, derivation and member sums (contract §3, target)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.money import CONTEXT
from sales_scorecard.core.targets import TargetBook, resolve_revenue_target

T0 = datetime(2026, 1, 1, tzinfo=UTC)

Entry = tuple[str, str]  # (period, revenue) for rep r1


def book(*entries: Entry, scope: str = "rep", id: str = "r1") -> TargetBook:
    b = TargetBook()
    for i, (period, revenue) in enumerate(entries):
        b.put(scope, id, period, T0, f"e{i}", D(revenue), None, None)
    return b


MONTHS_Q1 = [("2026-01", "10.00"), ("2026-02", "20.00"), ("2026-03", "30.00")]


@pytest.mark.parametrize("entries,period,expected", [
    pytest.param([("2026-11", "90.00"), ("2026-Q4", "300.00")], "2026-11", "90.00", id="month-given-beats-quarter"),
    pytest.param([("2026-Q4", "300.00"), ("2026", "1200.00")], "2026-11", "100", id="month-from-quarter-before-year"),
    pytest.param([("2026", "1200.00")], "2026-02", "100", id="month-from-year"),
    pytest.param(MONTHS_Q1, "2026-Q1", "60.00", id="quarter-from-three-months"),
    pytest.param([("2026-Q1", "100.00"), *MONTHS_Q1], "2026-Q1", "100.00", id="quarter-given-beats-months"),
    pytest.param([*MONTHS_Q1[:2], ("2026", "1200.00")], "2026-Q1", "300", id="quarter-two-months-falls-to-year"),
    pytest.param([*MONTHS_Q1[:2]], "2026-Q1", None, id="quarter-two-months-nothing-else"),
    pytest.param([("2026-Q1", "100.00"), *[(f"2026-{m:02d}", "10.00") for m in (4, 5, 6)], ("2026-Q3", "300.00"),
                  ("2026-Q4", "400.00")], "2026", "830.00", id="year-from-given-and-summed-quarters"),
    pytest.param([("2026-Q1", "1.00"), ("2026-Q2", "1.00"), ("2026-Q3", "1.00")], "2026", None, id="year-missing-q4"),
    pytest.param([("2026", "5.00"), ("2026-Q1", "1.00"), ("2026-Q2", "1.00"), ("2026-Q3", "1.00"),
                  ("2026-Q4", "1.00")], "2026", "5.00", id="year-given-beats-quarters"),
    pytest.param([("2025", "1200.00")], "2026-01", None, id="other-year-does-not-leak"),
    pytest.param([("2026", "1200.00")], "R30D", None, id="trailing-window"),
    pytest.param([("2026", "1200.00")], "2026-13", None, id="bad-month"),
    pytest.param([("2026", "1200.00")], "2026-Q5", None, id="bad-quarter"),
    pytest.param([("2026", "1200.00")], "2026-11-05", None, id="day"),
    pytest.param([("2026", "1200.00")], "", None, id="empty"),
])
def test_derivation_rules(entries: list[Entry], period: str, expected: str | None) -> None:
    got = book(*entries).resolve_own("rep", "r1", period, "revenue")
    assert got == (None if expected is None else D(expected))


def test_divisions_are_exact_not_rounded() -> None:
    b = book(("2026-Q4", "100.00"), ("2025", "100.00"))
    assert b.resolve_own("rep", "r1", "2026-10", "revenue") == CONTEXT.divide(D(100), D(3))
    assert str(b.resolve_own("rep", "r1", "2026-10", "revenue")) == "33.33333333333333333333333333"
    assert b.resolve_own("rep", "r1", "2025-07", "revenue") == CONTEXT.divide(D(100), D(12))  # 8.333…


def test_fields_resolve_independently() -> None:
    b = TargetBook()
    b.put("team", "t1", "2026-11", T0, "a", D("500.00"), None, None)
    b.put("team", "t1", "2026", T0, "b", D("6000.00"), 24, D("120000.00"))
    assert b.resolve_own("team", "t1", "2026-11", "revenue") == D("500.00")  # its own month
    assert b.resolve_own("team", "t1", "2026-11", "new_customers") == D(2)  # year / 12, not the month entry's None
    assert b.resolve_own("team", "t1", "2026-11", "market_size") == D(10000)
    assert b.given("team", "t1", "2026", "new_customers") == D(24)
    assert isinstance(b.given("team", "t1", "2026", "new_customers"), D)
    assert b.given("team", "t1", "2026-11", "market_size") is None


def test_scopes_and_ids_are_separate() -> None:
    b = TargetBook()
    b.put("rep", "x", "2026", T0, "a", D("12.00"), None, None)
    b.put("team", "x", "2026-Q1", T0, "b", D("3.00"), None, None)
    assert b.resolve_own("team", "x", "2026-01", "revenue") == D(1)
    assert b.resolve_own("rep", "x", "2026-01", "revenue") == D(1)
    assert b.resolve_own("rep", "x", "2026-04", "revenue") == D(1)
    assert b.resolve_own("team", "x", "2026-04", "revenue") is None
    assert b.resolve_own("rep", "y", "2026-01", "revenue") is None
    assert b.ids("rep") == {"x"} and b.ids("team") == {"x"} and b.ids("company") == set()


def test_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="occurred_at"):
        book(("2026", "1.00")).resolve_own("rep", "r1", "2026", "occurred_at")


def test_put_latest_wins_and_reports_change() -> None:
    b = TargetBook()
    later = T0 + timedelta(days=1)
    assert b.put("rep", "r1", "2026-11", later, "b", D("2"), None, None)
    assert not b.put("rep", "r1", "2026-11", T0, "z", D("1"), None, None)  # older occurred_at loses
    assert not b.put("rep", "r1", "2026-11", later, "b", D("9"), None, None)  # same key again: a repeat
    assert not b.put("rep", "r1", "2026-11", later, "a", D("3"), None, None)  # same time, smaller event_id
    assert b.put("rep", "r1", "2026-11", later, "c", D("4"), 7, None)  # same time, greater event_id
    assert b.given("rep", "r1", "2026-11", "revenue") == D("4")
    [entry] = b.entries()
    assert (entry.scope, entry.id, entry.period, entry.event_id, entry.new_customers) == (
        "rep", "r1", "2026-11", "c", 7)


def test_offsets_compare_as_instants() -> None:
    b = TargetBook()
    plus8 = timezone(timedelta(hours=8))
    assert b.put("rep", "r1", "2026", datetime(2026, 1, 1, 9, tzinfo=plus8), "z", D("1"), None, None)  # 01:00Z
    assert b.put("rep", "r1", "2026", datetime(2026, 1, 1, 2, tzinfo=UTC), "a", D("2"), None, None)
    assert b.given("rep", "r1", "2026", "revenue") == D("2")


money = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(money, min_size=12, max_size=12))
def test_months_add_up_to_quarters_and_year(months: list[D]) -> None:
    b = book(*[(f"2026-{i + 1:02d}", str(v)) for i, v in enumerate(months)])
    for q in range(4):
        assert b.resolve_own("rep", "r1", f"2026-Q{q + 1}", "revenue") == sum(months[3 * q:3 * q + 3], D(0))
    assert b.resolve_own("rep", "r1", "2026", "revenue") == sum(months, D(0))


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abc"), money), min_size=1, max_size=8), st.randoms())
def test_latest_wins_whatever_the_arrival_order(events: list[tuple[int, str, D]], rnd: random.Random) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    b = TargetBook()
    for minute, event_id, revenue in shuffled:
        b.put("rep", "r1", "2026-11", T0 + timedelta(minutes=minute), event_id, revenue, None, None)
    latest = max(events, key=lambda e: (e[0], e[1]))
    stored = b.entries()[0]
    assert (stored.occurred_at, stored.event_id) == (T0 + timedelta(minutes=latest[0]), latest[1])
    # Several events may share (time, id) only as repeats; the first to arrive stays.
    assert stored.revenue in {e[2] for e in events if (e[0], e[1]) == (latest[0], latest[1])}


# -- team and company sums -------------------------------------------------------------

def org_book() -> TargetBook:
    b = TargetBook()
    for i, (scope, id, period, revenue) in enumerate([
        ("rep", "r1", "2026-11", "100.00"),
        ("rep", "r2", "2026-Q4", "150.00"),   # 50 a month
        ("rep", "r5", "2026-11", "1.00"),
        ("team", "t3", "2026-11", "7.00"),
        ("team", "t4", "2026-11", "1000.00"),  # has no active members
    ]):
        b.put(scope, id, period, T0, f"e{i}", D(revenue), None, None)
    return b


MEMBERS = {"t1": ["r1", "r2", "r9"], "t2": ["r8"], "t3": ["r5", "r7"], "t4": [], "unassigned": ["r6"]}


@pytest.mark.parametrize("scope,id,members,expected", [
    pytest.param("rep", "r1", MEMBERS, "100.00", id="rep-own"),
    pytest.param("rep", "r2", MEMBERS, "50", id="rep-derived"),
    pytest.param("rep", "r9", MEMBERS, None, id="rep-none"),
    pytest.param("team", "t1", MEMBERS, "150.00", id="team-sums-members-missing-count-0"),
    pytest.param("team", "t2", MEMBERS, None, id="team-no-member-has-one"),
    pytest.param("team", "t3", MEMBERS, "7.00", id="team-own-beats-members"),
    pytest.param("team", "t9", MEMBERS, None, id="team-unknown"),
    pytest.param("company", "*", MEMBERS, "157.00", id="company-sums-teams-with-members"),
    pytest.param("company", "*", {"t4": ["r1"]}, "1000.00", id="company-team-own-target-counts"),
    pytest.param("company", "*", {"t2": ["r8"], "unassigned": ["r6"]}, None, id="company-no-team-resolves"),
    pytest.param("company", "*", {}, None, id="company-no-teams"),
])
def test_member_sums(scope: str, id: str, members: dict[str, list[str]], expected: str | None) -> None:
    got = resolve_revenue_target(org_book(), scope, id, "2026-11", members)
    assert got == (None if expected is None else D(expected))


def test_own_team_and_company_targets_win() -> None:
    b = org_book()
    b.put("company", "*", "2026", T0, "c", D("12000.00"), None, None)
    assert resolve_revenue_target(b, "company", "*", "2026-11", MEMBERS) == D(1000)
    # The team sum follows the period asked for: Q4 uses the reps' quarter targets.
    assert resolve_revenue_target(b, "team", "t1", "2026-Q4", MEMBERS) == D("150.00")


def test_unknown_scope_is_an_error() -> None:
    with pytest.raises(ValueError, match="scope"):
        resolve_revenue_target(org_book(), "region", "x", "2026-11", MEMBERS)


def test_a_resolved_target_follows_a_later_put() -> None:
    b = book(*MONTHS_Q1)
    assert b.resolve_own("rep", "r1", "2026-Q1", "revenue") == D("60.00")  # 10 + 20 + 30
    assert b.resolve_own("rep", "r1", "2026-Q1", "revenue") == D("60.00")
    b.put("rep", "r1", "2026-02", T0 + timedelta(days=1), "later", D("50.00"), None, None)
    assert b.resolve_own("rep", "r1", "2026-Q1", "revenue") == D("90.00")  # 10 + 50 + 30
    b.put("rep", "r1", "2026-Q1", T0, "q", D("75.00"), None, None)
    assert b.resolve_own("rep", "r1", "2026-02", "revenue") == D("50.00")  # given
    assert b.resolve_own("rep", "r1", "2026-Q1", "revenue") == D("75.00")  # given now
    assert b.resolve_own("rep", "r1", "2026", "revenue") is None  # Q2 to Q4 are missing
