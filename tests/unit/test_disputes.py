"""Appeals (contract §10): transitions, rejections, adjustments, the overdue deadline, state as JSON.

Events go through ``DisputeValidator`` first, as the stage will send them, so every one of
them is valid input. Expected values are worked out from the contract, with the calendar
arithmetic in comments (2026-11-20 is a Friday; 2026-03-29 and 2026-10-25, when Berlin
changes its clocks, are Sundays).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core.disputes import (
    AdjustmentRequest,
    Applied,
    Dispute,
    DisputeBook,
    DisputeState,
    Duplicate,
    Outcome,
    Placement,
    Rejected,
    Step,
    overdue_alert,
    roster_directory,
)
from sales_scorecard.core.periods import parse_timestamp
from sales_scorecard.core.roster import Roster, RosterEntry
from sales_scorecard.schemas.contracts import validator
from sales_scorecard.schemas.records import DisputeResolvedEvent, dispute_record_from_event
from sales_scorecard.schemas.validation import Accepted, DisputeValidator
from tests.factories import dispute_opened, dispute_resolved, dispute_withdrawn

VALIDATOR = DisputeValidator()
#: The roster as the directory sees it: r1 in t1 under m-1, r2 in t2 without a manager.
PLACES = {"r1": Placement("t1", "m-1"), "r2": Placement("t2", None)}


def directory(rep_id: str, at: datetime, /) -> Placement | None:
    return PLACES.get(rep_id)


def new_book(timezone: str = "Asia/Shanghai") -> DisputeBook:
    return DisputeBook(directory, timezone)


def apply(book: DisputeBook, event: dict[str, Any]) -> Outcome:
    result = VALIDATOR.validate("sales.disputes", orjson.dumps(event))
    assert isinstance(result, Accepted), result
    return book.apply(dispute_record_from_event(result.event))


def applied(outcome: Outcome) -> Applied:
    assert isinstance(outcome, Applied), outcome
    return outcome


def ts(text: str) -> datetime:
    return parse_timestamp(text)


OPENED_AT = "2026-11-20T10:00:00+08:00"  # a Friday
RESOLVED_AT = "2026-11-24T10:00:00+08:00"


def open_dispute(book: DisputeBook, dispute_id: str = "DSP-1", rep_id: str = "r1", **kw: Any) -> Dispute:
    return applied(apply(book, dispute_opened(dispute_id, rep_id, occurred_at=kw.pop("occurred_at", OPENED_AT),
                                              **kw))).dispute


# -- valid transitions -------------------------------------------------------------------

def test_opening_records_the_rep_team_manager_subject_and_first_step() -> None:
    book = new_book()
    out = applied(apply(book, dispute_opened("DSP-1", "r1", subject_kind="kpi", subject_ref="win_rate",
                                             claim="Two lost deals were duplicates.", opened_by="m-1",
                                             occurred_at=OPENED_AT, event_id="e-open")))
    d = out.dispute
    assert out.adjustment is None
    assert (d.dispute_id, d.state, d.rep_id, d.team_id, d.manager_id) == ("DSP-1", DisputeState.OPEN, "r1", "t1", "m-1")
    assert (d.period, d.subject_kind, d.subject_ref, d.claim) == ("2026-11", "kpi", "win_rate",
                                                                  "Two lost deals were duplicates.")
    assert d.opened_at == ts(OPENED_AT) and d.resolved_at is None
    assert (d.decision, d.resolution, d.adjustment_amount, d.adjustment_ids, d.revision) == (None, None, None, (), 1)
    assert d.history == (Step("e-open", "dispute_opened", ts(OPENED_AT), "m-1"),)  # opened by the manager
    assert book.get("DSP-1") == d


def test_subject_ref_may_be_absent_for_target_and_commission() -> None:
    book = new_book()
    d = open_dispute(book, subject_kind="commission", subject_ref=None)
    assert (d.subject_kind, d.subject_ref) == ("commission", None)


def test_upheld_with_an_amount_resolves_and_requests_one_appeal_adjustment() -> None:
    book = new_book()
    open_dispute(book, event_id="e-open")
    out = applied(apply(book, dispute_resolved("DSP-1", "upheld", adjustment_amount="1200.50",
                                               resolution="D-7 was r1's.", resolved_by="m-1",
                                               occurred_at=RESOLVED_AT, event_id="e-res")))
    d = out.dispute
    assert (d.state, d.decision, d.resolution) == (DisputeState.RESOLVED, "upheld", "D-7 was r1's.")
    assert d.adjustment_amount == Decimal("1200.50") and d.resolved_at == ts(RESOLVED_AT)
    assert d.adjustment_ids == ("adj:appeal:DSP-1",) and d.revision == 2
    assert [(s.event_id, s.type, s.by, s.decision, s.adjustment_amount) for s in d.history] == [
        ("e-open", "dispute_opened", "r1", None, None),
        ("e-res", "dispute_resolved", "m-1", "upheld", Decimal("1200.50")),
    ]
    # Contract §10: id adj:appeal:{dispute_id}, reason appeal, delta_commission = the amount, for the
    # disputed month's statement.
    assert out.adjustment == AdjustmentRequest(adjustment_id="adj:appeal:DSP-1", dispute_id="DSP-1", rep_id="r1",
                                               original_period="2026-11", delta_commission=Decimal("1200.50"),
                                               reason="appeal")


def test_partially_upheld_with_a_negative_amount_claws_back() -> None:
    book = new_book()
    open_dispute(book)
    out = applied(apply(book, dispute_resolved("DSP-1", "partially_upheld", adjustment_amount="-300.05")))
    assert out.adjustment is not None
    assert out.adjustment.delta_commission == Decimal("-300.05")
    assert out.dispute.adjustment_amount == Decimal("-300.05")
    assert out.dispute.decision == "partially_upheld"


@pytest.mark.parametrize("decision,amount", [("upheld", None), ("partially_upheld", None), ("rejected", None),
                                             ("upheld", "0"), ("partially_upheld", "0.00")])
def test_no_adjustment_without_a_non_zero_amount(decision: str, amount: str | None) -> None:
    book = new_book()
    open_dispute(book)
    out = applied(apply(book, dispute_resolved("DSP-1", decision, adjustment_amount=amount)))
    assert out.adjustment is None and out.dispute.adjustment_ids == ()
    assert out.dispute.state is DisputeState.RESOLVED and out.dispute.decision == decision
    assert out.dispute.adjustment_amount == (None if amount is None else Decimal(0))


def test_minus_zero_is_zero() -> None:
    book = new_book()
    open_dispute(book)
    out = applied(apply(book, dispute_resolved("DSP-1", "upheld", adjustment_amount="-0.00")))
    assert out.adjustment is None
    assert str(out.dispute.adjustment_amount) == "0.00"
    assert out.dispute.to_event("2026-11-24T02:00:00.000Z")["adjustment_amount"] == "0.00"


def test_a_rejection_never_pays_even_when_an_amount_slips_through() -> None:
    # The validator refuses an amount on a rejection; a record built without it still pays nothing.
    book = new_book()
    open_dispute(book)
    event = DisputeResolvedEvent(event_id="e-r", type="dispute_resolved", occurred_at=ts(RESOLVED_AT),
                                 dispute_id="DSP-1", decision="rejected", resolution="No.", resolved_by="m-1",
                                 adjustment_amount=Decimal("500.00"))
    out = applied(book.apply(event))
    assert out.adjustment is None and out.dispute.adjustment_amount is None and out.dispute.adjustment_ids == ()
    assert out.dispute.history[-1].adjustment_amount is None


def test_withdrawing_an_open_dispute() -> None:
    book = new_book()
    open_dispute(book)
    out = applied(apply(book, dispute_withdrawn("DSP-1", withdrawn_by="r1", occurred_at="2026-11-23T09:00:00+08:00",
                                                event_id="e-wd")))
    d = out.dispute
    assert out.adjustment is None
    assert (d.state, d.decision, d.resolution, d.adjustment_amount) == (DisputeState.WITHDRAWN, None, None, None)
    assert d.resolved_at == ts("2026-11-23T09:00:00+08:00") and d.revision == 2
    assert d.history[-1] == Step("e-wd", "dispute_withdrawn", ts("2026-11-23T09:00:00+08:00"), "r1")


# -- invalid transitions and unknown references ------------------------------------------

def _prepare(book: DisputeBook, before: str | None) -> None:
    if before is None:
        return
    open_dispute(book)
    if before == "resolved":
        applied(apply(book, dispute_resolved("DSP-1", "rejected")))
    elif before == "withdrawn":
        applied(apply(book, dispute_withdrawn("DSP-1")))


NEXT = {"open": lambda: dispute_opened("DSP-1", "r1"), "resolve": lambda: dispute_resolved("DSP-1", "upheld", "9.00"),
        "withdraw": lambda: dispute_withdrawn("DSP-1")}


@pytest.mark.parametrize("before,verb,why", [
    (None, "resolve", "no such dispute"),
    (None, "withdraw", "no such dispute"),
    ("open", "open", "the id is taken (the dispute is open); an id is opened once"),
    ("resolved", "open", "the id is taken (the dispute is resolved); an id is opened once"),
    ("resolved", "resolve", "it is already resolved"),
    ("resolved", "withdraw", "it is already resolved"),
    ("withdrawn", "open", "the id is taken (the dispute is withdrawn); an id is opened once"),
    ("withdrawn", "resolve", "it is already withdrawn"),
    ("withdrawn", "withdraw", "it is already withdrawn"),
])
def test_every_invalid_transition_is_rejected_and_changes_nothing(before: str | None, verb: str, why: str) -> None:
    book = new_book()
    _prepare(book, before)
    state_before = book.get("DSP-1")
    out = apply(book, NEXT[verb]())
    assert out == Rejected("invalid_transition", f"$.dispute_id: cannot {verb} dispute 'DSP-1': {why}")
    assert book.get("DSP-1") == state_before


def test_an_unknown_rep_is_an_unknown_reference_and_does_not_take_the_id() -> None:
    book = new_book()
    out = apply(book, dispute_opened("DSP-1", "r9"))
    assert out == Rejected("unknown_reference", "$.rep_id: unknown rep 'r9' (no roster entry)")
    assert book.get("DSP-1") is None
    assert open_dispute(book, rep_id="r2").team_id == "t2"  # the id is still free


def test_an_existing_id_is_an_invalid_transition_before_its_rep_is_looked_up() -> None:
    book = new_book()
    open_dispute(book)
    out = apply(book, dispute_opened("DSP-1", "r9"))
    assert isinstance(out, Rejected) and out.reason == "invalid_transition"


def test_a_manager_may_be_missing() -> None:
    assert open_dispute(new_book(), rep_id="r2").manager_id is None


# -- redelivery ---------------------------------------------------------------------------

def test_a_redelivered_event_is_a_duplicate_not_an_invalid_transition() -> None:
    book = new_book()
    opened = dispute_opened("DSP-1", "r1", event_id="e-open")
    applied(apply(book, opened))
    assert apply(book, opened) == Duplicate("DSP-1", "e-open")
    resolved = dispute_resolved("DSP-1", "upheld", adjustment_amount="10.00", event_id="e-res")
    first = applied(apply(book, resolved))
    assert apply(book, resolved) == Duplicate("DSP-1", "e-res")  # resolved already, yet no dead letter
    assert book.get("DSP-1") == first.dispute and first.dispute.revision == 2


# -- linked adjustments -------------------------------------------------------------------

def test_corrections_link_their_adjustments_once_in_any_state() -> None:
    book = new_book()
    open_dispute(book)
    linked = applied(book.link_adjustment("DSP-1", "adj:r1:2026-11:1")).dispute
    assert linked.adjustment_ids == ("adj:r1:2026-11:1",) and linked.revision == 2
    assert book.link_adjustment("DSP-1", "adj:r1:2026-11:1") == Duplicate("DSP-1", "adj:r1:2026-11:1")
    resolved = applied(apply(book, dispute_resolved("DSP-1", "upheld", adjustment_amount="50.00"))).dispute
    assert resolved.adjustment_ids == ("adj:r1:2026-11:1", "adj:appeal:DSP-1") and resolved.revision == 3
    later = applied(book.link_adjustment("DSP-1", "adj:r1:2026-11:2")).dispute
    assert later.adjustment_ids == ("adj:r1:2026-11:1", "adj:appeal:DSP-1", "adj:r1:2026-11:2")
    assert later.state is DisputeState.RESOLVED and later.revision == 4


def test_linking_to_an_unknown_dispute_is_an_unknown_reference() -> None:
    assert new_book().link_adjustment("DSP-404", "adj:r1:2026-11:1") == Rejected(
        "unknown_reference", "$.dispute_id: unknown dispute 'DSP-404'")


# -- overdue ------------------------------------------------------------------------------

def overdue_ids(book: DisputeBook, now: str) -> list[str]:
    return [o.dispute.dispute_id for o in book.overdue(ts(now))]


def test_overdue_after_five_business_days_and_weekends_do_not_count() -> None:
    book = new_book()
    open_dispute(book, occurred_at="2026-11-20T17:00:00+08:00")  # Friday 17:00
    # Business days: Mon 23, Tue 24, Wed 25, Thu 26, Fri 27 until 17:00 -> overdue after Fri 27 17:00.
    for now in ("2026-11-21T12:00:00+08:00", "2026-11-22T23:59:59+08:00",  # the weekend adds nothing
                "2026-11-26T17:00:00+08:00", "2026-11-27T16:59:59+08:00", "2026-11-27T17:00:00+08:00"):
        assert overdue_ids(book, now) == [], now
    assert overdue_ids(book, "2026-11-27T17:00:01+08:00") == ["DSP-1"]
    assert overdue_ids(book, "2026-11-28T10:00:00+08:00") == ["DSP-1"]
    [o] = book.overdue(ts("2026-11-30T09:00:00+08:00"))
    assert o.deadline == ts("2026-11-27T17:00:00+08:00")
    assert (o.dispute.rep_id, o.dispute.manager_id, o.dispute.period) == ("r1", "m-1", "2026-11")


def test_opened_on_a_weekend_counts_from_monday() -> None:
    book = new_book()
    open_dispute(book, occurred_at="2026-11-21T10:00:00+08:00")  # Saturday
    # Mon 23 .. Fri 27 are the five business days; the next weekend adds nothing; Mon 30 00:00 is the deadline.
    assert overdue_ids(book, "2026-11-28T12:00:00+08:00") == []
    assert overdue_ids(book, "2026-11-30T00:00:00+08:00") == []
    assert overdue_ids(book, "2026-11-30T00:00:01+08:00") == ["DSP-1"]


def test_overdue_across_the_spring_daylight_saving_change_in_berlin() -> None:
    book = new_book("Europe/Berlin")
    open_dispute(book, occurred_at="2026-03-27T17:00:00+01:00")  # Friday 17:00 CET = 16:00Z
    # Deadline: Friday 3 April 17:00 CEST = 15:00Z. Counting 7 × 24 hours would say 16:00Z.
    assert overdue_ids(book, "2026-04-03T15:00:00Z") == []
    assert overdue_ids(book, "2026-04-03T15:00:01Z") == ["DSP-1"]
    assert overdue_ids(book, "2026-04-03T15:30:00Z") == ["DSP-1"]


def test_overdue_across_the_autumn_daylight_saving_change_in_berlin() -> None:
    book = new_book("Europe/Berlin")
    open_dispute(book, occurred_at="2026-10-23T17:00:00+02:00")  # Friday 17:00 CEST = 15:00Z
    # Deadline: Friday 30 October 17:00 CET = 16:00Z, not 15:00Z.
    assert overdue_ids(book, "2026-10-30T15:30:00Z") == []
    assert overdue_ids(book, "2026-10-30T16:00:00Z") == []
    assert overdue_ids(book, "2026-10-30T16:00:01Z") == ["DSP-1"]


def test_resolved_and_withdrawn_disputes_are_never_overdue() -> None:
    book = new_book()
    for dispute_id in ("DSP-1", "DSP-2", "DSP-3"):
        open_dispute(book, dispute_id, occurred_at="2026-11-02T09:00:00+08:00")  # Monday -> due Monday 9th 09:00
    applied(apply(book, dispute_resolved("DSP-1", "rejected", occurred_at="2026-11-05T09:00:00+08:00")))
    applied(apply(book, dispute_withdrawn("DSP-2", occurred_at="2026-11-05T09:00:00+08:00")))
    assert overdue_ids(book, "2026-11-20T00:00:00+08:00") == ["DSP-3"]
    # Resolved late, after its alert fired: it leaves the list, so the caller resolves the alert.
    applied(apply(book, dispute_resolved("DSP-3", "upheld", occurred_at="2026-11-20T09:00:00+08:00")))
    assert overdue_ids(book, "2026-11-20T10:00:00+08:00") == []


def test_overdue_disputes_come_by_deadline_then_id() -> None:
    book = new_book()
    open_dispute(book, "DSP-b", occurred_at="2026-11-03T09:00:00+08:00")  # due Tue 10 Nov 09:00
    open_dispute(book, "DSP-c", occurred_at="2026-11-02T09:00:00+08:00")  # due Mon 9 Nov 09:00
    open_dispute(book, "DSP-a", occurred_at="2026-11-03T09:00:00+08:00")  # due Tue 10 Nov 09:00
    assert overdue_ids(book, "2026-11-10T08:00:00+08:00") == ["DSP-c"]
    assert overdue_ids(book, "2026-11-10T09:30:00+08:00") == ["DSP-c", "DSP-a", "DSP-b"]


# -- state as JSON and the output event -------------------------------------------------

def _history_book() -> DisputeBook:
    book = new_book()
    open_dispute(book, occurred_at="2026-11-20T10:00:00.123456+08:00", subject_ref="D-7", event_id="e-open")
    applied(book.link_adjustment("DSP-1", "adj:r1:2026-11:1"))
    applied(apply(book, dispute_resolved("DSP-1", "partially_upheld", adjustment_amount="-0.05",
                                         resolution="半数成立。", occurred_at="2026-11-24T10:00:00Z",
                                         event_id="e-res")))
    open_dispute(book, "DSP-2", rep_id="r2", subject_kind="target", subject_ref=None)
    return book


def test_state_round_trips_through_json() -> None:
    book = _history_book()
    for dispute in book.disputes.values():
        stored = json.loads(json.dumps(dispute.to_json()))  # JSON-compatible: no Decimal, no datetime
        assert Dispute.from_json(stored) == dispute
        assert Dispute.from_json(stored).to_json() == stored
    resolved = book.disputes["DSP-1"].to_json()
    assert resolved["adjustment_amount"] == "-0.05" and resolved["state"] == "resolved"
    assert resolved["opened_at"] == "2026-11-20T10:00:00.123456+08:00"  # exact, with its offset


def test_a_restored_book_goes_on_where_the_stored_one_stopped() -> None:
    book = _history_book()
    restored = new_book()
    for dispute_id, dispute in book.disputes.items():
        restored.load(dispute_id, json.loads(json.dumps(dispute.to_json())))
    assert restored.disputes == book.disputes
    assert apply(restored, dispute_resolved("DSP-1", "upheld", event_id="e-res-2")) == Rejected(
        "invalid_transition", "$.dispute_id: cannot resolve dispute 'DSP-1': it is already resolved")
    assert apply(restored, dispute_resolved("DSP-1", "upheld", event_id="e-res")) == Duplicate("DSP-1", "e-res")
    out = applied(apply(restored, dispute_withdrawn("DSP-2", withdrawn_by="r2")))
    assert out.dispute.revision == 2 and out.dispute.state is DisputeState.WITHDRAWN


def test_the_dispute_event_matches_its_schema_and_the_contract() -> None:
    book = _history_book()
    event = book.disputes["DSP-1"].to_event("2026-11-24T10:00:00.050Z")
    assert list(validator("dispute").iter_errors(event)) == []
    # Revision 3: opened, one linked adjustment, resolved.
    assert (event["event_id"], event["revision"], event["state"]) == ("dispute:DSP-1:3", 3, "resolved")
    assert (event["rep_id"], event["team_id"], event["manager_id"]) == ("r1", "t1", "m-1")
    assert (event["subject_kind"], event["subject_ref"], event["claim"]) == ("deal", "D-7", "This deal is mine.")
    assert (event["decision"], event["resolution"], event["adjustment_amount"]) == ("partially_upheld", "半数成立。",
                                                                                   "-0.05")
    assert event["opened_at"] == "2026-11-20T02:00:00.123Z"  # 10:00:00.123456 at +08:00, in UTC, milliseconds
    assert event["resolved_at"] == "2026-11-24T10:00:00.000Z"
    assert event["adjustment_ids"] == ["adj:r1:2026-11:1", "adj:appeal:DSP-1"]
    assert [(h["event_id"], h["type"], h["by"], h["decision"], h["adjustment_amount"]) for h in event["history"]] == [
        ("e-open", "dispute_opened", "r1", None, None),
        ("e-res", "dispute_resolved", "m-1", "partially_upheld", "-0.05"),
    ]
    still_open = book.disputes["DSP-2"].to_event("2026-11-24T10:00:00.050Z")
    assert list(validator("dispute").iter_errors(still_open)) == []
    assert (still_open["state"], still_open["manager_id"], still_open["resolved_at"]) == ("open", None, None)


# -- the roster as directory ---------------------------------------------------------------

def _entry(rep_id: str, team_id: str, manager_id: str, effective_at: str) -> RosterEntry:
    at = ts(effective_at)
    return RosterEntry(rep_id=rep_id, team_id=team_id, manager_id=manager_id, status="active", effective_at=at,
                       hired_at=at, name=None, territory_factor=Decimal("1.0"), occurred_at=at,
                       event_id=f"{rep_id}:{effective_at}")


def test_roster_directory_places_the_rep_when_the_dispute_is_opened() -> None:
    roster = Roster()
    roster.add(_entry("r1", "t1", "m-1", "2026-01-01T00:00:00+08:00"))
    roster.add(_entry("r1", "t2", "m-2", "2026-11-15T00:00:00+08:00"))  # moved mid-November
    look_up = roster_directory(roster)
    assert look_up("r1", ts("2026-11-20T10:00:00+08:00")) == Placement("t2", "m-2")
    assert look_up("r1", ts("2026-11-10T10:00:00+08:00")) == Placement("t1", "m-1")
    assert look_up("r1", ts("2025-12-31T10:00:00+08:00")) == Placement("t1", "m-1")  # before the first entry
    assert look_up("r9", ts("2026-11-20T10:00:00+08:00")) is None
    book = DisputeBook(look_up)
    assert open_dispute(book).team_id == "t2"


# -- every sequence against a brute-force state machine -------------------------------------

BUILD = {"open": lambda dispute_id, rep_id: dispute_opened(dispute_id, rep_id),
         "resolve": lambda dispute_id, rep_id: dispute_resolved(dispute_id, "upheld", adjustment_amount="1.00"),
         "withdraw": lambda dispute_id, rep_id: dispute_withdrawn(dispute_id)}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["open", "resolve", "withdraw", "link", "replay"]),
                          st.sampled_from(["A", "B"]), st.sampled_from(["r1", "r9"])), max_size=12))
def test_any_sequence_follows_the_state_machine(steps: list[tuple[str, str, str]]) -> None:
    book = new_book()
    states: dict[str, str] = {}  # the model: dispute id -> state
    changes: dict[str, int] = {}  # the model: dispute id -> accepted changes (the revision)
    sent: list[dict[str, Any]] = []
    for n, (action, dispute_id, rep_id) in enumerate(steps):
        if action == "link":
            out = book.link_adjustment(dispute_id, f"adj:{n}")
            expected = Applied if dispute_id in states else Rejected
        elif action == "replay":
            if not sent:
                continue
            out = apply(book, sent[-1])
            expected = Duplicate
        else:
            event = BUILD[action](dispute_id, rep_id)
            out = apply(book, event)
            before = states.get(dispute_id)
            # Opening needs a new id and a known rep; resolving and withdrawing need an open dispute.
            ok = (before is None and rep_id == "r1") if action == "open" else before == "open"
            expected = Applied if ok else Rejected
            if ok:
                states[dispute_id] = {"open": "open", "resolve": "resolved", "withdraw": "withdrawn"}[action]
                sent.append(event)
        assert isinstance(out, expected), (action, dispute_id, out)
        if isinstance(out, Applied):
            changes[dispute_id] = changes.get(dispute_id, 0) + 1
            assert out.dispute.revision == changes[dispute_id]
    assert {i: d.state.value for i, d in book.disputes.items()} == states
    assert all(d.revision == len(d.history) + sum(not a.startswith("adj:appeal:") for a in d.adjustment_ids)
               for d in book.disputes.values())


def test_the_deadline_counts_in_the_configured_zone() -> None:
    d = open_dispute(new_book(), occurred_at="2026-11-20T20:00:00+08:00")  # 12:00Z, Friday in Shanghai
    assert d.deadline(ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # Friday 27 20:00
    # At +14:00 the same instant is Saturday 02:00: counting starts Monday 23 00:00, due Monday 30 00:00 (+14:00).
    assert d.deadline(ZoneInfo("Pacific/Kiritimati")) == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_an_adjustment_request_round_trips_through_json() -> None:
    request = AdjustmentRequest("adj:appeal:DSP-1", "DSP-1", "r1", "2026-11", Decimal("-0.05"))
    assert AdjustmentRequest.from_json(json.loads(json.dumps(request.to_json()))) == request


def test_the_overdue_alert_names_the_dispute_its_manager_and_its_local_deadline() -> None:
    book = new_book()
    d = open_dispute(book, "DSP-3", "r2", occurred_at="2026-11-20T17:00:00+08:00")  # r2 has no manager
    shanghai = ZoneInfo("Asia/Shanghai")
    firing = overdue_alert(d, True, shanghai, "2026-11-27T10:00:00.000Z")
    assert validator("alert").is_valid(firing)
    assert (firing["alert_id"], firing["event_id"], firing["manager_id"], firing["value"], firing["threshold"]) == (
        "dispute_overdue:rep:r2:2026-11:DSP-3", "dispute_overdue:rep:r2:2026-11:DSP-3:firing", None, None, 5)
    assert "due by 2026-11-27 17:00" in firing["message"] and "2026-11-27 17:00" in firing["message_zh"]
    withdrawn = applied(apply(book, dispute_withdrawn("DSP-3", withdrawn_by="r2"))).dispute
    resolved = overdue_alert(withdrawn, False, shanghai, "2026-11-28T10:00:00.000Z")
    assert validator("alert").is_valid(resolved)
    assert (resolved["state"], resolved["event_id"]) == ("resolved", "dispute_overdue:rep:r2:2026-11:DSP-3:resolved")
    assert "withdrawn" in resolved["message"] and "撤回" in resolved["message_zh"]
