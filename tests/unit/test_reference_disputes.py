"""Hand-computed scenarios for the appeals reference model (worked examples of contract §10).

Every expected value below was worked out by hand from docs/contract.md, with a calendar;
the comments show the reasoning. Time zone Asia/Shanghai (UTC+8, no DST) unless stated.
November 2026: Sunday the 1st, Monday the 2nd ... Friday the 20th, Saturday the 21st,
Monday the 23rd, Monday the 30th. Europe/Berlin 2026: CET (UTC+1) until Sunday 29 March
02:00, which becomes 03:00 CEST (UTC+2); back to CET on Sunday 25 October, 03:00 -> 02:00.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.factories import activity, close_period, dispute_opened, dispute_resolved, dispute_withdrawn, roster, target
from tests.reference.disputes import (
    AppealAdjustment,
    DeadLetter,
    HistoryEntry,
    OverdueAlert,
    expected_appeals,
    is_overdue,
    normalise_dispute,
    overdue_deadline,
)

BERLIN = "Europe/Berlin"
CAIRO = "Africa/Cairo"  # EET/EEST; its clocks change on weekdays, unlike Berlin's


def utc(text: str) -> datetime:
    """A UTC instant from `YYYY-MM-DDTHH:MM[:SS]`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --------------------------------------------------------------------------- business days
@pytest.mark.parametrize(("opened_at", "timezone", "deadline"), [
    # Wednesday 18 Nov 10:00: Thu 1, Fri 2, Mon 3, Tue 4, Wed 25 Nov 5 -> 10:00 +08 = 02:00Z.
    ("2026-11-18T10:00:00+08:00", "Asia/Shanghai", "2026-11-25T02:00"),
    # Friday 20 Nov 17:00: Mon 1 ... Fri 27 Nov 5 -> 17:00 +08 = 09:00Z.
    ("2026-11-20T17:00:00+08:00", "Asia/Shanghai", "2026-11-27T09:00"),
    # Saturday 21 Nov 15:00 counts from Monday 23 Nov 00:00: Tue 1 ... Mon 30 Nov 5 -> 00:00 +08 = 29 Nov 16:00Z.
    ("2026-11-21T15:00:00+08:00", "Asia/Shanghai", "2026-11-29T16:00"),
    # Sunday 22 Nov 23:59: the same Monday 00:00 start, the same deadline.
    ("2026-11-22T23:59:00+08:00", "Asia/Shanghai", "2026-11-29T16:00"),
    # 20 Nov 20:00Z is Saturday 21 Nov 04:00 in Shanghai: a weekend opening there.
    ("2026-11-20T20:00:00Z", "Asia/Shanghai", "2026-11-29T16:00"),
    # 22 Nov 16:30Z is Monday 23 Nov 00:30 in Shanghai: Monday 30 Nov 00:30 +08 = 29 Nov 16:30Z.
    ("2026-11-22T16:30:00Z", "Asia/Shanghai", "2026-11-29T16:30"),
    # Contract §10's example: Friday 27 Mar 17:00 CET (16:00Z) -> Friday 3 Apr 17:00 CEST = 15:00Z, 167 hours.
    ("2026-03-27T17:00:00+01:00", BERLIN, "2026-04-03T15:00"),
    # Sunday 29 Mar 01:30 CET, an hour before the change: from Monday 30 Mar 00:00 CEST to Monday 6 Apr
    # 00:00 CEST = 5 Apr 22:00Z.
    ("2026-03-29T01:30:00+01:00", BERLIN, "2026-04-05T22:00"),
    # Friday 23 Oct 17:00 CEST (15:00Z) -> Friday 30 Oct 17:00 CET = 16:00Z, 169 hours.
    ("2026-10-23T17:00:00+02:00", BERLIN, "2026-10-30T16:00"),
    # Sunday 25 Oct 02:30 CET, the second 02:30 of that night: Monday 26 Oct 00:00 -> Monday 2 Nov 00:00 CET
    # = 1 Nov 23:00Z.
    ("2026-10-25T02:30:00+01:00", BERLIN, "2026-11-01T23:00"),
    # Cairo skips Friday 24 Apr 2026 00:00-01:00 (EET +02 -> EEST +03). Opened Friday 17 Apr 00:30 EET: the
    # deadline wall time Friday 24 Apr 00:30 does not exist, read with the offset before the change (+02):
    # 23 Apr 22:30Z (01:30 EEST), exactly 7 × 24 h later.
    ("2026-04-17T00:30:00+02:00", CAIRO, "2026-04-23T22:30"),
    # Cairo repeats Thursday 29 Oct 2026 23:00-24:00 (EEST +03, then EET +02). Opened Thursday 22 Oct 23:30
    # EEST: the deadline is the first 23:30 of the 29th, +03 = 20:30Z (the second would be 21:30Z).
    ("2026-10-22T23:30:00+03:00", CAIRO, "2026-10-29T20:30"),
    # Opened at that second 23:30 (+02, 21:30Z): Fri 1, Mon 2, Tue 3, Wed 4, Thu 5 Nov 5 -> 23:30 EET = 21:30Z.
    ("2026-10-29T23:30:00+02:00", CAIRO, "2026-11-05T21:30"),
])
def test_overdue_deadline_steps_over_five_local_weekdays(opened_at: str, timezone: str, deadline: str) -> None:
    assert overdue_deadline(opened_at, timezone) == utc(deadline)


def test_overdue_is_strictly_after_the_deadline() -> None:
    opened = "2026-03-27T17:00:00+01:00"  # deadline 2026-04-03T15:00Z (above)
    assert not is_overdue(opened, "2026-04-03T14:59:59Z", BERLIN)
    assert not is_overdue(opened, "2026-04-03T17:00:00+02:00", BERLIN)  # exactly 5 business days: not more
    assert is_overdue(opened, "2026-04-03T15:00:01Z", BERLIN)
    # A weekend adds nothing: opened Friday 20 Nov 17:00, on Thursday 26 Nov 23:00 it has 4 business days and
    # 6 hours (Sat 21 and Sun 22 count 0), and on Saturday 28 Nov 09:00 it is past Friday 27 Nov 17:00.
    assert not is_overdue("2026-11-20T17:00:00+08:00", "2026-11-26T23:00:00+08:00")
    assert is_overdue("2026-11-20T17:00:00+08:00", "2026-11-28T09:00:00+08:00")


# --------------------------------------------------------------------------- helpers
def closed(period: str, occurred_at: str) -> dict[str, Any]:
    """finance closes ``period`` at ``occurred_at`` (the factory's own time would move the clock to 1 Dec)."""
    return {**close_period(period), "occurred_at": occurred_at}


def tick(occurred_at: str) -> dict[str, Any]:
    """An activity whose only role is to move the event-time clock."""
    return activity("r1", "call", occurred_at=occurred_at)


R1 = roster("r1", "t1", manager_id="m-1", event_id="ros-r1")  # effective 2026-01-01


# --------------------------------------------------------------------------- decisions
def test_upheld_with_an_amount_posts_the_appeal_adjustment_in_the_first_open_month() -> None:
    events = [
        R1,
        closed("2026-10", "2026-11-02T09:00:00+08:00"),
        dispute_opened("D1", "r1", period="2026-10", subject_ref="d7", claim="d7 was mine in October.",
                       occurred_at="2026-11-16T10:00:00+08:00", event_id="o1"),  # Monday
        dispute_resolved("D1", "upheld", "1500.5", resolution="Yes, d7 was r1's.", resolved_by="m-1",
                         occurred_at="2026-11-18T11:00:00+08:00", event_id="s1"),
    ]
    got = expected_appeals(events)

    d = got.disputes["D1"]
    assert d.record() == {
        "event_id": "dispute:D1:2", "type": "dispute", "schema_version": 1, "dispute_id": "D1", "revision": 2,
        "state": "resolved", "rep_id": "r1", "team_id": "t1", "manager_id": "m-1", "period": "2026-10",
        "subject_kind": "deal", "subject_ref": "d7", "claim": "d7 was mine in October.", "decision": "upheld",
        "resolution": "Yes, d7 was r1's.", "adjustment_amount": "1500.50",  # one decimal given, two on output
        "history": [
            {"event_id": "o1", "type": "dispute_opened", "occurred_at": utc("2026-11-16T02:00"), "by": "r1",
             "decision": None, "adjustment_amount": None},
            {"event_id": "s1", "type": "dispute_resolved", "occurred_at": utc("2026-11-18T03:00"), "by": "m-1",
             "decision": "upheld", "adjustment_amount": "1500.50"},
        ],
        "adjustment_ids": ["adj:appeal:D1"],
        "opened_at": utc("2026-11-16T02:00"), "resolved_at": utc("2026-11-18T03:00"),
    }
    # October is closed, November is not: the correction is paid in November, against October's statement.
    adj = got.adjustments["adj:appeal:D1"]
    assert adj == AppealAdjustment("D1", "r1", "2026-10", "2026-11", "1500.50")
    assert (adj.key, adj.original_statement_id, adj.reason, adj.delta_revenue) == (
        "r1:2026-10", "stmt:r1:2026-10", "appeal", "0.00")
    assert got.dead_letters == () and got.duplicates == () and got.overdue == {}
    assert got.as_of == utc("2026-11-18T03:00")


def test_apply_in_period_skips_the_months_closed_before_the_decision_only() -> None:
    events = [
        R1,
        closed("2026-10", "2026-11-02T09:00:00+08:00"),
        closed("2026-11", "2026-12-01T09:00:00+08:00"),
        dispute_opened("D2", "r1", period="2026-10", subject_kind="commission", subject_ref=None,
                       occurred_at="2026-12-01T10:00:00+08:00", event_id="o2"),
        dispute_resolved("D2", "partially_upheld", "-200.00", occurred_at="2026-12-02T10:00:00+08:00", event_id="s2"),
        closed("2026-12", "2027-01-04T09:00:00+08:00"),  # after the decision: the adjustment has been posted
    ]
    got = expected_appeals(events)
    # October and November closed when it was decided: the first open month after October is December.
    assert got.adjustments == {"adj:appeal:D2": AppealAdjustment("D2", "r1", "2026-10", "2026-12", "-200.00")}
    assert got.disputes["D2"].subject_ref is None
    assert got.disputes["D2"].adjustment_amount == "-200.00"
    # The clock reached 4 Jan 2027, past the deadline (Tue 1 Dec -> Tue 8 Dec 10:00), but only after the decision.
    assert got.overdue == {}


def test_an_open_disputed_month_still_pays_in_the_month_after_it() -> None:
    events = [R1, dispute_opened("D3", "r1", period="2026-11", event_id="o3"),
              dispute_resolved("D3", "upheld", "10.00", event_id="s3")]
    assert expected_appeals(events).adjustments["adj:appeal:D3"].apply_in_period == "2026-12"


@pytest.mark.parametrize(("decision", "amount", "shown"), [
    ("rejected", None, None),  # a rejection never pays
    ("upheld", None, None),  # upheld without an amount: nothing to pay
    ("partially_upheld", "-0.00", "0.00"),  # -0.00 is 0: no adjustment either
    ("upheld", "0", "0.00"),
])
def test_decisions_that_pay_nothing_post_no_adjustment(decision: str, amount: str | None, shown: str | None) -> None:
    events = [R1, dispute_opened("D4", "r1", event_id="o4"),
              dispute_resolved("D4", decision, amount, resolution="No.", event_id="s4")]
    got = expected_appeals(events)
    d = got.disputes["D4"]
    assert (d.state, d.decision, d.resolution, d.adjustment_amount) == ("resolved", decision, "No.", shown)
    assert d.history[-1] == HistoryEntry("s4", "dispute_resolved", utc("2026-11-24T02:00"), "m-1", decision, shown)
    assert d.adjustment_ids == () and got.adjustments == {} and got.dead_letters == ()


def test_withdrawn_keeps_no_decision_and_resolved_at_is_the_withdrawal() -> None:
    events = [R1, dispute_opened("D5", "r1", event_id="o5"),
              dispute_withdrawn("D5", withdrawn_by="r1", occurred_at="2026-11-23T10:00:00+08:00", event_id="w5")]
    d = expected_appeals(events).disputes["D5"]
    assert (d.state, d.decision, d.resolution, d.adjustment_amount, d.adjustment_ids) == (
        "withdrawn", None, None, None, ())
    assert d.resolved_at == utc("2026-11-23T02:00")
    assert [(h.event_id, h.type, h.by) for h in d.history] == [
        ("o5", "dispute_opened", "r1"), ("w5", "dispute_withdrawn", "r1")]
    assert d.revision == 2


def test_an_open_dispute_has_no_resolved_at_and_revision_one() -> None:
    d = expected_appeals([R1, dispute_opened("D6", "r1", opened_by="m-1", event_id="o6")]).disputes["D6"]
    assert (d.state, d.resolved_at, d.revision, d.event_id, d.history[0].by) == (
        "open", None, 1, "dispute:D6:1", "m-1")  # a manager opened it for the rep


# --------------------------------------------------------------------------- invalid transitions
def test_opening_an_id_twice_is_an_invalid_transition_in_any_state() -> None:
    events = [
        R1,
        dispute_opened("D1", "r1", event_id="o1"),
        dispute_opened("D1", "r1", claim="Again.", event_id="o1-again"),  # open
        dispute_opened("D1", "r9", event_id="o1-r9"),  # unknown rep too, but the id comes first
        dispute_resolved("D1", "rejected", event_id="s1"),
        dispute_opened("D1", "r1", event_id="o1-after"),  # resolved
        dispute_opened("D1", "r1", claim="Again.", event_id="o1-again"),  # a rejected event, redelivered
    ]
    got = expected_appeals(events)
    assert got.dead_letters == (
        DeadLetter(2, "o1-again", "dispute_opened", "D1", "invalid_transition"),
        DeadLetter(3, "o1-r9", "dispute_opened", "D1", "invalid_transition"),
        DeadLetter(5, "o1-after", "dispute_opened", "D1", "invalid_transition"),
        DeadLetter(6, "o1-again", "dispute_opened", "D1", "invalid_transition"),  # never applied: judged again
    )
    assert got.dead_letter_reasons()["o1-again"] == ["invalid_transition", "invalid_transition"]
    d = got.disputes["D1"]
    assert (d.claim, d.state, [h.event_id for h in d.history]) == ("This deal is mine.", "resolved", ["o1", "s1"])


def test_resolving_twice_or_after_a_withdrawal_or_an_unknown_id_is_an_invalid_transition() -> None:
    events = [
        R1,
        dispute_resolved("D0", event_id="s0"),  # nothing to resolve
        dispute_opened("D1", "r1", event_id="o1"),
        dispute_resolved("D1", "upheld", "100.00", event_id="s1"),
        dispute_resolved("D1", "upheld", "900.00", event_id="s1-again"),
        dispute_withdrawn("D1", event_id="w1"),
        dispute_opened("D2", "r1", event_id="o2"),
        dispute_withdrawn("D2", event_id="w2"),
        dispute_resolved("D2", "rejected", event_id="s2"),
        dispute_withdrawn("D2", event_id="w2-again"),
    ]
    got = expected_appeals(events)
    assert [(d.event_id, d.reason) for d in got.dead_letters] == [
        ("s0", "invalid_transition"), ("s1-again", "invalid_transition"), ("w1", "invalid_transition"),
        ("s2", "invalid_transition"), ("w2-again", "invalid_transition")]
    assert set(got.disputes) == {"D1", "D2"}  # D0 never existed
    assert got.disputes["D1"].adjustment_amount == "100.00"
    assert got.adjustments["adj:appeal:D1"].delta_commission == "100.00"  # the second decision pays nothing
    assert got.disputes["D2"].state == "withdrawn"


def test_a_rejection_carrying_an_amount_is_a_schema_violation() -> None:
    events = [R1, dispute_opened("D1", "r1", event_id="o1"),
              {**dispute_resolved("D1", "rejected", event_id="s1"), "adjustment_amount": "5.00"}]
    got = expected_appeals(events)
    assert got.dead_letters == (DeadLetter(2, "s1", "dispute_resolved", "D1", "schema_violation"),)
    assert got.disputes["D1"].state == "open"


# --------------------------------------------------------------------------- the rep, team and manager
def test_an_unknown_rep_is_an_unknown_reference_and_leaves_the_id_free() -> None:
    events = [
        R1,
        dispute_opened("D1", "r9", event_id="o1-r9"),  # r9 has no roster entry (yet)
        roster("r9", "t9", manager_id="m-9", event_id="ros-r9"),
        dispute_opened("D1", "r1", event_id="o1"),  # the id was never taken
    ]
    got = expected_appeals(events)
    assert got.dead_letters == (DeadLetter(1, "o1-r9", "dispute_opened", "D1", "unknown_reference"),)
    assert (got.disputes["D1"].rep_id, got.disputes["D1"].history[0].event_id) == ("r1", "o1")


def test_a_rejected_opening_redelivered_after_its_rep_arrived_applies() -> None:
    opening = dispute_opened("D1", "r9", event_id="o1")
    events = [opening, roster("r9", "t9", manager_id="m-9"), opening]
    got = expected_appeals(events)
    assert got.dead_letters == (DeadLetter(0, "o1", "dispute_opened", "D1", "unknown_reference"),)
    assert (got.disputes["D1"].team_id, got.disputes["D1"].manager_id) == ("t9", "m-9")


def test_team_and_manager_are_those_at_the_opening_and_stay() -> None:
    moved = roster("r1", "t2", manager_id="m-2", effective_at="2026-11-21T00:00:00+08:00", event_id="ros-r1-t2")
    left = roster("r2", "t1", manager_id="m-1", status="left", effective_at="2026-11-01T00:00:00+08:00")
    late = roster("r3", "t3", manager_id="m-3", effective_at="2026-12-01T00:00:00+08:00")
    nobody = {**roster("r4", "t4"), "manager_id": None}
    events = [
        R1, moved, left, late, nobody,
        dispute_opened("before", "r1", occurred_at="2026-11-20T23:59:59+08:00", event_id="o-before"),
        dispute_opened("at", "r1", occurred_at="2026-11-21T00:00:00+08:00", event_id="o-at"),
        dispute_opened("left", "r2", event_id="o-left"),  # a rep who has left can appeal
        dispute_opened("early", "r3", event_id="o-early"),  # 20 Nov, before r3's first entry (1 Dec)
        dispute_opened("no-manager", "r4", event_id="o-none"),
        roster("r1", "t5", manager_id="m-5", effective_at="2026-11-01T00:00:00+08:00"),  # after: changes nothing
    ]
    got = expected_appeals(events)
    assert {k: (d.team_id, d.manager_id) for k, d in got.disputes.items()} == {
        "before": ("t1", "m-1"), "at": ("t2", "m-2"), "left": ("t1", "m-1"), "early": ("t3", "m-3"),
        "no-manager": ("t4", None)}
    assert got.dead_letters == ()


# --------------------------------------------------------------------------- redelivery
def test_a_redelivered_event_is_skipped_not_dead_lettered() -> None:
    opening = dispute_opened("D1", "r1", event_id="o1")
    decision = dispute_resolved("D1", "upheld", "50.00", event_id="s1")
    events = [R1, opening, opening, decision, opening, decision, R1]
    got = expected_appeals(events)
    assert got.dead_letters == ()
    assert got.duplicates == (2, 4, 5)
    d = got.disputes["D1"]
    assert ([h.event_id for h in d.history], d.revision, d.adjustment_ids) == (["o1", "s1"], 2, ("adj:appeal:D1",))
    assert list(got.adjustments) == ["adj:appeal:D1"]  # posted once


def test_an_event_id_is_matched_within_its_own_dispute() -> None:
    events = [R1, dispute_opened("D1", "r1", event_id="same"), dispute_opened("D2", "r1", event_id="same")]
    got = expected_appeals(events)
    assert set(got.disputes) == {"D1", "D2"} and got.duplicates == ()


# --------------------------------------------------------------------------- overdue
def test_overdue_over_a_weekend_in_shanghai_fires_once_and_resolves_with_the_decision() -> None:
    # Opened Saturday 21 Nov 15:00: counts from Monday 23 Nov 00:00, overdue after Monday 30 Nov 00:00 +08.
    opening = dispute_opened("D1", "r1", occurred_at="2026-11-21T15:00:00+08:00", event_id="o1")
    before = [R1, opening, tick("2026-11-29T23:59:59+08:00")]
    assert expected_appeals(before).overdue == {}
    assert expected_appeals(before, as_of="2026-11-30T00:00:00+08:00").overdue == {}  # exactly 5: not more
    firing = expected_appeals(before, as_of="2026-11-30T00:00:01+08:00").overdue
    assert firing == {"D1": OverdueAlert("D1", "r1", "t1", "m-1", "2026-11", utc("2026-11-29T16:00"), "firing")}

    after = [*before, tick("2026-11-30T08:00:00+08:00"), tick("2026-11-30T09:00:00+08:00"),
             dispute_resolved("D1", "rejected", occurred_at="2026-12-01T10:00:00+08:00", event_id="s1")]
    got = expected_appeals(after)
    assert got.overdue == {"D1": OverdueAlert("D1", "r1", "t1", "m-1", "2026-11", utc("2026-11-29T16:00"),
                                              "resolved")}
    assert got.overdue["D1"].rule == "dispute_overdue"


def test_a_decision_past_the_deadline_with_no_clock_in_between_never_fires() -> None:
    # Opened Wednesday 18 Nov 10:00 -> deadline Wednesday 25 Nov 10:00; withdrawn Thursday 26 Nov, and no other
    # event moved the clock past the deadline while it was open.
    events = [R1, dispute_opened("D1", "r1", occurred_at="2026-11-18T10:00:00+08:00", event_id="o1"),
              tick("2026-11-25T10:00:00+08:00"),  # exactly the deadline: not overdue
              dispute_withdrawn("D1", occurred_at="2026-11-26T10:00:00+08:00", event_id="w1")]
    assert expected_appeals(events).overdue == {}


def test_a_late_opening_behind_the_clock_is_overdue_at_once() -> None:
    # The clock is at 10 Dec when an opening of 18 Nov (deadline 25 Nov 10:00) arrives.
    events = [R1, tick("2026-12-10T09:00:00+08:00"),
              dispute_opened("D1", "r1", occurred_at="2026-11-18T10:00:00+08:00", event_id="o1")]
    assert expected_appeals(events).overdue["D1"].state == "firing"


def test_dead_lettered_events_do_not_move_the_clock() -> None:
    events = [R1, dispute_opened("D1", "r1", occurred_at="2026-11-18T10:00:00+08:00", event_id="o1"),
              dispute_opened("D1", "r1", occurred_at="2026-12-31T10:00:00+08:00", event_id="o1-twice"),
              dispute_resolved("D0", occurred_at="2026-12-31T10:00:00+08:00", event_id="s0")]
    got = expected_appeals(events)
    assert got.as_of == utc("2026-11-18T02:00") and got.overdue == {}
    assert len(got.dead_letters) == 2


def test_overdue_across_the_spring_change_in_berlin_goes_to_the_manager_at_the_opening() -> None:
    # Contract §10's example: Friday 27 Mar 17:00 CET -> overdue after Friday 3 Apr 17:00 CEST (15:00Z), 167 h.
    events = [
        roster("r1", "t1", manager_id="m-1", effective_at="2026-01-01T00:00:00+01:00"),
        dispute_opened("B1", "r1", period="2026-03", occurred_at="2026-03-27T17:00:00+01:00", event_id="o1"),
        roster("r1", "t2", manager_id="m-2", effective_at="2026-03-30T00:00:00+02:00"),
        tick("2026-04-03T16:59:59+02:00"),
    ]
    assert expected_appeals(events, timezone=BERLIN).overdue == {}
    # 168 hours after the opening (the same instant on a 24-hour week) is one hour past the deadline.
    got = expected_appeals(events, timezone=BERLIN, as_of="2026-04-03T16:00:00Z")
    assert got.overdue == {"B1": OverdueAlert("B1", "r1", "t1", "m-1", "2026-03", utc("2026-04-03T15:00"), "firing")}


def test_overdue_across_the_autumn_change_in_berlin_waits_169_hours() -> None:
    # Friday 23 Oct 17:00 CEST (15:00Z) -> Friday 30 Oct 17:00 CET (16:00Z): 168 h later is not yet overdue.
    events = [roster("r1", "t1", effective_at="2026-01-01T00:00:00+01:00"),
              dispute_opened("B2", "r1", period="2026-10", occurred_at="2026-10-23T17:00:00+02:00", event_id="o1"),
              tick("2026-10-30T15:30:00Z")]  # 16:30 CET
    assert expected_appeals(events, timezone=BERLIN).overdue == {}
    assert expected_appeals(events, timezone=BERLIN, as_of="2026-10-30T16:00:01Z").overdue["B2"].state == "firing"


# --------------------------------------------------------------------------- corrections and comparison
def test_corrections_naming_a_dispute_are_listed_but_not_modelled() -> None:
    lowered = target("rep", "r1", "2026-11", "1000.00", dispute_id="D1")
    events = [R1, dispute_opened("D1", "r1", event_id="o1"), lowered,
              target("rep", "r1", "2026-12", "1000.00", dispute_id="D404")]  # an unknown dispute: still applies
    got = expected_appeals(events)
    assert got.disputes["D1"].correction_event_ids == (lowered["event_id"],)
    assert got.dead_letters == ()


def test_normalise_dispute_reads_an_engine_output_like_the_model_writes_it() -> None:
    events = [R1, dispute_opened("D1", "r1", event_id="o1"),
              dispute_resolved("D1", "upheld", "12.30", resolution="OK", event_id="s1")]
    want = expected_appeals(events).disputes["D1"]
    output = {
        "event_id": "dispute:D1:2", "type": "dispute", "schema_version": 1, "emitted_at": "2026-11-24T02:00:00Z",
        "dispute_id": "D1", "revision": 2, "state": "resolved", "rep_id": "r1", "team_id": "t1",
        "manager_id": "m-1", "period": "2026-11", "subject_kind": "deal", "subject_ref": "d1",
        "claim": "This deal is mine.", "decision": "upheld", "resolution": "OK", "adjustment_amount": "12.30",
        "history": [
            {"event_id": "o1", "type": "dispute_opened", "occurred_at": "2026-11-20T02:00:00Z", "by": "r1",
             "decision": None, "adjustment_amount": None},
            {"event_id": "s1", "type": "dispute_resolved", "occurred_at": "2026-11-24T10:00:00+08:00",
             "by": "m-1", "decision": "upheld", "adjustment_amount": "12.30"},
        ],
        "adjustment_ids": ["adj:appeal:D1"], "opened_at": "2026-11-20T10:00:00+08:00",
        "resolved_at": "2026-11-24T02:00:00Z",
    }
    assert normalise_dispute(output) == want.record()
