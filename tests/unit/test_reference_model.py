"""Hand-computed scenarios for the reference model (they double as worked examples of contract §5–§7).

Every expected number below was computed by hand from docs/contract.md;
the comments show the arithmetic. Time zone Asia/Shanghai (UTC+8) unless stated.
"""

from __future__ import annotations

from typing import Any

from tests.factories import activity, complaint, deal, roster, target
from tests.reference.model import ReferenceModel

NOV = "2026-11"


def _with_id(ev: dict[str, Any], event_id: str, **changes: Any) -> dict[str, Any]:
    """A copy of an event with a chosen event_id and other fields changed."""
    return {**ev, "event_id": event_id, **changes}


# --------------------------------------------------------------------------- deals, commission, score
def test_spec_commission_example_and_deal_kpis() -> None:
    d1 = deal("d1", "r1", "c1", "600000.00", closed_at="2026-11-10T10:00:00+08:00",
              created_at="2026-11-01T10:00:00+08:00", customer_tier="A")  # cycle 9 days
    d2_v2 = deal("d2", "r1", "c2", "600000.00", version=2, closed_at="2026-11-20T10:00:00+08:00",
                 created_at="2026-11-15T22:00:00+08:00")  # cycle 4.5 days
    d2_v1_stale = deal("d2", "r1", "c2", "1.00", version=1, closed_at="2026-11-20T10:00:00+08:00")
    d3 = deal("d3", "r1", "c3", "50000.00", stage="lost", closed_at="2026-11-12T10:00:00+08:00")
    events = [roster("r1", "t1"), target("rep", "r1", NOV, "1000000.00"),
              d1, d2_v2, d2_v1_stale, d1, d3]  # d1 twice: a duplicate; d2 v1 arrives late: stale
    m = ReferenceModel(events)

    k = m.kpis("rep", "r1", NOV)
    assert k["revenue"] == "1200000.00"
    assert k["target"] == "1000000.00"
    assert k["attainment"] == 1.2
    assert k["weighted_attainment"] == 1.2  # territory factor defaults to 1.0
    assert (k["won_deals"], k["lost_deals"], k["win_rate"]) == (2, 1, 0.6667)
    assert k["avg_deal_size"] == "600000.00"
    assert k["avg_cycle_days"] == 6.75  # (9 + 4.5) / 2
    assert k["new_customers"] == 2
    assert k["new_customers_by_tier"] == {"A": 1, "B": 0, "C": 0, "none": 1}
    # contract §7: 5% of 1,000,000.00 + 8% of the 200,000.00 above target.
    assert k["commission"] == "66000.00"
    assert k["growth_prev"] is None  # October revenue is 0
    assert k["repeat_customer_rate"] == 0.0
    assert k["customers_served"] == 2
    assert k["complaint_rate"] == 0.0
    assert k["contact_coverage"] == 0.0  # book {c1, c2}, no contacts
    assert k["training_hours"] == 0.0
    assert k["csat"] is None and k["csat_responses"] == 0
    assert k["tenure_months"] == 11  # hired 2026-01-01 00:00, P ends 2026-12-01 00:00
    assert k["market_share"] is None and k["headcount"] is None and k["new_hire_ramp"] is None
    # Score: weighted_attainment 1 (cap) ×40, win_rate 1 ×10, new_customers 2/2 ×10, complaint_rate 0 -> 1 ×10,
    # contact_coverage 0 ×10, training_hours 0 ×10; csat null is left out: 100 × 70 / 90.
    assert k["score"] == 77.7778

    q = m.kpis("rep", "r1", "2026-Q4")
    assert q["revenue"] == "1200000.00"
    assert q["target"] is None and q["attainment"] is None  # only the November target is given
    assert q["commission"] == "66000.00"  # Σ of Oct (0), Nov, Dec (0)
    assert q["contact_coverage"] is None

    team = m.kpis("team", "t1", NOV)
    assert team["target"] == "1000000.00"  # summed from the one active member
    assert team["weighted_attainment"] == 1.2
    assert team["commission"] is None and team["tenure_months"] is None
    assert (team["headcount"], team["departures"], team["turnover_rate"]) == (1, 0, 0.0)
    assert team["market_size"] is None and team["market_share"] is None
    assert team["score"] == 77.7778
    assert m.kpis("company", "*", NOV)["target"] == "1000000.00"

    assert m.keys() == {(s, i, p) for s, i in (("rep", "r1"), ("team", "t1"), ("company", "*"))
                        for p in (NOV, "2026-Q4", "2026")}


def test_commission_without_target_is_five_percent_and_quarter_sums_rounded_months() -> None:
    events = [roster("r1", "t1"),
              deal("a", "r1", "c1", "100.10", closed_at="2026-10-03T10:00:00+08:00"),
              deal("b", "r1", "c1", "100.10", closed_at="2026-11-03T10:00:00+08:00")]
    m = ReferenceModel(events)
    # 5.005 rounds half-up to 5.01 in each month; the quarter is 5.01 + 5.01, not round(10.01).
    assert m.kpis("rep", "r1", "2026-10")["commission"] == "5.01"
    assert m.kpis("rep", "r1", "2026-Q4")["commission"] == "10.02"
    assert m.kpis("rep", "r1", "2026-11")["repeat_customer_rate"] == 1.0  # c1 bought in October


def test_the_8_percent_band_needs_good_service() -> None:
    """Contract §11 default plan: above target 8 % only with csat >= 4.5; no survey: 8 %."""
    def month(*scores: int) -> str:
        events = [roster("r1", "t1"), target("rep", "r1", "2026-11", "1000000.00"),
                  deal("d1", "r1", "c1", "1200000.00", closed_at="2026-11-05T10:00:00+08:00")]
        events += [activity("r1", "survey", occurred_at=f"2026-11-{6 + i:02d}T09:00:00+08:00", score=s)
                   for i, s in enumerate(scores)]
        events.append(activity("r1", "survey", occurred_at="2026-12-01T09:00:00+08:00", score=1))  # next month
        return ReferenceModel(events).kpis("rep", "r1", "2026-11")["commission"]
    assert month(4) == "60000.00"     # 1,200,000 x 5 %
    assert month(5) == "66000.00"     # 50,000 + 200,000 x 8 %
    assert month() == "66000.00"      # no survey in November
    assert month(4, 5) == "66000.00"  # mean 4.5 holds
    assert month(4, 4, 5) == "60000.00"  # mean 4.33


# --------------------------------------------------------------------------- acquisition
def test_reversal_moves_acquisition_to_the_next_won_deal() -> None:
    base = [roster("r1", "t1"), roster("r2", "t2"),
            deal("a1", "r1", "c1", "100.00", closed_at="2026-10-05T10:00:00+08:00"),
            deal("a2", "r2", "c1", "300.00", closed_at="2026-11-10T10:00:00+08:00", customer_tier="B")]
    before = ReferenceModel(base)
    assert before.kpis("rep", "r1", "2026-10")["new_customers"] == 1
    assert before.kpis("rep", "r2", NOV)["new_customers"] == 0
    assert before.kpis("rep", "r2", NOV)["repeat_customer_rate"] == 1.0  # c1 won in October by r1
    assert before.kpis("company", "*", "2026-Q4")["new_customers"] == 1

    reversal = deal("a1", "r1", "c1", "100.00", stage="reversed", version=2, closed_at="2026-10-05T10:00:00+08:00")
    after = ReferenceModel([reversal] + base)  # order does not matter: version 2 wins
    r2 = after.kpis("rep", "r2", NOV)
    assert r2["new_customers"] == 1
    assert r2["new_customers_by_tier"] == {"A": 0, "B": 1, "C": 0, "none": 0}
    assert r2["repeat_customer_rate"] == 0.0
    assert after.kpis("team", "t2", NOV)["new_customers"] == 1
    assert after.kpis("rep", "r1", "2026-10")["revenue"] == "0.00"
    assert after.kpis("rep", "r1", "2026-10")["new_customers"] == 0
    assert after.kpis("company", "*", "2026-Q4")["new_customers"] == 1
    assert after.kpis("company", "*", "2026-Q4")["revenue"] == "300.00"
    keys = after.keys()
    assert ("rep", "r1", "2026-10") not in keys and ("company", "*", "2026-10") not in keys
    assert ("rep", "r2", NOV) in keys


def test_acquisition_tie_on_closed_at_goes_to_the_smaller_deal_id() -> None:
    at = "2026-11-10T10:00:00+08:00"
    m = ReferenceModel([roster("r1", "t1"), roster("r2", "t1"),
                        deal("x2", "r1", "c1", "10.00", closed_at=at), deal("x1", "r2", "c1", "10.00", closed_at=at)])
    assert m.kpis("rep", "r2", NOV)["new_customers"] == 1
    assert m.kpis("rep", "r1", NOV)["new_customers"] == 0
    assert m.kpis("team", "t1", NOV)["new_customers"] == 1
    assert m.kpis("team", "t1", NOV)["customers_served"] == 1


# --------------------------------------------------------------------------- periods and time zone
def _midnight_events() -> list[dict[str, Any]]:
    return [roster("r1", "t1", effective_at="2025-01-01T00:00:00+08:00"),
            deal("m1", "r1", "c1", "100.00", closed_at="2026-11-30T16:00:00Z"),  # 2026-12-01 00:00 local
            deal("m2", "r1", "c2", "200.00", closed_at="2026-09-30T16:00:00Z"),  # 2026-10-01 00:00 local
            deal("m3", "r1", "c3", "400.00", closed_at="2026-09-30T15:59:59Z"),  # 2026-09-30 23:59:59 local
            deal("m0", "r1", "c4", "50.00", closed_at="2025-12-10T10:00:00+08:00")]


def test_event_exactly_at_local_midnight_belongs_to_the_new_month() -> None:
    m = ReferenceModel(_midnight_events())
    rev = {p: m.kpis("rep", "r1", p)["revenue"]
           for p in ("2026-09", "2026-10", "2026-11", "2026-12", "2026-Q3", "2026-Q4", "2026")}
    assert rev == {"2026-09": "400.00", "2026-10": "200.00", "2026-11": "0.00", "2026-12": "100.00",
                   "2026-Q3": "400.00", "2026-Q4": "300.00", "2026": "700.00"}
    assert m.kpis("rep", "r1", "2026-10")["growth_prev"] == -0.5  # (200 − 400) / 400
    assert m.kpis("rep", "r1", "2026-Q4")["growth_prev"] == -0.25  # (300 − 400) / 400
    assert m.kpis("rep", "r1", "2026-12")["growth_prev"] is None  # November is 0
    assert m.kpis("rep", "r1", "2026-12")["growth_yoy"] == 1.0  # (100 − 50) / 50
    assert m.kpis("rep", "r1", "2026")["growth_prev"] == 13.0  # (700 − 50) / 50
    rep_periods = {p for s, i, p in m.keys() if s == "rep"}
    assert rep_periods == {"2025-12", "2025-Q4", "2025", "2026-09", "2026-10", "2026-12", "2026-Q3", "2026-Q4", "2026"}


def test_other_time_zone_moves_the_boundaries() -> None:
    m = ReferenceModel(_midnight_events(), timezone="UTC")
    assert m.kpis("rep", "r1", "2026-09")["revenue"] == "600.00"
    assert m.kpis("rep", "r1", "2026-10")["revenue"] == "0.00"
    assert m.kpis("rep", "r1", "2026-11")["revenue"] == "100.00"


# --------------------------------------------------------------------------- roster
def test_reassignment_roster_move_territory_factor_and_turnover() -> None:
    hired = "2025-03-15T10:00:00+08:00"
    events = [
        roster("r1", "t1", hired_at=hired),
        roster("r1", "t2", effective_at="2026-11-15T00:00:00+08:00", hired_at=hired, territory_factor="1.5"),
        roster("r2", "t2"),
        roster("r4", "t1"),
        roster("r4", "t1", status="left", effective_at="2026-11-20T00:00:00+08:00"),
        target("rep", "r1", NOV, "2000.00"),
        deal("e1", "r1", "c1", "1000.00", closed_at="2026-11-10T10:00:00+08:00"),  # r1 in t1
        deal("e2", "r1", "c2", "3000.00", closed_at="2026-11-20T10:00:00+08:00"),  # r1 in t2
        activity("r1", "call", occurred_at="2026-11-15T00:00:00+08:00", customer_id="c9"),  # t2: entry in force
        activity("r1", "call", occurred_at="2026-11-14T23:59:59+08:00", customer_id="c9"),  # still t1
        deal("f1", "r2", "c5", "500.00", closed_at="2026-11-12T10:00:00+08:00"),
        deal("f1", "r4", "c5", "500.00", version=2, closed_at="2026-11-12T10:00:00+08:00"),  # reassigned to r4
    ]
    m = ReferenceModel(events)
    r1 = m.kpis("rep", "r1", NOV)
    assert r1["revenue"] == "4000.00"
    assert r1["attainment"] == 2.0
    assert r1["weighted_attainment"] == 3.0  # × 1.5, the factor of the entry at November's end
    assert r1["commission"] == "260.00"  # 5% × 2000 + 8% × 2000
    assert r1["tenure_months"] == 20  # 2025-03-15 10:00 → 2026-12-01 00:00
    assert r1["activities"]["call"] == 2
    assert m.kpis("rep", "r1", "2026-10")["weighted_attainment"] is None  # no October target
    assert m.kpis("rep", "r4", NOV)["revenue"] == "500.00"
    assert m.kpis("rep", "r2", NOV)["revenue"] == "0.00"
    assert ("rep", "r2", NOV) not in m.keys()

    t1, t2, co = m.kpis("team", "t1", NOV), m.kpis("team", "t2", NOV), m.kpis("company", "*", NOV)
    assert (t1["revenue"], t2["revenue"], co["revenue"]) == ("1500.00", "3000.00", "4500.00")
    assert (t1["activities"]["call"], t2["activities"]["call"]) == (1, 1)
    assert (t1["customers_served"], t2["customers_served"]) == (3, 2)  # {c1, c5, c9}, {c2, c9}
    # Headcount at the start (entries before Nov 1): t1 {r1, r4}, t2 {r2}; at the end: t1 {}, t2 {r1, r2}.
    assert (t1["headcount"], t1["departures"], t1["turnover_rate"]) == (0, 1, 1.0)  # 1 / mean(2, 0)
    assert (t2["headcount"], t2["departures"], t2["turnover_rate"]) == (2, 0, 0.0)
    assert (co["headcount"], co["departures"], co["turnover_rate"]) == (2, 1, 0.4)  # 1 / mean(3, 2)
    # Targets at November's end: t1 has no active member -> null; t2 = r1's 2000 + r2's none.
    assert t1["target"] is None
    assert (t2["target"], t2["attainment"]) == ("2000.00", 1.5)
    assert (co["target"], co["attainment"]) == ("2000.00", 2.25)


def test_transfer_mid_month_team_and_manager_at_period_end_and_boards() -> None:
    """A rep scorecard shows the team and manager at P's end; a team board of P ranks the
    reps with a scorecard in P whose team at P's end is the team (contract §6 ranks: 1, 1, 3)."""
    events = [
        roster("r1", "t1", manager_id="m1"),
        roster("r1", "t2", manager_id="m2", effective_at="2026-11-16T00:00:00+08:00"),
        roster("r2", "t1", manager_id="m1"), roster("r3", "t2", manager_id="m2"), roster("r4", "t1", manager_id="m1"),
        deal("h1", "r1", "c1", "1000.00", closed_at="2026-11-10T10:00:00+08:00"),  # r1 in t1
        deal("h2", "r1", "c2", "500.00", closed_at="2026-11-16T00:00:00+08:00"),  # at the transfer instant: t2
        deal("h3", "r1", "c3", "200.00", closed_at="2026-10-05T10:00:00+08:00"),
        deal("h4", "r2", "c4", "200.00", closed_at="2026-10-06T10:00:00+08:00"),
        deal("h5", "r4", "c5", "100.00", closed_at="2026-10-07T10:00:00+08:00"),
        deal("h6", "r2", "c6", "800.00", closed_at="2026-11-03T10:00:00+08:00"),
        deal("h7", "r3", "c7", "1500.00", closed_at="2026-11-20T10:00:00+08:00"),
        deal("h8", "ghost", "c8", "50.00", closed_at="2026-11-21T10:00:00+08:00"),
    ]
    m = ReferenceModel(events)
    assert m.team_and_manager("r1", "2026-10") == ("t1", "m1")
    assert m.team_and_manager("r1", NOV) == ("t2", "m2")  # the entry at November's end
    assert m.team_and_manager("r1", "2026-Q4") == ("t2", "m2")
    assert m.team_and_manager("ghost", NOV) == ("unassigned", None)
    # Team revenue by the team at closed_at: t1 = h1 1000 + h6 800, t2 = h2 500 + h7 1500.
    assert (m.kpis("team", "t1", NOV)["revenue"], m.kpis("team", "t2", NOV)["revenue"]) == ("1800.00", "2000.00")
    # Boards rank by the rep's whole period (r1: 1000 + 500), placed in the team at the end.
    assert m.board("team:t1", NOV) == [(1, "r2", "800.00")]
    assert m.board("team:t2", NOV) == [(1, "r1", "1500.00"), (1, "r3", "1500.00")]
    assert m.board("company", NOV) == [(1, "r1", "1500.00"), (1, "r3", "1500.00"), (3, "r2", "800.00"),
                                       (4, "ghost", "50.00")]
    assert m.board("team:t1", "2026-10") == [(1, "r1", "200.00"), (1, "r2", "200.00"), (3, "r4", "100.00")]
    assert m.board("team:t2", "2026-10") == []  # r1 was in t1 at October's end, r3 had no October scorecard
    assert m.board("team:unassigned", NOV) == [(1, "ghost", "50.00")]
    # Q4 at the quarter's end: r1 (1700) is in t2 with r3 (1500); r2 (1000) and r4 (100) in t1.
    assert m.board("team:t2", "2026-Q4") == [(1, "r1", "1700.00"), (2, "r3", "1500.00")]
    assert m.board("team:t1", "2026-Q4") == [(1, "r2", "1000.00"), (2, "r4", "100.00")]


def test_new_hire_ramp_and_tenure() -> None:
    events = [
        roster("r1", "t1"),
        roster("r7", "t1", effective_at="2026-09-10T10:00:00+08:00", hired_at="2026-09-10T10:00:00+08:00"),
        roster("r9", "t1", effective_at="2026-09-01T00:00:00+08:00", hired_at="2026-09-01T00:00:00+08:00"),
        deal("g1", "r7", "c1", "10000.00", closed_at="2026-09-20T10:00:00+08:00"),
        deal("g2", "r7", "c2", "25000.00", closed_at="2026-11-20T10:00:00+08:00"),
        deal("g3", "r9", "c3", "7000.00", closed_at="2026-11-21T10:00:00+08:00"),  # no September revenue: excluded
    ]
    m = ReferenceModel(events)
    assert m.kpis("team", "t1", NOV)["new_hire_ramp"] == 2.5  # 25000 / 10000
    assert m.kpis("company", "*", NOV)["new_hire_ramp"] == 2.5
    assert m.kpis("team", "t1", "2026-10")["new_hire_ramp"] is None
    assert m.kpis("team", "t1", "2026-Q4")["new_hire_ramp"] is None
    assert m.kpis("rep", "r7", NOV)["new_hire_ramp"] is None
    assert m.kpis("rep", "r7", NOV)["tenure_months"] == 2  # 2026-09-10 10:00 → 2026-12-01 00:00
    assert m.kpis("rep", "r9", NOV)["tenure_months"] == 3  # 2026-09-01 00:00 → 2026-12-01 00:00
    assert m.kpis("team", "t1", NOV)["headcount"] == 3


def test_rep_without_roster_is_unassigned() -> None:
    m = ReferenceModel([deal("u1", "ghost", "c1", "10.00")])
    assert ("team", "unassigned", NOV) in m.keys()
    k = m.kpis("rep", "ghost", NOV)
    assert k["tenure_months"] is None and k["weighted_attainment"] is None and k["commission"] == "0.50"
    t = m.kpis("team", "unassigned", NOV)
    assert (t["revenue"], t["headcount"], t["turnover_rate"]) == ("10.00", 0, None)


# --------------------------------------------------------------------------- targets
def test_team_target_summed_from_active_members_and_company_from_teams() -> None:
    events = [
        roster("r1", "t1"), roster("r5", "t1"), roster("r8", "t1"),
        roster("r6", "t1"), roster("r6", "t1", status="left", effective_at="2026-11-20T00:00:00+08:00"),
        roster("r2", "t2"), roster("r3", "t3"),
        target("rep", "r1", NOV, "100000.00"), target("rep", "r5", NOV, "50000.00"),
        target("rep", "r6", NOV, "70000.00"),  # r6 left before November's end: not counted
        target("rep", "r2", NOV, "999.00"),  # t2 has its own target
        _with_id(target("team", "t2", NOV, "1.00", occurred_at="2026-02-01T00:00:00+08:00"), "tt-b"),
        _with_id(target("team", "t2", NOV, "200000.00", occurred_at="2026-02-01T00:00:00+08:00"), "tt-c"),
        _with_id(target("team", "t2", NOV, "5.00", occurred_at="2026-01-15T00:00:00+08:00"), "tt-z"),
    ]
    m = ReferenceModel(events)
    assert m.kpis("team", "t1", NOV)["target"] == "150000.00"  # r1 + r5 + r8 (none = 0)
    assert m.kpis("team", "t2", NOV)["target"] == "200000.00"  # latest by (occurred_at, event_id)
    assert m.kpis("team", "t3", NOV)["target"] is None  # no member has one
    assert m.kpis("company", "*", NOV)["target"] == "350000.00"  # t1 + t2 (t3 unresolved)
    assert m.kpis("team", "t1", "2026-10")["target"] is None  # r1 and r5 have only November
    keys = m.keys()
    assert ("team", "t2", NOV) in keys and ("rep", "r6", NOV) in keys and ("team", "t3", NOV) not in keys
    assert ("team", "t2", "2026-Q4") not in keys  # only the exact target period

    given = ReferenceModel(events + [target("company", "*", "2026", "1200.00")])
    assert given.kpis("company", "*", NOV)["target"] == "100.00"  # year / 12 beats the sum of teams


def test_quarter_and_month_targets_derived_from_year_and_quarters() -> None:
    events = [
        roster("r1", "t1"),
        target("rep", "r1", "2026", "1200000.00", new_customers=24),
        target("rep", "r2", "2026", "1200000.00"), target("rep", "r2", "2026-Q4", "330000.00"),
        target("rep", "r3", "2026-Q1", "100.00"), target("rep", "r3", "2026-Q2", "200.00"),
        target("rep", "r3", "2026-Q3", "300.00"), target("rep", "r3", "2026-10", "10.00"),
        target("rep", "r3", "2026-11", "20.00"), target("rep", "r3", "2026-12", "30.00"),
        target("rep", "r4", "2026", "1000.00"),
        target("rep", "r5", "2026-01", "10.00"), target("rep", "r5", "2026-02", "10.00"),
        target("team", "t9", "2026-Q4", "90.00", market_size="900.00"),
        deal("h1", "r1", "c1", "50000.00", closed_at="2026-11-10T10:00:00+08:00"),
        deal("h2", "r4", "c2", "100.00", closed_at="2026-01-10T10:00:00+08:00"),
    ]
    m = ReferenceModel(events)

    def tgt(scope: str, id: str, period: str) -> str | None:
        return m.kpis(scope, id, period)["target"]

    assert (tgt("rep", "r1", "2026-Q4"), tgt("rep", "r1", NOV)) == ("300000.00", "100000.00")
    assert (tgt("rep", "r2", NOV), tgt("rep", "r2", "2026-Q1"), tgt("rep", "r2", "2026-01")) == \
        ("110000.00", "300000.00", "100000.00")  # quarter / 3; year / 4; year / 12
    assert (tgt("rep", "r3", "2026"), tgt("rep", "r3", "2026-Q4")) == ("660.00", "60.00")  # quarters, months
    assert (tgt("rep", "r3", "2026-01"), tgt("rep", "r3", "2026-Q2")) == ("33.33", "200.00")  # 100 / 3
    assert (tgt("rep", "r4", "2026-01"), tgt("rep", "r4", "2026-Q1")) == ("83.33", "250.00")
    assert (tgt("rep", "r5", "2026-01"), tgt("rep", "r5", "2026-03"), tgt("rep", "r5", "2026-Q1")) == \
        ("10.00", None, None)
    team = m.kpis("team", "t9", NOV)
    assert (team["target"], team["market_size"], team["market_share"]) == ("30.00", "300.00", 0.0)

    # r4 January: target 1000/12, revenue 100 -> 5% × 83.333… + 8% × 16.666… = 5.50
    assert m.kpis("rep", "r4", "2026-01")["commission"] == "5.50"
    assert m.kpis("rep", "r4", "2026-01")["attainment"] == 1.2
    # r1 November: attainment 0.5 (×40 → 0.5), win_rate 1, new_customers 1 of goal 24/12 = 2 (0.5),
    # complaint_rate 0 → 1, coverage 0, training 0: 100 × (20 + 10 + 5 + 10) / 90 = 50.
    k = m.kpis("rep", "r1", NOV)
    assert k["attainment"] == 0.5
    assert k["score"] == 50.0


# --------------------------------------------------------------------------- complaints and activities
def test_complaints_surveys_contacts_and_training() -> None:
    events = [
        roster("r1", "t1"),
        deal("j1", "r1", "c1", "10.00", closed_at="2026-06-10T10:00:00+08:00"),  # c1 is in the November book
        complaint("k1", "r1", "c1", severity="high", status="resolved",
                  opened_at="2026-11-05T09:00:00+08:00", resolved_at="2026-11-06T21:00:00+08:00"),  # 36 h
        complaint("k2", "r1", "c1", severity="medium", status="resolved",
                  opened_at="2026-11-28T10:00:00+08:00", resolved_at="2026-12-02T10:00:00+08:00"),  # 96 h
        activity("r1", "survey", score=4), activity("r1", "survey", score=5),
        activity("r1", "call", customer_id="c1"), activity("r1", "call", customer_id="c1", effective=True),
        activity("r1", "email", customer_id="c2", effective=False),
        activity("r1", "training", duration_minutes=90),
        activity("r1", "campaign", campaign_id="cmp1"), activity("r1", "campaign", campaign_id="cmp1"),
        activity("r1", "campaign", campaign_id="cmp2"),
    ]
    m = ReferenceModel(events)
    k = m.kpis("rep", "r1", NOV)
    assert k["complaints"] == 2
    assert k["complaints_by_severity"] == {"low": 0, "medium": 1, "high": 1, "critical": 0}
    assert k["customers_served"] == 1  # c1 contacted; c2's e-mail did not count
    assert k["complaint_rate"] == 2.0
    assert k["avg_resolution_hours"] == 36.0  # k2 is resolved in December
    assert (k["csat"], k["csat_responses"]) == (4.5, 2)
    assert k["activities"] == {"call": 2, "visit": 0, "meeting": 0, "email": 1, "demo": 0, "campaign": 3,
                               "training": 1, "survey": 2, "effective_contacts": 2}
    assert k["campaigns"] == 2
    assert k["training_hours"] == 1.5
    assert k["contact_coverage"] == 1.0  # book {c1}, two effective contacts
    assert k["repeat_customer_rate"] is None and k["win_rate"] is None and k["weighted_attainment"] is None
    # new_customers 0/2 → 0, csat 1, complaint_rate 0.05/2 = 0.025, coverage 1, training 1.5/4 = 0.375:
    # 100 × 10 × 2.4 / 50
    assert k["score"] == 48.0
    dec = m.kpis("rep", "r1", "2026-12")
    assert (dec["complaints"], dec["avg_resolution_hours"]) == (0, 96.0)
    assert ("rep", "r1", "2026-12") in m.keys() and ("team", "t1", "2026-12") in m.keys()
    assert m.kpis("rep", "r1", "2026-Q4")["training_hours"] == 1.5
    assert m.kpis("rep", "r1", "2026-Q4")["contact_coverage"] is None
