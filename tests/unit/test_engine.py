"""Scenarios of the incremental engine with values worked out by hand from contract §3–§7."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from sales_scorecard.core.engine import Outcome, ScorecardEngine
from sales_scorecard.core.labels import period_kind
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, close_period, complaint, deal, roster, target


def build(*events: dict[str, Any]) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in events:
        engine.apply(record_from_event(ev))
    return engine


def kpis(engine: ScorecardEngine, scope: str, id: str, period: str) -> dict[str, Any]:
    rendered = engine.render(scope, id, period)
    assert rendered is not None
    return rendered["kpis"]


TEAMS = (roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"))


def test_local_midnight_belongs_to_the_new_month() -> None:
    # 2026-10-31T16:00:00Z is 2026-11-01 00:00 in Asia/Shanghai; one second earlier is still October.
    e = build(*TEAMS,
              deal("d1", "r1", "c1", "100000.00", closed_at="2026-10-31T16:00:00Z"),
              deal("d2", "r1", "c2", "50000.00", closed_at="2026-10-31T15:59:59Z"))
    assert kpis(e, "rep", "r1", "2026-11")["revenue"] == "100000.00"
    assert kpis(e, "rep", "r1", "2026-10")["revenue"] == "50000.00"
    assert kpis(e, "rep", "r1", "2026-Q4")["revenue"] == "150000.00"
    assert kpis(e, "team", "t1", "2026")["revenue"] == "150000.00"
    assert kpis(e, "company", "*", "2026-11")["won_deals"] == 1
    # growth vs October: (100000 - 50000) / 50000
    assert kpis(e, "rep", "r1", "2026-11")["growth_prev"] == 1.0
    assert kpis(e, "rep", "r1", "2026-10")["growth_prev"] is None  # September had no revenue


def test_versions_amendment_stale_reassignment_and_reversal() -> None:
    e = build(*TEAMS,
              deal("d1", "r1", "c1", "1000.00", closed_at="2026-11-05T10:00:00+08:00", customer_tier="A"),
              deal("d2", "r2", "c1", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    assert kpis(e, "rep", "r1", "2026-11")["new_customers"] == 1
    assert kpis(e, "rep", "r1", "2026-11")["new_customers_by_tier"]["A"] == 1
    assert kpis(e, "rep", "r2", "2026-11")["new_customers"] == 0
    # Reversal of d1: revenue gone, acquisition moves to d2 (r2).
    assert e.apply(record_from_event(deal("d1", "r1", "c1", "1000.00", stage="reversed", version=2,
                                          closed_at="2026-11-05T10:00:00+08:00"))) is Outcome.APPLIED
    # r1's only fact in November contributes nothing now: the key stops existing (as if
    # the deal had never been won), and take_dirty reports it so a tombstone is published.
    assert e.render("rep", "r1", "2026-11") is None
    assert ("rep", "r1", "2026-11") in e.take_dirty()
    assert kpis(e, "rep", "r2", "2026-11")["new_customers"] == 1
    assert kpis(e, "rep", "r2", "2026-11")["new_customers_by_tier"]["none"] == 1
    assert kpis(e, "company", "*", "2026-11")["new_customers"] == 1
    # A stale older version changes nothing.
    assert e.apply(record_from_event(deal("d1", "r1", "c1", "9999.00", version=1,
                                          closed_at="2026-11-05T10:00:00+08:00"))) is Outcome.STALE
    assert e.render("rep", "r1", "2026-11") is None
    # Amendment, then reassignment to r3 of team t2.
    e.apply(record_from_event(deal("d2", "r2", "c1", "800.00", version=2, closed_at="2026-11-10T10:00:00+08:00")))
    assert kpis(e, "rep", "r2", "2026-11")["revenue"] == "800.00"
    e.apply(record_from_event(deal("d2", "r3", "c1", "800.00", version=3, closed_at="2026-11-10T10:00:00+08:00")))
    assert e.render("rep", "r2", "2026-11") is None
    assert kpis(e, "rep", "r3", "2026-11")["revenue"] == "800.00"
    assert e.render("team", "t1", "2026-11") is None
    assert kpis(e, "team", "t2", "2026-11")["revenue"] == "800.00"
    assert kpis(e, "rep", "r3", "2026-11")["new_customers"] == 1
    assert kpis(e, "company", "*", "2026-11")["revenue"] == "800.00"


def test_duplicate_event_is_reported() -> None:
    ev = deal("d1", "r1", "c1", "10.00")
    e = build(*TEAMS, ev)
    assert e.apply(record_from_event(ev)) is Outcome.DUPLICATE
    act = activity("r1", "call", customer_id="c1")
    assert e.apply(record_from_event(act)) is Outcome.APPLIED
    assert e.apply(record_from_event(act)) is Outcome.DUPLICATE
    assert kpis(e, "rep", "r1", "2026-11")["activities"]["call"] == 1


def test_targets_attainment_commission_and_member_sums() -> None:
    e = build(roster("r1", "t1", territory_factor="1.5"), roster("r2", "t1"), roster("r3", "t2"),
              target("rep", "r1", "2026-11", "1000000.00"),
              target("rep", "r2", "2026", "120000.00"),
              deal("d1", "r1", "c1", "1200000.00", closed_at="2026-11-20T10:00:00+08:00"))
    r1 = kpis(e, "rep", "r1", "2026-11")
    assert r1["target"] == "1000000.00"
    assert r1["attainment"] == 1.2
    assert r1["weighted_attainment"] == 1.8  # 1.2 × territory factor 1.5
    assert r1["commission"] == "66000.00"  # 5% of 1,000,000 + 8% of 200,000 (contract §7)
    # r2: year 120,000 -> quarter 30,000 -> month 10,000; only the year has a scorecard
    # until a fact arrives (a key exists by a fact or a target naming it)
    assert kpis(e, "rep", "r2", "2026")["target"] == "120000.00"
    assert e.render("rep", "r2", "2026-Q4") is None
    e.apply(record_from_event(deal("d9", "r2", "c9", "1.00", closed_at="2026-11-20T10:00:00+08:00")))
    assert kpis(e, "rep", "r2", "2026-Q4")["target"] == "30000.00"
    assert kpis(e, "rep", "r2", "2026-11")["target"] == "10000.00"
    # Team t1 = r1 (1,000,000) + r2 (10,000); t2 has no member with a target -> null.
    assert kpis(e, "team", "t1", "2026-11")["target"] == "1010000.00"
    e.apply(record_from_event(deal("d8", "r3", "c8", "1.00", closed_at="2026-11-20T10:00:00+08:00")))
    assert kpis(e, "team", "t2", "2026-11")["target"] is None
    # Company = sum of teams that resolve.
    assert kpis(e, "company", "*", "2026-11")["target"] == "1010000.00"


def test_repeat_customers_follow_every_win_of_the_customer_and_its_retraction() -> None:
    """Contract §5: a customer won in P counts as repeat if any rep won it in the 365 days
    before P's start; a second win makes a customer a candidate, losing it undoes that."""
    nov = "2026-11-20T10:00:00+08:00"
    e = build(*TEAMS, deal("d1", "r1", "c1", "10.00", closed_at=nov), deal("d2", "r1", "c2", "10.00", closed_at=nov),
              deal("d3", "r1", "c3", "10.00", closed_at="2026-11-21T10:00:00+08:00"))
    assert kpis(e, "rep", "r1", "2026-11")["repeat_customer_rate"] == 0.0  # 0 of 3: each won once
    # c1 was won by another rep in May, c3 again in the same month (not before its start)
    e.apply(record_from_event(deal("d4", "r3", "c1", "5.00", closed_at="2026-05-02T10:00:00+08:00")))
    e.apply(record_from_event(deal("d5", "r2", "c3", "5.00", closed_at="2026-11-25T10:00:00+08:00")))
    assert kpis(e, "rep", "r1", "2026-11")["repeat_customer_rate"] == 0.3333
    assert kpis(e, "team", "t1", "2026-11")["repeat_customer_rate"] == 0.3333  # c1 of c1, c2, c3
    # a win more than 365 days before the start does not count; within them it does
    e.apply(record_from_event(deal("d6", "r3", "c2", "5.00", closed_at="2025-10-30T10:00:00+08:00")))
    assert kpis(e, "rep", "r1", "2026-11")["repeat_customer_rate"] == 0.3333
    e.apply(record_from_event(deal("d6", "r3", "c2", "5.00", version=2, closed_at="2025-11-02T10:00:00+08:00")))
    assert kpis(e, "rep", "r1", "2026-11")["repeat_customer_rate"] == 0.6667
    # May's win of c1 lost, then c1's only win is November's: no longer repeat
    e.apply(record_from_event(deal("d4", "r3", "c1", "5.00", stage="lost", version=2,
                                   closed_at="2026-05-02T10:00:00+08:00")))
    assert kpis(e, "rep", "r1", "2026-11")["repeat_customer_rate"] == 0.3333
    # the May deal won again, for another customer: c1 stays single, c4 is new in May
    e.apply(record_from_event(deal("d4", "r3", "c4", "5.00", version=3, closed_at="2026-05-02T10:00:00+08:00")))
    assert kpis(e, "rep", "r1", "2026-11")["repeat_customer_rate"] == 0.3333
    assert kpis(e, "rep", "r3", "2026-05")["repeat_customer_rate"] == 0.0


def test_new_hire_ramp_follows_roster_entries_arriving_between_renders() -> None:
    """Contract §5 ``new_hire_ramp``: the members at P's end hired two months before P;
    each roster entry between two renders can move who that is."""
    sep = "2026-09-10T10:00:00+08:00"
    e = build(roster("r1", "t1"), roster("r7", "t1", effective_at=sep, hired_at=sep),
              roster("r8", "t2", effective_at=sep, hired_at=sep),
              deal("g1", "r7", "c1", "10000.00", closed_at="2026-09-20T10:00:00+08:00"),
              deal("g2", "r7", "c2", "25000.00", closed_at="2026-11-20T10:00:00+08:00"),
              deal("g3", "r8", "c3", "4000.00", closed_at="2026-09-21T10:00:00+08:00"),
              deal("g4", "r8", "c4", "2000.00", closed_at="2026-11-21T10:00:00+08:00"))
    assert kpis(e, "team", "t1", "2026-11")["new_hire_ramp"] == 2.5  # r7: 25,000 / 10,000
    assert kpis(e, "company", "*", "2026-11")["new_hire_ramp"] == 1.5  # mean of 2.5 and r8's 0.5
    # r8 moves to t1 in October: t1's November now has both
    e.apply(record_from_event(roster("r8", "t1", effective_at="2026-10-05T00:00:00+08:00", hired_at=sep)))
    assert kpis(e, "team", "t1", "2026-11")["new_hire_ramp"] == 1.5
    # r7's hire date corrected to August (an entry at the same instant, later by event id):
    # no longer in the cohort of September
    e.apply(record_from_event(roster("r7", "t1", effective_at=sep, hired_at="2026-08-10T10:00:00+08:00",
                                     event_id="~r7-corrected")))
    assert kpis(e, "team", "t1", "2026-11")["new_hire_ramp"] == 0.5
    assert kpis(e, "company", "*", "2026-11")["new_hire_ramp"] == 0.5
    # r8 leaves before November's end: nobody of the cohort is a member at its end
    e.apply(record_from_event(roster("r8", "t1", status="left", effective_at="2026-11-25T00:00:00+08:00",
                                     hired_at=sep)))
    assert kpis(e, "team", "t1", "2026-11")["new_hire_ramp"] is None


def test_zero_denominators_are_null() -> None:
    e = build(*TEAMS, deal("d1", "r1", "c1", "100.00", stage="lost", closed_at="2026-11-03T10:00:00+08:00"))
    k = kpis(e, "rep", "r1", "2026-11")
    assert k["won_deals"] == 0 and k["lost_deals"] == 1
    assert k["win_rate"] == 0.0
    for name in ("avg_deal_size", "attainment", "csat", "complaint_rate", "avg_cycle_days", "repeat_customer_rate",
                 "avg_resolution_hours", "growth_prev", "growth_yoy"):
        assert k[name] is None, name
    assert k["customers_served"] == 0


def test_roster_history_reattributes_teams() -> None:
    e = build(roster("r1", "t1", effective_at="2026-01-01T00:00:00+08:00"),
              roster("r1", "t2", effective_at="2026-11-15T00:00:00+08:00"),
              deal("d1", "r1", "c1", "100.00", closed_at="2026-11-10T10:00:00+08:00"),
              deal("d2", "r1", "c2", "200.00", closed_at="2026-11-20T10:00:00+08:00"))
    assert kpis(e, "team", "t1", "2026-11")["revenue"] == "100.00"
    assert kpis(e, "team", "t2", "2026-11")["revenue"] == "200.00"
    # A late roster fact moving r1 to t3 from Nov 5 re-attributes the Nov 10 deal.
    e.apply(record_from_event(roster("r1", "t3", effective_at="2026-11-05T00:00:00+08:00")))
    assert e.render("team", "t1", "2026-11") is None  # t1 had no other fact: no scorecard
    assert kpis(e, "team", "t3", "2026-11")["revenue"] == "100.00"
    assert e.render("rep", "r1", "2026-11")["team_id"] == "t2"


def test_unknown_rep_goes_to_unassigned() -> None:
    e = build(deal("d1", "ghost", "c1", "5.00"))
    assert kpis(e, "team", "unassigned", "2026-11")["revenue"] == "5.00"
    assert e.render("rep", "ghost", "2026-11")["team_id"] == "unassigned"


def test_customer_and_activity_kpis() -> None:
    e = build(*TEAMS,
              deal("d0", "r1", "c1", "10.00", closed_at="2026-10-10T10:00:00+08:00"),
              activity("r1", "call", customer_id="c1"), activity("r1", "call", customer_id="c1"),
              activity("r1", "visit", customer_id="c1", effective=False),
              activity("r1", "email", customer_id="c2"),
              activity("r1", "survey", score=4), activity("r1", "survey", score=5),
              activity("r1", "training", duration_minutes=90),
              activity("r1", "campaign", campaign_id="x"), activity("r1", "campaign", campaign_id="x"),
              complaint("k1", "r1", "c1", severity="critical", status="resolved",
                        opened_at="2026-11-05T09:00:00+08:00", resolved_at="2026-11-06T09:00:00+08:00"))
    k = kpis(e, "rep", "r1", "2026-11")
    assert k["activities"]["call"] == 2 and k["activities"]["visit"] == 1
    assert k["activities"]["effective_contacts"] == 3  # two calls + one email
    assert k["customers_served"] == 2  # c1, c2 by contact
    assert k["complaints"] == 1 and k["complaints_by_severity"]["critical"] == 1
    assert k["complaint_rate"] == 0.5
    assert k["avg_resolution_hours"] == 24.0
    assert k["csat"] == 4.5 and k["csat_responses"] == 2
    assert k["training_hours"] == 1.5
    assert k["campaigns"] == 1
    # Book = {c1} (won in October); c1 got 2 effective contacts in November.
    assert k["contact_coverage"] == 1.0
    assert kpis(e, "rep", "r1", "2026-Q4")["contact_coverage"] is None


@pytest.mark.parametrize(("keep_covered_from", "kept_first", "kept_later"), [(64, False, False), (0, True, True),
                                                                            (3, False, True)])
def test_contact_coverage_follows_wins_between_renders(keep_covered_from: int, kept_first: bool, kept_later: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The book kept between renders (core/book_counts.py) moves with each win that enters
    or leaves a scope; values by hand from contract §5, then equal to a fresh engine's.
    With ``keep_covered_from`` 0 the team's and the company's covered customers are kept
    too (``CoveredCounts``, for large books in the worker) and move with the wins; with 3,
    from the render after their November book grows from two customers to three."""
    monkeypatch.setattr("sales_scorecard.core.engine.KEEP_COVERED_FROM", keep_covered_from)
    nov, oct_ = "2026-11", "2026-10"

    def coverage(engine: ScorecardEngine, scope: str, id: str, period: str = nov) -> float | None:
        value: float | None = kpis(engine, scope, id, period)["contact_coverage"]
        return value

    def kept(engine: ScorecardEngine) -> list[bool]:  # the team's and the company's November counts
        return [engine._covered.get(scope, nov) is not None for scope in (("team", "t1"), ("company", "*"))]

    called = (("c1", "2026-11-05T09:00:00+08:00"), ("c2", "2026-11-06T09:00:00+08:00"),
              ("c2", "2026-10-06T09:00:00+08:00"))
    two_calls = [activity("r1", "call", customer_id=c, occurred_at=at) for c, at in called for _ in range(2)]
    facts = [*TEAMS,
             deal("d1", "r1", "c1", "10.00", closed_at="2026-10-10T10:00:00+08:00"),
             deal("d2", "r1", "c2", "10.00", closed_at="2025-11-15T10:00:00+08:00"),  # out of November's year
             deal("d3", "r2", "c3", "10.00", closed_at="2026-11-03T10:00:00+08:00"),
             activity("r2", "call", customer_id="c3"), *two_calls]
    e = build(*facts)
    # r1: November's book {c1} (c2's win is 2025-11-15, before 2025-12-01), c1 called twice;
    # October's {c1, c2}, c2 called twice in October. t1: {c1, c3}, c3 called once.
    assert (coverage(e, "rep", "r1"), coverage(e, "rep", "r1", oct_)) == (1.0, 0.5)
    assert (coverage(e, "team", "t1"), coverage(e, "company", "*")) == (0.5, 0.5)
    assert kept(e) == [kept_first] * 2  # books of two customers

    def then(*events: dict[str, Any]) -> None:
        for event in events:
            facts.append(event)
            e.apply(record_from_event(event))

    then(deal("d4", "r1", "c4", "10.00", closed_at="2026-11-20T10:00:00+08:00"))  # c4, never called
    assert (coverage(e, "rep", "r1"), coverage(e, "rep", "r1", oct_)) == (0.5, 0.5)
    assert (coverage(e, "team", "t1"), coverage(e, "company", "*")) == (0.3333, 0.3333)
    assert kept(e) == [kept_later] * 2  # books of three: kept from this render with the threshold at 3
    then(deal("d1", "r2", "c1", "10.00", version=2, closed_at="2026-10-10T10:00:00+08:00"))  # c1 moves to r2
    assert (coverage(e, "rep", "r1"), coverage(e, "rep", "r1", oct_)) == (0.0, 1.0)  # {c4}; October {c2}
    assert coverage(e, "rep", "r2") == 0.0  # {c1, c3}: r2 called c3 once and c1 never
    assert coverage(e, "team", "t1") == 0.3333  # the team's book and calls did not change
    then(deal("d5", "r1", "c2", "10.00", closed_at="2026-11-25T10:00:00+08:00"))  # c2 won again, in the year
    assert coverage(e, "rep", "r1") == 0.5  # {c4, c2}
    # t1 and the company: {c1, c2, c3, c4}, c1 and c2 called twice in November
    assert (coverage(e, "team", "t1"), coverage(e, "company", "*")) == (0.5, 0.5)
    then(deal("d5", "r1", "c2", "10.00", stage="reversed", version=2, closed_at="2026-11-25T10:00:00+08:00"))
    assert (coverage(e, "rep", "r1"), coverage(e, "rep", "r1", oct_)) == (0.0, 1.0)  # c2's 2025 win stays out
    assert (coverage(e, "team", "t1"), coverage(e, "company", "*")) == (0.3333, 0.3333)
    then(activity("r2", "call", customer_id="c3", occurred_at="2026-11-21T09:00:00+08:00"))  # c3's second call
    assert (coverage(e, "team", "t1"), coverage(e, "company", "*")) == (0.6667, 0.6667)  # {c1, c3} of 3
    fresh = build(*facts)
    for scope, id in (("rep", "r1"), ("rep", "r2"), ("team", "t1"), ("company", "*")):
        for period in (nov, oct_):
            assert coverage(e, scope, id, period) == coverage(fresh, scope, id, period), (scope, id, period)


def test_close_period_marks_final() -> None:
    e = build(*TEAMS, deal("d1", "r1", "c1", "10.00"))
    assert e.render("rep", "r1", "2026-11")["final"] is False
    e.take_dirty()
    e.apply(record_from_event(close_period("2026-11")))
    assert ("rep", "r1", "2026-11") in e.take_dirty()
    assert e.render("rep", "r1", "2026-11")["final"] is True
    assert e.render("rep", "r1", "2026-Q4")["final"] is False


@pytest.mark.parametrize("label", ["2026-11", "2026-Q4", "2026", "R30D", "R90D"])
def test_every_period_kind_renders(label: str) -> None:
    e = build(*TEAMS, deal("d1", "r1", "c1", "10.00"))
    rendered = e.render("rep", "r1", label)
    assert rendered is not None and rendered["kpis"]["revenue"] == "10.00"


def test_clock_moves_pace_without_new_facts() -> None:
    from datetime import datetime

    e = build(*TEAMS, target("rep", "r1", "2026-11", "3000.00"),
              deal("d1", "r1", "c1", "1000.00", closed_at="2026-11-10T16:00:00Z"))  # 11 Nov local
    e.take_dirty()
    # 10 of 30 days elapsed at local midnight of 11 Nov: expected 1000, pace 1.0
    e.wall_clock = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)
    e.touch_clock()
    assert ("rep", "r1", "2026-11") in e.take_dirty()
    assert kpis(e, "rep", "r1", "2026-11")["pace"] == 1.0
    # 20 days elapsed, no new deal: the rep falls behind (pace 0.5)
    e.wall_clock = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    e.touch_clock()
    dirty = e.take_dirty()
    assert ("rep", "r1", "2026-11") in dirty and ("rep", "r1", "2026-10") not in dirty
    assert kpis(e, "rep", "r1", "2026-11")["pace"] == 0.5
    assert kpis(e, "rep", "r1", "2026-11")["expected_to_date"] == "2000.00"


def test_departure_needs_an_active_entry_before_it() -> None:
    e = build(roster("r1", "t1", effective_at="2026-01-01T00:00:00+08:00"),
              roster("r1", "t1", status="left", effective_at="2026-11-10T00:00:00+08:00"),
              roster("r2", "t1", status="left", effective_at="2026-11-12T00:00:00+08:00"),  # never active on record
              deal("d1", "r3", "c1", "1.00"), roster("r3", "t1"))
    assert kpis(e, "team", "t1", "2026-11")["departures"] == 1


def test_clock_rolling_into_a_new_month_renders_the_old_one_once_more() -> None:
    from datetime import datetime

    e = build(*TEAMS, deal("d1", "r1", "c1", "10.00", closed_at="2026-11-10T10:00:00+08:00"))
    e.take_dirty()
    e.wall_clock = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 December, 01:00 local
    e.touch_clock()
    assert ("rep", "r1", "2026-11") in e.take_dirty()


def test_take_dirty_gives_months_first_then_longer_periods() -> None:
    """The worker flushes in this order, so month scorecards are published first."""
    e = ScorecardEngine("Asia/Shanghai")
    for rep in ("r2", "r1"):
        e.apply(record_from_event(deal(f"D-{rep}", rep, "c1", "100.00")))
    keys = e.take_dirty()
    kinds = [period_kind(label) for _, _, label in keys]
    assert [k[:2] for k in keys[:4]] == [("rep", "r1"), ("rep", "r2"), ("team", "unassigned"), ("company", "*")]
    assert kinds[:4] == ["month"] * 4 and "month" not in kinds[4:]
    assert set(kinds[4:]) == {"quarter", "year", "R30D", "R90D"}
    assert kinds.index("quarter") < kinds.index("year") < min(kinds.index("R30D"), kinds.index("R90D"))


def test_keys_given_back_are_taken_again_withdrawals_included() -> None:
    """A flush that could not publish some keys gives them back; the next take returns
    them, and a key that stopped existing is still returned (as a withdrawal)."""
    e = build(deal("D1", "r1", "c1", "100.00"))
    e.take_dirty()
    e.apply(record_from_event(deal("D1", "r2", "c1", "100.00", version=2)))  # r1 loses its only deal
    taken = e.take_dirty()
    assert ("rep", "r1", "2026-11") in taken and e.render("rep", "r1", "2026-11") is None
    assert e.take_dirty() == []
    e.give_back(taken)
    assert e.take_dirty() == taken


def test_scored_under_other_plans_is_scored_of_each_view(tmp_path) -> None:
    from sales_scorecard.cli.simulation import SimulationConfig, simulate
    from tests.unit.test_whatif import ATTAINMENT_ONLY, six_nine

    candidate = six_nine(tmp_path)
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in simulate(SimulationConfig(seed=4, reps=12, teams=2, months=3, start_month="2026-09")):
        engine.apply(record_from_event(ev))
    views = (engine.with_plans(candidate.scorecard, candidate.commission),
             engine.with_plans(ATTAINMENT_ONLY, engine.commission_plans))
    keys = engine.all_keys()
    assert {scope for scope, _, _ in keys} == {"rep", "team", "company"} and any(k[2] == "R30D" for k in keys)
    commissions = set()
    for key in keys:
        both = engine.scored_under(views, *key)
        assert both == [engine.scored(*key), views[0].scored(*key), views[1].scored(*key)], key
        if key[0] == "rep" and period_kind(key[2]) == "month" and both is not None:
            commissions.add(both[0][1]["commission"] != both[1][1]["commission"])
    assert commissions == {True, False}  # the candidate pays more where something was sold
    assert engine.scored_under(views, "rep", "nobody", "2026-09") is None
