"""What the engine keeps of a fact: the records as given (strings shared), nothing lost."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sales_scorecard.core.engine import ScorecardEngine, _compact_complaint, close_times_with
from sales_scorecard.schemas.records import ComplaintEvent, record_from_event
from tests import factories as f


def test_the_engine_keeps_one_pipeline_entry_per_open_deal() -> None:
    engine = ScorecardEngine()
    for version, stage in enumerate(("prospect", "qualified", "proposal"), start=1):
        engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", version=version, stage="open",
                                              closed_at=None, pipeline_stage=stage,
                                              expected_close_at="2026-11-20T10:00:00+08:00")))
    assert len(engine.pipeline) == 1
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", version=4)))  # won: out of the pipeline
    assert len(engine.pipeline) == 0 and engine.pipeline.reps() == []


def test_a_kept_complaint_equals_the_record_in_every_field() -> None:
    complaint = record_from_event(f.complaint("k1", "r1", "c1", status="resolved",
                                              opened_at="2026-11-02T10:00:00+08:00",
                                              resolved_at="2026-11-03T10:00:00+08:00"))
    assert isinstance(complaint, ComplaintEvent)
    assert all(getattr(complaint, field.name) is not None for field in dataclasses.fields(complaint))
    assert _compact_complaint(complaint, None) == complaint


def test_versions_of_a_deal_share_its_id_and_repeated_strings() -> None:
    engine = ScorecardEngine()
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", stage="open", closed_at=None)))
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", version=2)))
    engine.apply(record_from_event(f.deal("d2", "r1", "c1", "20.00")))
    (key1, first), (_, second) = engine.deals.items()
    assert first.version == 2 and first.deal_id is key1
    assert first.rep_id is second.rep_id and first.customer_id is second.customer_id and first.stage is second.stage


def test_a_resolved_complaint_opened_and_resolved_at_one_instant_keeps_one_object() -> None:
    complaint = record_from_event(f.complaint("k1", "r1", "c1", status="resolved",
                                              opened_at="2026-11-02T10:00:00+08:00",
                                              resolved_at="2026-11-02T10:00:00+08:00"))
    assert isinstance(complaint, ComplaintEvent)
    kept = _compact_complaint(complaint, None)
    assert kept.resolved_at is kept.opened_at and kept.occurred_at is kept.opened_at and kept == complaint


def test_a_quarter_and_a_year_are_their_months_summed_and_keep_no_bucket() -> None:
    engine = ScorecardEngine()
    # c1 won in October and again in November, c2 won in November, c3 only contacted
    # (twice, in October and December): the quarter has 2 distinct won customers, 3 served.
    wins = (("d1", "c1", "2026-10-10", "100.00"), ("d2", "c1", "2026-11-10", "20.5"),
            ("d3", "c2", "2026-11-12", "7"))
    for deal_id, customer, closed, amount in wins:
        engine.apply(record_from_event(f.deal(deal_id, "r1", customer, amount, closed_at=f"{closed}T10:00:00+08:00",
                                              created_at="2026-09-01T10:00:00+08:00")))
    for day in ("2026-10-05", "2026-12-05"):
        engine.apply(record_from_event(f.activity("r1", "call", f"{day}T10:00:00+08:00", customer_id="c3",
                                                  effective=True)))
    assert sorted(label for scope, _, label in engine.buckets if scope == "rep" and len(label) == 7) == \
        ["2026-10", "2026-11", "2026-12"]  # day buckets and months only
    for label in ("2026-Q4", "2026"):
        computed = engine.inputs("rep", "r1", label)
        assert computed is not None
        bucket = computed[1].bucket
        assert dict(bucket.won_customers) == {"c1": 2, "c2": 1} and dict(bucket.contacts) == {"c3": 2}
        # 100.00 + 20.5 + 7 = 127.50, at the finest exponent of the amounts, as a running sum
        assert bucket.won == 3 and bucket.effective_contacts == 2 and str(bucket.revenue) == "127.50"
        # 3 deals, 2 calls and the acquisitions of c1 (October) and c2 (November)
        assert bucket.contributions == 7 and dict(bucket.activities) == {"call": 2} and bucket.new_customers == 2
    assert str(engine.rep_month_revenue("r1", "2026-11")) == "27.5"
    assert str(engine.forecast_of("rep", "r1", "2026-Q4")) == "127.50"  # no pipeline: the revenue


def test_a_quarter_and_a_year_stop_existing_with_the_last_bucket_of_their_months() -> None:
    engine = ScorecardEngine()
    for deal_id, closed in (("d1", "2026-10-10"), ("d2", "2026-11-10")):
        engine.apply(record_from_event(f.deal(deal_id, "r1", "c1", "10.00", closed_at=f"{closed}T10:00:00+08:00",
                                              event_id=f"{deal_id}-v1")))
    engine.take_dirty()
    # reversing d1 empties October: the quarter and the year still hold November
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", stage="reversed", version=2,
                                          closed_at="2026-10-10T10:00:00+08:00")))
    assert not engine.exists("rep", "r1", "2026-10")
    assert engine.exists("rep", "r1", "2026-Q4") and engine.exists("rep", "r1", "2026")
    assert ("rep", "r1", "2026-10") in engine.take_dirty()
    engine.apply(record_from_event(f.deal("d2", "r1", "c1", "10.00", stage="reversed", version=2,
                                          closed_at="2026-11-10T10:00:00+08:00")))
    assert not any(engine.exists("rep", "r1", label) for label in ("2026-11", "2026-Q4", "2026"))
    gone = engine.take_dirty()
    assert {("rep", "r1", "2026-11"), ("rep", "r1", "2026-Q4"), ("rep", "r1", "2026")} <= set(gone)
    assert all(engine.render(*key) is None for key in gone if key[0] == "rep" and key[2] != "R30D" and key[2] != "R90D")


def _wins(engine: ScorecardEngine, scope: str, id: str) -> dict[str, int]:
    """How many close times the scope keeps per customer."""
    return {customer: 1 if isinstance(held, datetime) else len(held)
            for customer, held in engine._scope_wins.get((scope, id), {}).items()}


def _coverage(engine: ScorecardEngine, scope: str, id: str) -> object:
    rendered = engine.render(scope, id, "2026-11")
    assert rendered is not None
    return rendered["kpis"]["contact_coverage"]


def test_contact_coverage_counts_the_customers_won_by_the_scope_within_the_year() -> None:
    # A scope keeps the close times of each customer's wins credited to it (the time alone
    # for one win). c1 is won by r1 (t1) in June and by r2 (t2) in October, c2 by r1 in
    # October; in November r1 calls c1 twice and c2 once, r2 calls c1 twice.
    engine = ScorecardEngine()
    for fact in (f.roster("r1", "t1"), f.roster("r2", "t2"),
                 f.deal("d1", "r1", "c1", "10.00", closed_at="2026-06-10T10:00:00+08:00", event_id="d1-v1"),
                 f.deal("d2", "r2", "c1", "10.00", closed_at="2026-10-10T10:00:00+08:00"),
                 f.deal("d3", "r1", "c2", "10.00", closed_at="2026-10-12T10:00:00+08:00"),
                 *(f.activity(rep, "call", "2026-11-05T10:00:00+08:00", customer_id=customer, effective=True)
                   for rep, customer in (("r1", "c1"), ("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c1")))):
        engine.apply(record_from_event(fact))
    assert _wins(engine, "rep", "r1") == {"c1": 1, "c2": 1} and _wins(engine, "company", "*") == {"c1": 2, "c2": 1}
    assert engine._scope_wins[("rep", "r1")]["c2"] is engine.deals["d3"].closed_at  # the deal's object
    # r1 and t1: book c1, c2, c1 covered (2 calls): 1/2; r2 and t2: book c1, covered: 1/1;
    # the company: book c1, c2, c1 covered (4 calls): 1/2
    assert [_coverage(engine, *scope) for scope in (("rep", "r1"), ("team", "t1"), ("rep", "r2"), ("team", "t2"),
                                                    ("company", "*"))] == [0.5, 0.5, 1.0, 1.0, 0.5]
    # d1 reassigned to r2: r1 and t1 keep c2 (one call: 0/1), r2 and t2 have c1 twice
    engine.apply(record_from_event(f.deal("d1", "r2", "c1", "10.00", version=2,
                                          closed_at="2026-06-10T10:00:00+08:00")))
    assert _wins(engine, "rep", "r2") == {"c1": 2} and _wins(engine, "team", "t1") == {"c2": 1}
    assert [_coverage(engine, *scope) for scope in (("rep", "r1"), ("team", "t1"), ("rep", "r2"), ("team", "t2"),
                                                    ("company", "*"))] == [0.0, 0.0, 1.0, 1.0, 0.5]
    # d3 reversed: r1 and t1 have no book (no ratio), the company's is c1, covered
    engine.apply(record_from_event(f.deal("d3", "r1", "c2", "10.00", stage="reversed", version=2,
                                          closed_at="2026-10-12T10:00:00+08:00")))
    assert _wins(engine, "rep", "r1") == {} and engine.customer_won_deal_ids("c2") == []
    assert [_coverage(engine, *scope) for scope in (("rep", "r1"), ("team", "t1"), ("company", "*"))] == \
        [None, None, 1.0]


def test_a_kept_deal_carries_the_team_it_is_credited_to_and_a_roster_change_moves_it() -> None:
    engine = ScorecardEngine()
    engine.apply(record_from_event(f.roster("r1", "t1", event_id="ro-1")))
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", closed_at="2026-11-10T10:00:00+08:00")))
    engine.apply(record_from_event(f.deal("d2", "r1", "c2", "10.00", stage="open", closed_at=None)))
    assert (engine.deals["d1"].team, engine.deals["d2"].team) == ("t1", None)  # an open deal credits nothing
    # r1 moves to t2 from 1 November: the deal closed on the 10th is credited to t2 now
    engine.apply(record_from_event(f.roster("r1", "t2", effective_at="2026-11-01T00:00:00+08:00", event_id="ro-2")))
    assert engine.deals["d1"].team == "t2"
    assert _wins(engine, "team", "t1") == {} and _wins(engine, "team", "t2") == {"c1": 1}
    assert [d.deal_id for d in engine.won_deals("r1", "2026-11")] == ["d1"]


def test_the_engine_keeps_an_activitys_event_id_once_and_its_figures_with_its_rep() -> None:
    engine = ScorecardEngine()
    call = f.activity("r1", "call", "2026-11-05T10:00:00+08:00", customer_id="c1", effective=True)
    survey = f.activity("r2", "survey", "2026-11-06T10:00:00+08:00", customer_id="c2", score=4)
    assert [engine.apply(record_from_event(fact)).value for fact in (call, survey, call)] == \
        ["applied", "applied", "duplicate"]
    assert engine.activities.keys() == {call["event_id"].encode(), survey["event_id"].encode()}
    assert engine.has_activity(call["event_id"]) and not engine.has_activity(call["event_id"] + "x")
    (kept,) = engine.rep_activities("r1")
    assert (kept.kind, kept.contact, kept.value, kept.team) == ("call", "c1", None, "unassigned")
    assert [(a.kind, a.value) for a in engine.rep_activities("r2")] == [("survey", 4)]
    assert engine.rep_activities("r3") == []


def test_close_times_are_one_time_alone_and_a_tuple_of_several() -> None:
    june = datetime.fromisoformat("2026-06-10T10:00:00+08:00")
    july = datetime.fromisoformat("2026-07-01T09:00:00+08:00")
    held = close_times_with(None, june, 1)
    assert held is june
    held = close_times_with(held, july, 1)
    assert held == (june, july)
    held = close_times_with(held, june, 1)
    assert held == (june, july, june)  # a multiset: two wins at one instant
    held = close_times_with(held, datetime.fromisoformat("2026-06-10T02:00:00+00:00"), -1)  # the same instant
    assert held == (july, june)
    held = close_times_with(held, july, -1)
    assert held is june
    assert close_times_with(held, june, -1) is None


def test_a_customer_won_by_one_rep_has_one_tuple_of_close_times_for_the_rep_its_team_and_the_company() -> None:
    engine = ScorecardEngine()
    engine.apply(record_from_event(f.roster("r1", "t1", event_id="ro-1")))
    engine.apply(record_from_event(f.roster("r2", "t1", event_id="ro-2")))
    for deal_id, closed in (("d1", "2026-06-10"), ("d2", "2026-07-10"), ("d3", "2026-08-10")):
        engine.apply(record_from_event(f.deal(deal_id, "r1", "c1", "10.00", closed_at=f"{closed}T10:00:00+08:00")))
    scopes = (("rep", "r1"), ("team", "t1"), ("company", "*"))
    held = [engine._scope_wins[scope]["c1"] for scope in scopes]
    assert isinstance(held[0], tuple) and len(held[0]) == 3 and all(h is held[0] for h in held)
    # r2 (same team) wins c1 too: the rep's tuple stays, the team's and the company's grow
    engine.apply(record_from_event(f.deal("d4", "r2", "c1", "10.00", closed_at="2026-09-10T10:00:00+08:00")))
    rep, team, company = (engine._scope_wins[scope]["c1"] for scope in scopes)
    assert rep == held[0] and team == company == (*held[0], engine.deals["d4"].closed_at)
    assert engine._scope_wins[("rep", "r2")]["c1"] is engine.deals["d4"].closed_at
    # d2 reversed: taken out of each scope's close times, the rep's and the others' alike
    engine.apply(record_from_event(f.deal("d2", "r1", "c1", "10.00", stage="reversed", version=2,
                                          closed_at="2026-07-10T10:00:00+08:00")))
    d1, d3, d4 = (engine.deals[d].closed_at for d in ("d1", "d3", "d4"))
    assert [engine._scope_wins[scope]["c1"] for scope in scopes] == [(d1, d3), (d1, d3, d4), (d1, d3, d4)]


def test_an_activity_reads_back_its_time_as_given_and_a_roster_change_moves_its_team() -> None:
    engine = ScorecardEngine()
    engine.apply(record_from_event(f.roster("r1", "t1", event_id="ro-1")))
    times = ("2026-11-05T10:00:00.250000+08:00", "2026-11-20T01:00:00-05:00", "2026-10-03T10:00:00Z")
    for ts in times:
        engine.apply(record_from_event(f.activity("r1", "call", ts, customer_id="c1", effective=True)))
    kept = engine.rep_activities("r1")
    assert [a.ts.isoformat() for a in kept] == [datetime.fromisoformat(ts).isoformat() for ts in times]
    assert [a.team for a in kept] == ["t1"] * 3
    # the same figures are one tuple: the +08:00 calls differ only in time
    assert len(engine._activity_figures) == 3  # three offsets
    # r1 moves to t2 from 15 November: the call of the 20th (06:00 UTC) goes with it
    engine.apply(record_from_event(f.roster("r1", "t2", effective_at="2026-11-15T00:00:00+08:00", event_id="ro-2")))
    assert [a.team for a in engine.rep_activities("r1")] == ["t1", "t2", "t1"]
    assert dict(engine.buckets[("team", "t1", "2026-11")].contacts) == {"c1": 1}
    assert dict(engine.buckets[("team", "t2", "2026-11")].contacts) == {"c1": 1}
    assert ("team", "t2", "2026-10") not in engine.buckets
    assert ("team", "t1", "2026-11-20") not in engine.buckets and ("team", "t2", "2026-11-20") in engine.buckets


def test_an_engine_dropped_leaves_no_garbage_only_the_cycle_collector_could_free() -> None:
    # The stage's rebuild turns the collector off and the worker runs it seldom
    # (SCORECARD_GC_THRESHOLD): an engine must be freed by reference counting alone.
    import gc
    import random

    engine = ScorecardEngine()
    for event in f.deals_and_calls(random.Random(7), ["r1", "r2", "r3"], 60):
        engine.apply(record_from_event(event))
    assert engine.all_keys()
    for key in engine.all_keys():
        engine.render(*key)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        del engine
        gc.collect()
        assert gc.garbage == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
