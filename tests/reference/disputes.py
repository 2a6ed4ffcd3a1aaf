"""Brute-force reference model of contract §10 (Appeals) over a list of input events.

Written from docs/contract.md only, separately from ``core/`` and ``streams/`` on
purpose, and sharing no code with them or with ``tests/reference/model.py``: it imports
only the standard library. Nothing is kept incrementally. Every dispute is worked out on
its own by scanning the whole event list for the events that name it, and the roster, the
closed months and the clock a dispute event sees are found by filtering the events that
come before it in the list.

Public surface:
- ``expected_appeals(events, timezone="Asia/Shanghai", as_of=None) -> Appeals``: the
  expected final ``dispute`` state per dispute_id (``ExpectedDispute``, ``.record()`` in
  the output's shape), the dead-lettered dispute events with their reasons
  (``DeadLetter``), the positions of the redeliveries skipped, the ``dispute_overdue``
  alerts (``OverdueAlert``) and the appeal payroll adjustments (``AppealAdjustment``).
- ``overdue_deadline(opened_at, timezone) -> datetime`` and
  ``is_overdue(opened_at, as_of, timezone) -> bool``: the business-day rule of §10,
  worked out by stepping through local calendar days.
- ``normalise_dispute(output) -> dict``: an engine ``dispute`` output in the form of
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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

BUSINESS_DAYS = 5  # contract §10: "open for more than 5 business days"
SATURDAY = 5  # date.weekday(): Monday 0 ... Friday 4, Saturday 5, Sunday 6

OPENED, RESOLVED, WITHDRAWN = "dispute_opened", "dispute_resolved", "dispute_withdrawn"
DISPUTE_TYPES = (OPENED, RESOLVED, WITHDRAWN)
# The input types of contract §3 and §10; anything else in the list (outputs, say) is ignored.
INPUT_TYPES = ("deal", "complaint", "activity", "roster", "target", "close_period", *DISPUTE_TYPES)
BY_FIELD = {OPENED: "opened_by", RESOLVED: "resolved_by", WITHDRAWN: "withdrawn_by"}
STATE_AFTER = {OPENED: "open", RESOLVED: "resolved", WITHDRAWN: "withdrawn"}
PAYING_DECISIONS = ("upheld", "partially_upheld")
APPLIED = "applied"
DUPLICATE = "duplicate"
OVERDUE_RULE = "dispute_overdue"


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


# --------------------------------------------------------------------------- money and months
def signed_money(text: str | int | Decimal) -> str:
    """Output money that may be negative: exactly 2 decimals; ``-0.00`` is ``0.00``."""
    value = Decimal(str(text))
    if value == 0:
        value = Decimal(0)
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def month_after(label: str) -> str:
    """`YYYY-MM` of the month after ``label``."""
    year, month = int(label[:4]), int(label[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


# --------------------------------------------------------------------------- expected outputs
@dataclass(frozen=True)
class HistoryEntry:
    """One applied event of a dispute, as its ``history`` lists it."""

    event_id: str
    type: str
    occurred_at: datetime
    by: str
    decision: str | None = None
    adjustment_amount: str | None = None

    def record(self) -> dict[str, Any]:
        """The history entry's fields, timestamps as UTC datetimes."""
        return {"event_id": self.event_id, "type": self.type, "occurred_at": self.occurred_at, "by": self.by,
                "decision": self.decision, "adjustment_amount": self.adjustment_amount}


@dataclass(frozen=True)
class ExpectedDispute:
    """The final ``dispute`` output of one dispute_id (contract §10)."""

    dispute_id: str
    state: str  # open | resolved | withdrawn
    rep_id: str
    team_id: str
    manager_id: str | None
    period: str
    subject_kind: str
    subject_ref: str | None
    claim: str
    decision: str | None
    resolution: str | None
    adjustment_amount: str | None
    history: tuple[HistoryEntry, ...]
    adjustment_ids: tuple[str, ...]
    opened_at: datetime
    resolved_at: datetime | None
    correction_event_ids: tuple[str, ...] = ()  # target events naming the dispute (not modelled, reading 7)

    @property
    def revision(self) -> int:
        """One per applied event (corrections' adjustments are not modelled)."""
        return len(self.history)

    @property
    def event_id(self) -> str:
        """``dispute:{dispute_id}:{revision}``."""
        return f"dispute:{self.dispute_id}:{self.revision}"

    def record(self) -> dict[str, Any]:
        """The output's fields but ``emitted_at``; timestamps as UTC datetimes (see ``normalise_dispute``)."""
        return {
            "event_id": self.event_id, "type": "dispute", "schema_version": 1,
            "dispute_id": self.dispute_id, "revision": self.revision, "state": self.state,
            "rep_id": self.rep_id, "team_id": self.team_id, "manager_id": self.manager_id, "period": self.period,
            "subject_kind": self.subject_kind, "subject_ref": self.subject_ref, "claim": self.claim,
            "decision": self.decision, "resolution": self.resolution, "adjustment_amount": self.adjustment_amount,
            "history": [h.record() for h in self.history], "adjustment_ids": list(self.adjustment_ids),
            "opened_at": self.opened_at, "resolved_at": self.resolved_at,
        }


@dataclass(frozen=True)
class DeadLetter:
    """A dispute event expected on ``sales.deadletter``; ``position`` is its index in the event list."""

    position: int
    event_id: str
    type: str
    dispute_id: str
    reason: str  # invalid_transition | unknown_reference | schema_violation


@dataclass(frozen=True)
class OverdueAlert:
    """The ``dispute_overdue`` alert of one dispute, in its final state (reading 10)."""

    dispute_id: str
    rep_id: str
    team_id: str
    manager_id: str | None
    period: str
    deadline: datetime
    state: str  # firing | resolved
    rule: str = OVERDUE_RULE


@dataclass(frozen=True)
class AppealAdjustment:
    """The ``payroll.adjustment`` an upheld or partially upheld decision with an amount posts."""

    dispute_id: str
    rep_id: str
    original_period: str
    apply_in_period: str
    delta_commission: str
    delta_revenue: str = "0.00"
    reason: str = "appeal"
    deal_id: str | None = None

    @property
    def adjustment_id(self) -> str:
        """``adj:appeal:{dispute_id}``."""
        return f"adj:appeal:{self.dispute_id}"

    @property
    def key(self) -> str:
        """The ``sales.payroll`` key, ``{rep_id}:{original_period}``."""
        return f"{self.rep_id}:{self.original_period}"

    @property
    def original_statement_id(self) -> str:
        """The statement of the disputed month it corrects."""
        return f"stmt:{self.rep_id}:{self.original_period}"

    def record(self) -> dict[str, Any]:
        """The fields a comparison checks (not ``posted_at``, ``idempotency_key``, ``emitted_at``)."""
        return {"adjustment_id": self.adjustment_id, "rep_id": self.rep_id,
                "original_period": self.original_period, "original_statement_id": self.original_statement_id,
                "apply_in_period": self.apply_in_period, "delta_revenue": self.delta_revenue,
                "delta_commission": self.delta_commission, "reason": self.reason, "deal_id": self.deal_id,
                "dispute_id": self.dispute_id}


@dataclass(frozen=True)
class Appeals:
    """Everything contract §10 expects from one event list."""

    disputes: dict[str, ExpectedDispute]  # by dispute_id
    dead_letters: tuple[DeadLetter, ...]  # in list order
    duplicates: tuple[int, ...]  # positions of redeliveries skipped
    overdue: dict[str, OverdueAlert]  # by dispute_id, only the disputes whose alert fired
    adjustments: dict[str, AppealAdjustment]  # by adjustment_id
    as_of: datetime | None  # the final clock

    def dead_letter_reasons(self) -> dict[str, list[str]]:
        """event_id -> the reasons it was dead-lettered with, in list order."""
        out: dict[str, list[str]] = {}
        for d in self.dead_letters:
            out.setdefault(d.event_id, []).append(d.reason)
        return out


# --------------------------------------------------------------------------- the model
def _roster_before(events: list[Mapping[str, Any]], position: int, rep: str) -> list[Mapping[str, Any]]:
    """The rep's roster entries that come before ``position`` in the list, one per event_id, in §3's order."""
    unique: dict[str, Mapping[str, Any]] = {}
    for ev in events[:position]:
        if ev.get("type") == "roster" and ev["rep_id"] == rep:
            unique.setdefault(ev["event_id"], ev)
    return sorted(unique.values(), key=lambda e: (parse_instant(e["effective_at"]), parse_instant(e["occurred_at"]),
                                                  e["event_id"]))


def _entry_in_force(entries: list[Mapping[str, Any]], t: datetime) -> Mapping[str, Any]:
    """The last entry with effective_at <= t, or the first entry when t predates them all (reading 4)."""
    chosen = entries[0]
    for entry in entries:
        if parse_instant(entry["effective_at"]) <= t:
            chosen = entry
    return chosen


def _state(history: list[Mapping[str, Any]]) -> str | None:
    return STATE_AFTER[history[-1]["type"]] if history else None


def _judge(ev: Mapping[str, Any], history: list[Mapping[str, Any]], events: list[Mapping[str, Any]],
           position: int) -> str:
    """``applied``, ``duplicate`` or a dead-letter reason for one dispute event (reading 3)."""
    kind = ev["type"]
    if kind == RESOLVED and ev.get("decision") == "rejected" and ev.get("adjustment_amount") is not None:
        return "schema_violation"  # a rejection never pays
    if any(h["event_id"] == ev["event_id"] for h in history):
        return DUPLICATE
    if kind == OPENED:
        if history:
            return "invalid_transition"
        if not _roster_before(events, position, ev["rep_id"]):
            return "unknown_reference"
        return APPLIED
    return APPLIED if _state(history) == "open" else "invalid_transition"


def _clock_after(events: list[Mapping[str, Any]], accepted: list[bool], position: int) -> datetime | None:
    """The event-time clock after the event at ``position``: the greatest occurred_at accepted so far."""
    times = [parse_instant(ev["occurred_at"])
             for ev, ok in zip(events[:position + 1], accepted[:position + 1], strict=True) if ok]
    return max(times, default=None)


def expected_appeals(events: Iterable[Mapping[str, Any]], timezone: str = "Asia/Shanghai",
                     as_of: datetime | str | None = None) -> Appeals:
    """The expected §10 outputs of an event list given in processing order (module docstring, readings 1–10)."""
    evs = list(events)
    dispute_ids: list[str] = []
    for ev in evs:
        if ev.get("type") in DISPUTE_TYPES and ev["dispute_id"] not in dispute_ids:
            dispute_ids.append(ev["dispute_id"])

    # Verdicts, one dispute at a time, each over the whole list.
    verdicts: dict[int, str] = {}
    histories: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for dispute_id in dispute_ids:
        history: list[tuple[int, Mapping[str, Any]]] = []
        for position, ev in enumerate(evs):
            if ev.get("type") not in DISPUTE_TYPES or ev["dispute_id"] != dispute_id:
                continue
            verdict = _judge(ev, [h for _, h in history], evs, position)
            verdicts[position] = verdict
            if verdict == APPLIED:
                history.append((position, ev))
        if history:
            histories[dispute_id] = history

    accepted = [ev.get("type") in INPUT_TYPES and verdicts.get(i, APPLIED) == APPLIED for i, ev in enumerate(evs)]
    final_clock = _clock_after(evs, accepted, len(evs) - 1)
    if as_of is not None:
        later = _instant(as_of)
        final_clock = later if final_clock is None else max(final_clock, later)

    disputes: dict[str, ExpectedDispute] = {}
    overdue: dict[str, OverdueAlert] = {}
    adjustments: dict[str, AppealAdjustment] = {}
    for dispute_id, history in histories.items():
        open_position, opening = history[0]
        opened_at = parse_instant(opening["occurred_at"])
        entry = _entry_in_force(_roster_before(evs, open_position, opening["rep_id"]), opened_at)
        team, manager = entry["team_id"], entry.get("manager_id")
        end_position, ending = history[-1] if len(history) > 1 else (None, None)

        entries = []
        for _, ev in history:
            given = ev.get("adjustment_amount") if ev["type"] == RESOLVED else None
            entries.append(HistoryEntry(ev["event_id"], ev["type"], parse_instant(ev["occurred_at"]),
                                        ev[BY_FIELD[ev["type"]]], ev["decision"] if ev["type"] == RESOLVED else None,
                                        None if given is None else signed_money(given)))
        resolution = ending if ending is not None and ending["type"] == RESOLVED else None
        amount = None if resolution is None else entries[-1].adjustment_amount

        adjustment_ids: tuple[str, ...] = ()
        if (resolution is not None and end_position is not None and resolution["decision"] in PAYING_DECISIONS
                and amount is not None and Decimal(amount) != 0):
            closed = {ev["period"] for ev in evs[:end_position] if ev.get("type") == "close_period"}
            apply_in = month_after(opening["period"])
            while apply_in in closed:
                apply_in = month_after(apply_in)
            adjustment = AppealAdjustment(dispute_id, opening["rep_id"], opening["period"], apply_in, amount)
            adjustments[adjustment.adjustment_id] = adjustment
            adjustment_ids = (adjustment.adjustment_id,)

        dispute = ExpectedDispute(
            dispute_id=dispute_id, state=STATE_AFTER[history[-1][1]["type"]], rep_id=opening["rep_id"],
            team_id=team, manager_id=manager, period=opening["period"], subject_kind=opening["subject_kind"],
            subject_ref=opening.get("subject_ref"), claim=opening["claim"],
            decision=None if resolution is None else resolution["decision"],
            resolution=None if resolution is None else resolution["resolution"], adjustment_amount=amount,
            history=tuple(entries), adjustment_ids=adjustment_ids, opened_at=opened_at,
            resolved_at=None if ending is None else parse_instant(ending["occurred_at"]),
            correction_event_ids=tuple(ev["event_id"] for ev in evs
                                       if ev.get("type") == "target" and ev.get("dispute_id") == dispute_id))
        disputes[dispute_id] = dispute

        # Overdue (reading 9): the clock while the dispute was open, i.e. after the event before its end.
        deadline = overdue_deadline(opened_at, timezone)
        seen = final_clock if end_position is None else _clock_after(evs, accepted, end_position - 1)
        if seen is not None and seen > deadline:
            overdue[dispute_id] = OverdueAlert(dispute_id, dispute.rep_id, team, manager, dispute.period, deadline,
                                               "firing" if end_position is None else "resolved")

    dead_letters = tuple(DeadLetter(i, evs[i]["event_id"], evs[i]["type"], evs[i]["dispute_id"], verdict)
                         for i, verdict in sorted(verdicts.items()) if verdict not in (APPLIED, DUPLICATE))
    duplicates = tuple(i for i, verdict in sorted(verdicts.items()) if verdict == DUPLICATE)
    return Appeals(disputes, dead_letters, duplicates, overdue, adjustments, final_clock)


def normalise_dispute(output: Mapping[str, Any]) -> dict[str, Any]:
    """An engine ``dispute`` output in the form of ``ExpectedDispute.record()``: no ``emitted_at``, timestamps
    parsed to UTC datetimes, so that ``normalise_dispute(got) == want.record()`` compares every other field."""
    out = {k: v for k, v in output.items() if k != "emitted_at"}
    out["opened_at"] = parse_instant(output["opened_at"])
    out["resolved_at"] = None if output.get("resolved_at") is None else parse_instant(output["resolved_at"])
    out["history"] = [{**h, "occurred_at": parse_instant(h["occurred_at"])} for h in output["history"]]
    out["adjustment_ids"] = list(output["adjustment_ids"])
    return out
