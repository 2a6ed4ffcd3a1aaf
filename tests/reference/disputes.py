"""Brute-force reference model of contract §10 (Appeals) over a list of input events.

Written from docs/contract.md only, separately from ``core/`` and ``streams/`` on
purpose, and sharing no code with them or with ``tests/reference/model.py``: it imports
only the standard library. Nothing is kept incrementally. Every dispute is worked out on
its own by scanning the whole event list for the events that name it, and the roster, the
closed months and the clock a dispute event sees are found by filtering the events that
come before it in the list.

Public functions:
- ``expected_appeals(events, timezone, as_of)``: the expected final ``dispute`` state
  per dispute_id, the dead-lettered dispute events with their reasons, the skipped
  redeliveries, the ``dispute_overdue`` alerts and the appeal payroll adjustments.
- ``overdue_deadline(opened_at, timezone)`` and ``is_overdue(opened_at, as_of, timezone)``:
  the business-day rule of §10, worked out by stepping through local calendar days.
- ``normalise_dispute(output)``: an engine ``dispute`` output in the form of
  ``ExpectedDispute.record()``, for a key-by-key comparison.

Readings chosen where the contract leaves room (§10 and its Decisions block):

1. **Order.** ``events`` is the whole input in the order it was processed (every topic in
   one list, as the tests produce it). Dispute events apply in that order. A dispute event
   sees only the roster entries and the ``close_period`` commands that come before it in
   the list: ``unknown_reference`` is judged, and team and manager are fixed, at the
   opening ("stay with the dispute"), so a roster entry arriving after the opening changes
   nothing. A test that sends the whole roster first gets the final-roster answer.
2. **Redeliveries.** An event whose ``event_id`` is already in its dispute's history is
   skipped (listed in ``Appeals.duplicates``), never dead-lettered. A repeated
   ``event_id`` that was *rejected* the first time is not in any history, so it is judged
   again: it is dead-lettered again, or applies if the dispute's state now allows it (a
   resolution that arrived before its opening). An ``event_id`` is matched within its own
   dispute only.
3. **Checks, in order**: for an opening, an id that exists in any state is
   ``invalid_transition`` (before the rep is looked at); then a ``rep_id`` with no roster
   entry at all (before the opening in the list) is ``unknown_reference``, and the id stays
   free. For a resolution or withdrawal, an unknown id or a dispute that is not open is
   ``invalid_transition``. One schema rule is checked because the Decisions block states
   it: ``decision: rejected`` with a non-null ``adjustment_amount`` is
   ``schema_violation``, before everything else. Every other schema rule of §3/§9 is
   assumed to hold (the input validator is tested elsewhere).
4. **Team and manager**: the rep's entry in force at the opening's ``occurred_at`` (the
   last with ``effective_at`` ≤ it; entries ordered by ``effective_at``, then
   ``occurred_at``, then ``event_id``, as §3 orders them), or the rep's first entry when
   the opening predates every entry. Its ``manager_id`` or null. A rep who has left can
   appeal.
5. **Money.** ``adjustment_amount`` is output with exactly 2 decimals and a ``-`` sign
   when negative; ``-0.00`` is ``0.00``. It is set at the top level only while the state
   is ``resolved`` (null when the resolution had none); each history entry carries its own
   (null for openings, withdrawals and resolutions without one).
6. **The appeal's adjustment**: only for ``upheld`` or ``partially_upheld`` with a
   non-zero amount. ``apply_in_period`` is the first month strictly after the disputed one
   that no ``close_period`` *before the resolution in the list* closed, whether or not the
   disputed month itself is closed (the ledger picks it when it posts, and a month closed
   later cannot move a posted adjustment). Its id joins ``adjustment_ids`` with the
   decision, in the same revision.
7. **Revision**: one per applied event (history entry). Adjustments caused by corrections
   (target events with a ``dispute_id``) are not modelled: the model does not run payroll.
   ``ExpectedDispute.correction_event_ids`` lists the target events naming the dispute;
   when it is not empty, ``revision`` and ``adjustment_ids`` are lower bounds, not exact.
8. **The clock** is the event-time clock of §4: after each event of the list, the
   greatest ``occurred_at`` of the accepted events so far. Every non-dispute event in the
   list is taken as accepted; a dispute event counts unless it was dead-lettered or
   skipped as a redelivery. ``as_of``, when given, is a later reading of the clock after
   the last event (a refresh tick, or the wall clock); it never moves the clock back.
9. **Overdue.** Deadline: a weekday opening's local date stepped forward over 5 local
   Mondays–Fridays, at the opening's local wall-clock time; a Saturday or Sunday opening
   counts from the next Monday 00:00. The wall time is read back in the zone with
   ``fold=0``: a time the clocks skip takes the offset before the change, a repeated one
   its first occurrence. Overdue means clock > deadline, strictly. The alert fires if,
   after some event while the dispute was open, the clock was past the deadline (the event
   that resolves or withdraws it has already closed it, so its own ``occurred_at`` cannot
   fire the alert); it is ``resolved`` if the dispute then ended, ``firing`` if it is still
   open. Once per dispute: an id is never reopened.
10. **Alert identity.** The contract names the rule, the rep's manager and "once", but no
    ``scope``/``id``/``period`` for this rule, so the model gives the alert by dispute_id
    with ``rep_id``, ``team_id``, ``manager_id`` (the dispute's), the disputed ``period``,
    the ``deadline`` and the final ``state``; it does not fix an ``alert_id``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_DAYS = 5  # contract §10: "open for more than 5 business days"
SATURDAY = 5  # date.weekday(): Monday 0 ... Friday 4, Saturday 5, Sunday 6


# --------------------------------------------------------------------------- time
def parse_instant(text: str) -> datetime:
    """RFC 3339 timestamp -> aware datetime in UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"naive timestamp {text!r}")
    return value.astimezone(UTC)


def _instant(value: datetime | str) -> datetime:
    return parse_instant(value) if isinstance(value, str) else value.astimezone(UTC)


def is_business_day(day: date) -> bool:
    """Monday to Friday; public holidays are not known (contract §10)."""
    return day.weekday() < SATURDAY


def overdue_deadline(opened_at: datetime | str, timezone: str = "Asia/Shanghai") -> datetime:
    """The instant after which a dispute opened at ``opened_at`` is overdue (UTC).

    Steps through local calendar days: from the opening's local date (or, for a weekend
    opening, the next Monday at 00:00), forward one day at a time, counting Mondays to
    Fridays until 5 are counted, then the same local wall-clock time on that day."""
    tz = ZoneInfo(timezone)
    local = _instant(opened_at).astimezone(tz)
    day = local.date()
    hour, minute, second, micro = local.hour, local.minute, local.second, local.microsecond
    while not is_business_day(day):  # a weekend opening counts from Monday 00:00
        day += timedelta(days=1)
        hour = minute = second = micro = 0
    counted = 0
    while counted < BUSINESS_DAYS:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    # fold=0: a skipped wall time takes the offset before the change, a repeated one its first occurrence.
    wall = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tz, fold=0)
    return wall.astimezone(UTC)


def is_overdue(opened_at: datetime | str, as_of: datetime | str, timezone: str = "Asia/Shanghai") -> bool:
    """More than 5 business days of an open dispute have passed at ``as_of``."""
    return _instant(as_of) > overdue_deadline(opened_at, timezone)
