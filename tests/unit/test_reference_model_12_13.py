"""Hand-computed scenarios for the reference model's contract §12 and §13 (forecast) parts.

Every expected number below was computed by hand from docs/contract.md; the comments
show the arithmetic. Time zone Asia/Shanghai (UTC+8). The readings the contract leaves
open are the ones listed in the model's docstring.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.factories import activity, deal, roster, target
from tests.reference.model import Component, ReferenceModel

NOV = "2026-11"
_ids = itertools.count(1)


def review(subject: str, reviewer: str, role: str, rating: str, period: str = NOV, review_id: str | None = None,
           occurred_at: str = "2026-11-28T10:00:00+08:00") -> dict[str, Any]:
    """A ``review`` event of contract §12."""
    n = next(_ids)
    return {"event_id": f"review-{n}", "type": "review", "schema_version": 1, "occurred_at": occurred_at,
            "review_id": review_id or f"rv-{n}", "period": period, "subject_id": subject,
            "reviewer_id": reviewer, "reviewer_role": role, "rating": rating}


def answer(team: str, respondent: str, rating: int, period: str = NOV,
           occurred_at: str = "2026-11-20T10:00:00+08:00") -> dict[str, Any]:
    """An ``engagement`` event of contract §12."""
    return {"event_id": f"engagement-{next(_ids)}", "type": "engagement", "schema_version": 1,
            "occurred_at": occurred_at, "period": period, "team_id": team, "respondent_id": respondent,
            "rating": rating}


def split_target(team: str, period: str, revenue: str, split: Any) -> dict[str, Any]:
    """A team target carrying ``split`` (contract §12)."""
    return {**target("team", team, period, revenue), "split": split}


def pipeline(deal_id: str, rep: str, amount: str, stage: str | None, expected: str | None,
             version: int = 1) -> dict[str, Any]:
    """An open deal with a pipeline stage and an expected close (contract §13)."""
    ev = deal(deal_id, rep, f"c-{deal_id}", amount, stage="open", version=version,
              occurred_at="2026-11-01T09:00:00+08:00")
    if stage is not None:
        ev["pipeline_stage"] = stage
    if expected is not None:
        ev["expected_close_at"] = expected
    return ev


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- switches
def test_without_features_the_output_is_todays() -> None:
    events = [roster("r1", "t1"), deal("d1", "r1", "c1", "100.00"), review("r1", "m1", "manager", "4.0"),
              pipeline("o1", "r1", "100.00", "proposal", "2026-11-25T10:00:00+08:00")]
    k = ReferenceModel(events).kpis("rep", "r1", NOV)
    new = {"review_score", "self_rating", "review_coverage", "team_engagement", "forecast_revenue",
           "forecast_attainment", "next_band"}
    assert not new & set(k)
    everything = ReferenceModel(events, features={"reviews", "forecast"}).kpis("rep", "r1", NOV)
    assert new <= set(everything)
    assert {n: v for n, v in everything.items() if n not in new} == k  # the §12 rep plan is not on


# --------------------------------------------------------------------------- reviews
def test_review_score_roles_peers_self_and_latest_version() -> None:
    events = [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"),
        # r1: manager 4.0 (its first version said 2.0), peers p1 5.0 and p2 5.0, customer 3.0.
        review("r1", "m1", "manager", "4.0", review_id="rv-m", occurred_at="2026-11-28T10:00:00+08:00"),
        review("r1", "m1", "manager", "2.0", review_id="rv-m", occurred_at="2026-11-27T10:00:00+08:00"),  # older
        review("r1", "p1", "peer", "5.0"), review("r1", "p2", "peer", "5.0"),
        review("r1", "c1", "customer", "3.0"),
        review("r1", "r1", "self", "4.5"),
        review("r2", "r2", "self", "5.0"),  # r2: self only
    ]
    m = ReferenceModel(events, features={"reviews"})
    # Two distinct peers only: ignored. (0.5 × 4.0 + 0.2 × 3.0) / 0.7 = 2.6 / 0.7 = 3.714285…
    k = m.kpis("rep", "r1", NOV)
    assert (k["review_score"], k["self_rating"]) == (3.7143, 4.5)
    # Self only: no review_score, the self rating shown.
    k2 = m.kpis("rep", "r2", NOV)
    assert (k2["review_score"], k2["self_rating"]) == (None, 5.0)
    assert m.kpis("rep", "r3", NOV)["review_score"] is None

    # A third peer p3 at 2.0: peers mean (5 + 5 + 2) / 3 = 4.0; 0.5 × 4 + 0.3 × 4 + 0.2 × 3 = 3.8.
    three = ReferenceModel(events + [review("r1", "p3", "peer", "2.0")], features={"reviews"})
    assert three.kpis("rep", "r1", NOV)["review_score"] == 3.8
    # Two reviews by the same peer are still two peers' worth of people: p2 again does not make 3.
    again = ReferenceModel(events + [review("r1", "p2", "peer", "1.0")], features={"reviews"})
    assert again.kpis("rep", "r1", NOV)["review_score"] == 3.7143


def test_review_score_of_a_quarter_pools_its_months() -> None:
    events = [
        roster("r1", "t1"),
        review("r1", "m1", "manager", "3.0", period="2026-10"),
        review("r1", "m1", "manager", "4.0", period=NOV),
        review("r1", "p1", "peer", "4.0", period="2026-10"),
        review("r1", "p2", "peer", "5.0", period=NOV), review("r1", "p3", "peer", "3.0", period=NOV),
        review("r1", "m1", "manager", "1.0", period="2027-01", occurred_at="2026-11-30T10:00:00+08:00"),  # 2027
    ]
    m = ReferenceModel(events)
    # November: manager 4.0, two peers ignored -> 4.0.
    assert m.review_score("r1", NOV) == (Decimal("4.0"), None)
    # Q4: manager mean 3.5, peers p1, p2, p3 (three distinct over the quarter) mean 4.0:
    # (0.5 × 3.5 + 0.3 × 4.0) / 0.8 = 2.95 / 0.8 = 3.6875. The year 2026 is the same pool.
    assert m.review_score("r1", "2026-Q4") == (Decimal("3.6875"), None)
    assert m.review_score("r1", "2026") == (Decimal("3.6875"), None)


def test_review_coverage_and_engagement() -> None:
    events = [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"), roster("r4", "t2"),
        roster("r5", "t1"), roster("r5", "t1", status="left", effective_at="2026-11-20T00:00:00+08:00"),
        review("r1", "m1", "manager", "4.0"),
        review("r2", "r2", "self", "5.0"), review("r3", "p1", "peer", "5.0"),  # not manager reviews
        review("r5", "m1", "manager", "4.0"),  # r5 left before November's end: not a member
        review("r3", "m1", "manager", "4.0", period="2026-10"),  # October
        answer("t1", "e1", 4), answer("t1", "e2", 5),
        answer("t2", "e4", 2), answer("t2", "e5", 2),
    ]
    m = ReferenceModel(events, features={"reviews"})
    t1, t2, co = m.kpis("team", "t1", NOV), m.kpis("team", "t2", NOV), m.kpis("company", "*", NOV)
    # Members at November's end: t1 {r1, r2, r3}, t2 {r4}; manager-reviewed in November: r1.
    assert (t1["review_coverage"], t2["review_coverage"], co["review_coverage"]) == (0.3333, 0.0, 0.25)
    assert m.kpis("team", "t1", "2026-Q4")["review_coverage"] == 0.6667  # r1 (Nov) and r3 (Oct)
    # Two respondents in t1 and in t2: null; the company has 4 respondents: (4 + 5 + 2 + 2) / 4.
    assert (t1["team_engagement"], t2["team_engagement"], co["team_engagement"]) == (None, None, 3.25)
    assert t1["review_score"] is None and t1["self_rating"] is None
    assert m.kpis("rep", "r1", NOV)["review_coverage"] is None

    # A third t1 respondent (3), then e1 answers again later (2): latest answers 2, 5, 3 -> 10 / 3.
    more = ReferenceModel(events + [answer("t1", "e3", 3),
                                    answer("t1", "e1", 2, occurred_at="2026-11-25T10:00:00+08:00")])
    assert more.team_engagement("team", "t1", NOV) == Decimal(10) / 3
    assert more.team_engagement("team", "t1", "2026-10") is None


# --------------------------------------------------------------------------- plans per scope
def test_scope_plans_rep_with_review_score_and_manager_plan() -> None:
    events = [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"),
        target("rep", "r1", NOV, "1000.00"),
        deal("d1", "r1", "c1", "1000.00"),
        review("r1", "m1", "manager", "4.0"), review("r1", "p1", "peer", "5.0"),
        review("r1", "p2", "peer", "5.0"), review("r1", "p3", "peer", "2.0"), review("r1", "c1", "customer", "3.0"),
        answer("t1", "e1", 2), answer("t1", "e2", 5), answer("t1", "e3", 3),
    ]
    # Rep: attainment 1 ×40, win_rate 1 ×10, new_customers 1/2 ×10, complaint_rate 0 -> 1 ×10,
    # contact_coverage 0 ×10, training 0 ×10, review_score 3.8 / 4 ×10; csat null is left out.
    # 100 × (40 + 10 + 5 + 10 + 0 + 0 + 9.5) / 100 = 74.5.  Without the §12 plan: 100 × 65 / 90.
    assert ReferenceModel(events, features={"scope_plans"}).kpis("rep", "r1", NOV)["score"] == 74.5
    assert ReferenceModel(events).kpis("rep", "r1", NOV)["score"] == 72.2222
    # Team t1 (销售管理岗): attainment 1000/1000 ×40, csat null, complaint_rate 0 -> 1 ×10,
    # contact_coverage 0 ×10, review_coverage 1/3 ×10, turnover 0 -> 1 ×10, engagement (10/3)/4 ×10:
    # 100 × (40 + 10 + 0 + 10/3 + 10 + 25/3) / 90 = 100 × (215/3) / 90 = 79.6296…
    m = ReferenceModel(events, features={"scope_plans"})
    assert m.kpis("team", "t1", NOV)["score"] == 79.6296
    assert m.kpis("company", "*", NOV)["score"] == 79.6296  # the same members, answers and figures


def test_per_member_goal() -> None:
    events = [roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"), roster("r4", "t2"),
              deal("d1", "r1", "c1", "10.00"), deal("d2", "r2", "c2", "10.00")]
    plan = (Component("new_customers", 10, Decimal(1), per_member=True),)
    month_plan = (Component("new_customers", 10, Decimal(1), per_month=True, per_member=True),)
    m = ReferenceModel(events, features={"scope_plans"}, plans={"rep": plan, "team": plan, "company": plan})
    # t1: 2 new customers, goal 1 × headcount 3: 2/3. Company: goal 1 × 4 -> 2/4. Rep r1: goal 1 -> 1/1.
    assert m.kpis("team", "t1", NOV)["score"] == 66.6667
    assert m.kpis("company", "*", NOV)["score"] == 50.0
    assert m.kpis("rep", "r1", NOV)["score"] == 100.0
    assert m.kpis("team", "t1", "2026-Q4")["score"] == 66.6667  # goal 1 × 3 members, not × months
    q = ReferenceModel(events, features={"scope_plans"}, plans={"rep": plan, "team": month_plan, "company": plan})
    assert q.kpis("team", "t1", "2026-Q4")["score"] == 22.2222  # goal 1 × 3 months × 3 members = 9: 2/9


# --------------------------------------------------------------------------- top-down split
def test_equal_split_gives_the_remainder_cents_in_rep_order() -> None:
    events = [roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"),
              split_target("t1", NOV, "100000.00", "equal"),
              deal("d1", "r1", "c1", "40000.00")]
    m = ReferenceModel(events, features={"split"})
    # 100000.00 / 3 = 33333.333… -> 33333.33 each, 0.01 left: to r1, the smallest rep id.
    assert m.split_shares(NOV) == {"r1": Decimal("33333.34"), "r2": Decimal("33333.33"), "r3": Decimal("33333.33")}
    assert [m.kpis("rep", r, NOV)["target"] for r in ("r1", "r2", "r3")] == ["33333.34", "33333.33", "33333.33"]
    assert m.target_source("r1", NOV) == "split"
    assert m.kpis("team", "t1", NOV)["target"] == "100000.00"  # the event's amount
    # r1: 5 % × 33333.34 + 8 % × (40000.00 − 33333.34) = 1666.667 + 533.3328 = 2199.9998 -> 2200.00;
    # attainment 40000 / 33333.34 = 1.1999997… -> 1.2.
    k = m.kpis("rep", "r1", NOV)
    assert (k["commission"], k["attainment"]) == ("2200.00", 1.2)
    assert m.month_commission("r1", NOV) == Decimal("2200.00")
    # Without the switch r1 has no target: 5 % of 40000.00.
    assert ReferenceModel(events).kpis("rep", "r1", NOV)["commission"] == "2000.00"


def test_weighted_split_after_the_others_own_targets() -> None:
    events = [roster(r, "t2") for r in ("r5", "r6", "r7", "r8", "r9")] + [
        roster("r9", "t2", status="left", effective_at="2026-11-15T00:00:00+08:00"),  # not a member at the end
        split_target("t2", NOV, "1000.00", {"weights": {"r5": 1, "r6": 2, "r9": 5}}),
        target("rep", "r7", NOV, "400.00"),  # explicit
        target("rep", "r8", "2026", "1200.00"),  # derived: 1200 / 12 = 100 for November
    ]
    m = ReferenceModel(events, features={"split"})
    # Pool 1000 − 400 − 100 = 500, weights r5 1, r6 2: 166.666… -> 166.66, 333.333… -> 333.33,
    # the cent left to r5.
    assert m.split_shares(NOV) == {"r5": Decimal("166.67"), "r6": Decimal("333.33")}
    sources = {r: m.target_source(r, NOV) for r in ("r5", "r6", "r7", "r8", "r9")}
    assert sources == {"r5": "split", "r6": "split", "r7": "explicit", "r8": "derived", "r9": None}


def test_split_never_below_zero_history_and_quarter_shares() -> None:
    events = [roster("a1", "t3"), roster("a2", "t3"), roster("a3", "t3"),
              split_target("t3", NOV, "500.00", "equal"),
              target("rep", "a1", NOV, "800.00"),  # more than the team's amount
              deal("x1", "a2", "c1", "50.00")]
    m = ReferenceModel(events, features={"split"})
    assert m.split_shares(NOV) == {"a2": Decimal("0.00"), "a3": Decimal("0.00")}
    k = m.kpis("rep", "a2", NOV)
    assert (k["target"], k["attainment"], k["commission"]) == ("0.00", None, "2.50")  # 0: §7's no target, 5 %

    history = [roster("b1", "t4"), roster("b2", "t4"), roster("b3", "t4"),
               deal("h1", "b1", "c1", "300.00", closed_at="2026-08-10T10:00:00+08:00"),
               deal("h2", "b1", "c2", "100.00", closed_at="2026-09-10T10:00:00+08:00"),
               deal("h3", "b2", "c3", "200.00", closed_at="2026-10-10T10:00:00+08:00"),
               deal("h4", "b3", "c4", "999.00", closed_at="2026-07-31T10:00:00+08:00"),  # before August
               split_target("t4", NOV, "900.00", "history"),
               split_target("t4", "2026-12", "90.00", "history")]
    h = ReferenceModel(history, features={"split"})
    # Aug–Oct revenue: b1 400, b2 200, b3 0 -> 900 × 4/6 = 600, 900 × 2/6 = 300, 0.
    assert h.split_shares(NOV) == {"b1": Decimal("600.00"), "b2": Decimal("300.00"), "b3": Decimal("0.00")}
    # December looks at Sep–Nov: b1 100, b2 200 -> 30.00, 60.00.
    assert h.split_shares("2026-12") == {"b1": Decimal("30.00"), "b2": Decimal("60.00"), "b3": Decimal("0.00")}
    # All zero: equal. 90.00 over 3.
    zero = ReferenceModel([roster("z1", "t5"), roster("z2", "t5"), roster("z3", "t5"),
                           split_target("t5", NOV, "90.00", "history")])
    assert zero.split_shares(NOV) == {"z1": Decimal("30.00"), "z2": Decimal("30.00"), "z3": Decimal("30.00")}

    # A quarter split reaches the months: 900.01 over 2 -> 450.01 and 450.00; November is a third.
    quarter = ReferenceModel([roster("q1", "t6"), roster("q2", "t6"),
                              split_target("t6", "2026-Q4", "900.01", "equal")], features={"split"})
    assert quarter.rep_target("q1", "2026-Q4") == (Decimal("450.01"), "split")
    assert quarter.rep_target("q2", NOV) == (Decimal(150), "split")
    assert quarter.rep_target("q2", "2026") == (None, None)


# --------------------------------------------------------------------------- forecast
def _forecast_events() -> list[dict[str, Any]]:
    return [
        roster("r1", "t1"), roster("r1", "t2", effective_at="2026-11-20T00:00:00+08:00"),
        target("rep", "r1", NOV, "2000.00"),
        deal("w1", "r1", "c1", "1000.00", closed_at="2026-11-10T10:00:00+08:00"),
        pipeline("o1", "r1", "1000.00", "prospect", "2026-11-20T10:00:00+08:00"),  # Nov: 10 % = 100
        pipeline("o2", "r1", "1000.00", "qualified", "2026-11-25T10:00:00+08:00"),  # Nov: 25 % = 250
        pipeline("o3", "r1", "1000.00", "proposal", "2026-12-05T10:00:00+08:00"),  # Dec: 50 % = 500
        pipeline("o4", "r1", "1000.00", "negotiation", "2026-11-14T10:00:00+08:00"),  # before as_of
        pipeline("o5", "r1", "1000.00", None, "2026-11-25T10:00:00+08:00"),  # no pipeline_stage
        pipeline("o6", "r1", "1000.00", "negotiation", "2027-01-10T10:00:00+08:00"),  # 2027: 75 % = 750
        pipeline("o7", "r1", "1000.00", "negotiation", None),  # no expected close
        pipeline("o8", "r1", "1000.00", "negotiation", "2026-11-26T10:00:00+08:00"),
        deal("o8", "r1", "c-o8", "1000.00", stage="lost", version=2, closed_at="2026-11-12T10:00:00+08:00"),
    ]


def test_forecast_of_each_stage_in_and_out_of_the_window() -> None:
    m = ReferenceModel(_forecast_events(), features={"forecast"}, as_of=at("2026-11-15T12:00:00+08:00"))
    k = m.kpis("rep", "r1", NOV)
    assert k["forecast_revenue"] == "1350.00"  # 1000 + 100 + 250
    assert k["forecast_attainment"] == 0.675  # 1350 / 2000
    assert m.kpis("rep", "r1", "2026-Q4")["forecast_revenue"] == "1850.00"  # + o3's 500
    assert m.kpis("rep", "r1", "2026")["forecast_revenue"] == "1850.00"
    assert m.kpis("rep", "r1", "2026-Q4")["forecast_attainment"] is None  # no Q4 target
    assert m.forecast_revenue("rep", "r1", "2027") == Decimal("750.00")  # o6 alone
    # r1 is in t1 at as_of: t1 gets the pipeline, t2 nothing.
    assert m.kpis("team", "t1", NOV)["forecast_revenue"] == "1350.00"
    assert m.forecast_revenue("team", "t2", NOV) == Decimal(0)
    assert m.kpis("company", "*", NOV)["forecast_revenue"] == "1350.00"
    # The company's target is t2's 2000 (r1 is in t2 at November's end).
    assert m.kpis("company", "*", NOV)["forecast_attainment"] == 0.675

    # Later, on 21 November, r1 is in t2: o1 (20 Nov) has passed; o2 goes to t2.
    later = ReferenceModel(_forecast_events(), as_of=at("2026-11-21T00:00:00+08:00"))
    assert later.forecast_revenue("rep", "r1", NOV) == Decimal("1250.00")
    assert later.forecast_revenue("team", "t2", NOV) == Decimal("250.00")
    assert later.forecast_revenue("team", "t1", NOV) == Decimal("1000.00")  # the won deal stays with t1

    # Another set of probabilities.
    sure = ReferenceModel(_forecast_events(), as_of=at("2026-11-15T12:00:00+08:00"),
                          probabilities={"prospect": Decimal(1), "qualified": Decimal(0),
                                         "proposal": Decimal(0), "negotiation": Decimal(0)})
    assert sure.forecast_revenue("rep", "r1", NOV) == Decimal("2000.00")


def test_ended_period_forecast_is_revenue_and_the_clock() -> None:
    events = _forecast_events()
    # The month has ended exactly at December 1st 00:00 local: forecast = revenue.
    ended = ReferenceModel(events, features={"forecast"}, as_of=at("2026-12-01T00:00:00+08:00"))
    assert ended.kpis("rep", "r1", NOV)["forecast_revenue"] == "1000.00"
    assert ended.kpis("rep", "r1", NOV)["forecast_attainment"] == 0.5
    assert ended.kpis("rep", "r1", "2026-Q4")["forecast_revenue"] == "1500.00"  # + o3 in December
    # A second before the end, the window [as_of, end) holds nothing left either.
    assert ended.forecast_revenue("rep", "r1", NOV, as_of=at("2026-11-30T23:59:59+08:00")) == Decimal("1000.00")
    # The event clock: the greatest occurred_at of the events (the roster move of 20 November).
    m = ReferenceModel(events)
    assert m.as_of == at("2026-11-20T00:00:00+08:00")
    # as_of 20 Nov 00:00 is before o1's 10:00: 1000 + 100 + 250.
    assert m.forecast_revenue("rep", "r1", NOV) == Decimal("1350.00")
    assert ReferenceModel([], features={"forecast"}).forecast_revenue("company", "*", NOV) is None


def test_next_band() -> None:
    def band(revenue: str | None, rep_target: str | None = "2000.00", csat: int | None = None,
             period: str = NOV) -> Any:
        events = [roster("r1", "t1")]
        if rep_target is not None:
            events.append(target("rep", "r1", NOV, rep_target))
        if revenue is not None:
            events.append(deal("d1", "r1", "c1", revenue))
        if csat is not None:
            events.append(activity("r1", "survey", score=csat))
        return ReferenceModel(events, features={"forecast"}).kpis("rep", "r1", period)["next_band"]

    # the 8 % band's gate (contract §11) is shown with it, not applied
    gate = [{"kpi": "csat", "op": ">=", "value": 4.5, "when_missing": "pass"}]
    assert band("1000.00") == {"rate": 0.08, "revenue_needed": "1000.00", "requires": gate}  # 2000 − 1000
    assert band(None) == {"rate": 0.08, "revenue_needed": "2000.00", "requires": gate}
    assert band("1000.00", csat=3) == {"rate": 0.08, "revenue_needed": "1000.00", "requires": gate}
    assert band("2000.00") is None  # attainment exactly 1.0: in the top band
    assert band("2500.00") is None
    assert band("1000.00", rep_target=None) is None  # no target
    assert band("1000.00", period="2026-Q4") is None  # months only
    events = [roster("r1", "t1"), target("rep", "r1", "2026", "1000.00")]
    # 1000 / 12 = 83.333…: needed 83.34, rounded up to the cent (83.33 would fall short).
    assert ReferenceModel(events).next_band("r1", NOV) == (Decimal("0.08"), Decimal("83.34"))
