"""Appeals (申诉, contract §10): the state of every dispute and the rules that change it.

A rep, or their manager for them, opens a dispute about a month's figure; the manager or
payroll resolves it (upheld, partially upheld or rejected), or it is withdrawn. Both ends
are final. ``DisputeBook.apply`` takes one validated dispute event and returns its outcome:

- ``Applied``: the dispute's new state, to store under its id and publish on
  ``sales.appeals`` (``Dispute.to_event``), and an ``AdjustmentRequest`` for the payroll
  ledger when an upheld or partially upheld decision names a non-zero amount;
- ``Duplicate``: the event is already in the dispute's history (a redelivery): skip it;
- ``Rejected``: ``invalid_transition`` or ``unknown_reference`` with a one-line detail,
  for the dead-letter topic.

``DisputeBook.overdue(now)`` lists the open disputes more than 5 business days old on the
engine's clock, for the ``dispute_overdue`` alert (``overdue_alert`` builds its events).
``link_adjustment`` records a payroll adjustment caused by a correction naming a dispute
(``AdjustmentLink``). The rep's team and manager come from an injected ``RepDirectory``.
Nothing here reads a clock, a topic or a table: the stage (streams/dispute_stage.py)
stores ``Dispute.to_json`` per id and restores it with ``DisputeBook.load``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sales_scorecard.schemas.records import (
    DisputeEvent,
    DisputeOpenedEvent,
    DisputeResolvedEvent,
    DisputeWithdrawnEvent,
)

from .alert_rules import alert_key
from .money import format_money
from .periods import business_deadline, format_timestamp, parse_timestamp
from .roster import Roster

#: Dead-letter reasons (contract §9 codes, added by §10).
INVALID_TRANSITION = "invalid_transition"
UNKNOWN_REFERENCE = "unknown_reference"
#: Business days a dispute may stay open before it is overdue.
DAYS_TO_DECIDE = 5
#: Decisions whose ``adjustment_amount`` is paid.
PAYING_DECISIONS = frozenset({"upheld", "partially_upheld"})
#: ``reason`` of every payroll adjustment an appeal causes.
APPEAL_REASON = "appeal"
#: The alert rule of a dispute left open too long (contract §8 alert, §10).
OVERDUE_RULE = "dispute_overdue"
OVERDUE_SEVERITY = "warning"


class DisputeState(StrEnum):
    """Where a dispute stands."""

    OPEN = "open"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Placement:
    """A rep's team and manager (the manager hears the rep's alerts)."""

    team_id: str
    manager_id: str | None


class RepDirectory(Protocol):
    """Where a rep sits at an instant, by the roster; None for a rep it does not know."""

    def __call__(self, rep_id: str, at: datetime, /) -> Placement | None: ...


def roster_directory(roster: Roster) -> RepDirectory:
    """A ``RepDirectory`` over a roster: the rep's entry in force at the instant, else (a
    dispute sent before the rep's first entry takes effect) that first entry; None for a
    rep with no entry at all. A rep who has left is still known."""

    def placement(rep_id: str, at: datetime, /) -> Placement | None:
        history = roster.reps.get(rep_id)
        if history is None or not history.entries:
            return None
        entry = history.at(at) or history.entries[0]
        return Placement(entry.team_id, entry.manager_id)

    return placement


def appeal_adjustment_id(dispute_id: str) -> str:
    """Id of the payroll adjustment a decision posts: ``adj:appeal:{dispute_id}``."""
    return f"adj:appeal:{dispute_id}"


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True, slots=True)
class Step:
    """One accepted event of a dispute: who did what when (a resolution adds its decision and
    amount; the claim and the resolution text are the dispute's own)."""

    event_id: str
    type: str  #: ``dispute_opened``, ``dispute_resolved`` or ``dispute_withdrawn``
    occurred_at: datetime
    by: str  #: ``opened_by``, ``resolved_by`` or ``withdrawn_by``
    decision: str | None = None
    adjustment_amount: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the state table (exact)."""
        return {"event_id": self.event_id, "type": self.type, "occurred_at": self.occurred_at.isoformat(),
                "by": self.by, "decision": self.decision, "adjustment_amount": _money_text(self.adjustment_amount)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Step:
        """Inverse of ``to_json``."""
        return cls(d["event_id"], d["type"], parse_timestamp(d["occurred_at"]), d["by"], d["decision"],
                   _money(d["adjustment_amount"]))

    def to_event(self) -> dict[str, Any]:
        """The history entry of the ``dispute`` event (UTC timestamps, money with 2 decimals)."""
        return {"event_id": self.event_id, "type": self.type, "occurred_at": format_timestamp(self.occurred_at),
                "by": self.by, "decision": self.decision, "adjustment_amount": format_money(self.adjustment_amount)}


@dataclass(frozen=True, slots=True)
class Dispute:
    """The current state of one dispute: what its ``dispute`` event on ``sales.appeals`` says."""

    dispute_id: str
    state: DisputeState
    rep_id: str
    team_id: str  #: the rep's team when the dispute was opened
    manager_id: str | None  #: the rep's manager then: decides, and hears the overdue alert
    period: str  #: the disputed month
    subject_kind: str
    subject_ref: str | None
    claim: str
    opened_at: datetime
    history: tuple[Step, ...]  #: every accepted event, in the order applied
    revision: int = 1  #: one per change: the event and every linked adjustment
    decision: str | None = None
    resolution: str | None = None
    adjustment_amount: Decimal | None = None  #: what the decision pays (None when it pays nothing)
    resolved_at: datetime | None = None  #: when it was resolved or withdrawn
    adjustment_ids: tuple[str, ...] = ()

    def deadline(self, zone: tzinfo) -> datetime:
        """The instant after which the dispute, while open, is overdue: 5 business days after
        ``opened_at`` in ``zone`` (``periods.business_deadline``)."""
        return business_deadline(self.opened_at, DAYS_TO_DECIDE, zone)

    def has_step(self, event_id: str) -> bool:
        """True when the event ``event_id`` is already in the history."""
        return any(step.event_id == event_id for step in self.history)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the state table (exact: timestamps keep their offsets)."""
        return {
            "dispute_id": self.dispute_id, "state": self.state.value, "rep_id": self.rep_id,
            "team_id": self.team_id, "manager_id": self.manager_id, "period": self.period,
            "subject_kind": self.subject_kind, "subject_ref": self.subject_ref, "claim": self.claim,
            "opened_at": self.opened_at.isoformat(), "history": [step.to_json() for step in self.history],
            "revision": self.revision, "decision": self.decision, "resolution": self.resolution,
            "adjustment_amount": _money_text(self.adjustment_amount),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
            "adjustment_ids": list(self.adjustment_ids),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Dispute:
        """Inverse of ``to_json``."""
        return cls(
            dispute_id=d["dispute_id"], state=DisputeState(d["state"]), rep_id=d["rep_id"], team_id=d["team_id"],
            manager_id=d["manager_id"], period=d["period"], subject_kind=d["subject_kind"],
            subject_ref=d["subject_ref"], claim=d["claim"], opened_at=parse_timestamp(d["opened_at"]),
            history=tuple(Step.from_json(step) for step in d["history"]), revision=d["revision"],
            decision=d["decision"], resolution=d["resolution"], adjustment_amount=_money(d["adjustment_amount"]),
            resolved_at=None if d["resolved_at"] is None else parse_timestamp(d["resolved_at"]),
            adjustment_ids=tuple(d["adjustment_ids"]),
        )

    def to_event(self, emitted_at: str) -> dict[str, Any]:
        """The ``dispute`` event for ``sales.appeals`` (key ``dispute_id``): ``event_id`` is
        ``dispute:{dispute_id}:{revision}``, so a replay sends the same ids."""
        return {
            "event_id": f"dispute:{self.dispute_id}:{self.revision}", "type": "dispute", "schema_version": 1,
            "emitted_at": emitted_at, "dispute_id": self.dispute_id, "revision": self.revision,
            "state": self.state.value, "rep_id": self.rep_id, "team_id": self.team_id,
            "manager_id": self.manager_id, "period": self.period, "subject_kind": self.subject_kind,
            "subject_ref": self.subject_ref, "claim": self.claim, "decision": self.decision,
            "resolution": self.resolution, "adjustment_amount": format_money(self.adjustment_amount),
            "history": [step.to_event() for step in self.history], "adjustment_ids": list(self.adjustment_ids),
            "opened_at": format_timestamp(self.opened_at),
            "resolved_at": None if self.resolved_at is None else format_timestamp(self.resolved_at),
        }


@dataclass(frozen=True, slots=True)
class AdjustmentRequest:
    """The payroll adjustment a decision orders: ``delta_commission`` for the rep's statement of
    ``original_period`` (the disputed month), no revenue change. The payroll ledger posts it
    as a ``payroll.adjustment`` and picks ``apply_in_period`` (the first open month) and the
    statement itself: only it knows which months are closed."""

    adjustment_id: str
    dispute_id: str
    rep_id: str
    original_period: str
    delta_commission: Decimal
    reason: str = APPEAL_REASON

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form, for the hop to the payroll ledger (money as a string)."""
        return {"adjustment_id": self.adjustment_id, "dispute_id": self.dispute_id, "rep_id": self.rep_id,
                "original_period": self.original_period, "delta_commission": str(self.delta_commission),
                "reason": self.reason}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AdjustmentRequest:
        """Inverse of ``to_json``."""
        return cls(d["adjustment_id"], d["dispute_id"], d["rep_id"], d["original_period"],
                   Decimal(d["delta_commission"]), d["reason"])


@dataclass(frozen=True, slots=True)
class AdjustmentLink:
    """A payroll adjustment posted for a correction that names a dispute: it joins the
    dispute's ``adjustment_ids`` (``DisputeBook.link_adjustment``)."""

    dispute_id: str
    adjustment_id: str


@dataclass(frozen=True, slots=True)
class Applied:
    """The dispute changed: store and publish ``dispute``; post ``adjustment`` when there is one."""

    dispute: Dispute
    adjustment: AdjustmentRequest | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Seen before (a redelivered event, an adjustment linked twice): nothing changes."""

    dispute_id: str
    seen: str  #: the event id or adjustment id already recorded


@dataclass(frozen=True, slots=True)
class Rejected:
    """The event cannot apply: dead-letter it with ``reason`` and ``detail``."""

    reason: str
    detail: str


Outcome = Applied | Duplicate | Rejected


@dataclass(frozen=True, slots=True)
class Overdue:
    """An open dispute past its deadline: the ``dispute_overdue`` alert for its rep's manager."""

    dispute: Dispute
    deadline: datetime


_OVERDUE_MESSAGES = {
    "firing": ("Dispute {id} of rep {rep} about {period} has been open for more than {days} business days "
               "(decision due by {due})",
               "销售 {rep} 关于 {period} 的申诉 {id} 已超过 {days} 个工作日未处理（应于 {due} 前处理）"),
    "resolved": ("Dispute {id} of rep {rep} about {period} is no longer overdue: it was resolved",
                 "销售 {rep} 关于 {period} 的申诉 {id} 已处理，不再逾期"),
    "withdrawn": ("Dispute {id} of rep {rep} about {period} is no longer overdue: it was withdrawn",
                  "销售 {rep} 关于 {period} 的申诉 {id} 已撤回，不再逾期"),
}


def overdue_alert(dispute: Dispute, firing: bool, zone: tzinfo, emitted_at: str) -> dict[str, Any]:
    """The ``dispute_overdue`` alert of one dispute (contract §8 alert): firing once it is
    overdue, resolved once it is resolved or withdrawn. It is a rep alert for the disputed
    month addressed to the dispute's manager; the incident is the dispute, so two disputes
    of one rep and month are two alerts: ``alert_id`` is
    ``dispute_overdue:rep:{rep_id}:{period}:{dispute_id}``. ``value`` is null, ``threshold``
    the business days allowed."""
    status = "firing" if firing else "resolved"
    alert_id = f"{alert_key(OVERDUE_RULE, 'rep', dispute.rep_id, dispute.period)}:{dispute.dispute_id}"
    due = dispute.deadline(zone).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    en, zh = _OVERDUE_MESSAGES["firing" if firing or dispute.state is DisputeState.OPEN else dispute.state.value]
    args = {"id": dispute.dispute_id, "rep": dispute.rep_id, "period": dispute.period, "days": DAYS_TO_DECIDE,
            "due": due}
    return {
        "event_id": f"{alert_id}:{status}", "type": "alert", "schema_version": 1, "emitted_at": emitted_at,
        "alert_id": alert_id, "rule": OVERDUE_RULE, "state": status, "severity": OVERDUE_SEVERITY,
        "scope": "rep", "id": dispute.rep_id, "manager_id": dispute.manager_id, "period": dispute.period,
        "value": None, "threshold": DAYS_TO_DECIDE, "dispute_id": dispute.dispute_id,
        "message": en.format(**args), "message_zh": zh.format(**args),
    }


_VERBS = {"dispute_opened": "open", "dispute_resolved": "resolve", "dispute_withdrawn": "withdraw"}


def _invalid(event: DisputeEvent, current: Dispute | None) -> Rejected:
    verb = _VERBS[event.type]
    if current is None:
        why = "no such dispute"
    elif isinstance(event, DisputeOpenedEvent):
        why = f"the id is taken (the dispute is {current.state.value}); an id is opened once"
    else:
        why = f"it is already {current.state.value}"
    return Rejected(INVALID_TRANSITION, f"$.dispute_id: cannot {verb} dispute {event.dispute_id!r}: {why}")


def _resolve(dispute: Dispute, event: DisputeResolvedEvent) -> Applied:
    amount = event.adjustment_amount if event.decision in PAYING_DECISIONS else None
    if amount is not None and amount.is_zero():
        amount = abs(amount)  # "-0.00" is "0.00"
    request = None
    if amount is not None and not amount.is_zero():
        request = AdjustmentRequest(appeal_adjustment_id(dispute.dispute_id), dispute.dispute_id, dispute.rep_id,
                                    dispute.period, amount)
    step = Step(event.event_id, event.type, event.occurred_at, event.resolved_by, event.decision, amount)
    resolved = replace(
        dispute, state=DisputeState.RESOLVED, decision=event.decision, resolution=event.resolution,
        adjustment_amount=amount, resolved_at=event.occurred_at, history=(*dispute.history, step),
        revision=dispute.revision + 1,
        adjustment_ids=dispute.adjustment_ids if request is None else (*dispute.adjustment_ids, request.adjustment_id),
    )
    return Applied(resolved, request)


def _withdraw(dispute: Dispute, event: DisputeWithdrawnEvent) -> Applied:
    step = Step(event.event_id, event.type, event.occurred_at, event.withdrawn_by)
    return Applied(replace(dispute, state=DisputeState.WITHDRAWN, resolved_at=event.occurred_at,
                           history=(*dispute.history, step), revision=dispute.revision + 1))


class DisputeBook:
    """Every dispute by id, and the transitions between their states.

    open ──dispute_resolved──▶ resolved;  open ──dispute_withdrawn──▶ withdrawn;  a new id
    ──dispute_opened──▶ open. Anything else is an ``invalid_transition``.
    """

    def __init__(self, directory: RepDirectory, timezone: str = "Asia/Shanghai") -> None:
        self.directory = directory
        self.zone = ZoneInfo(timezone)
        self.disputes: dict[str, Dispute] = {}

    def load(self, dispute_id: str, value: dict[str, Any]) -> None:
        """Restore one stored dispute (``Dispute.to_json``)."""
        self.disputes[dispute_id] = Dispute.from_json(value)

    def get(self, dispute_id: str) -> Dispute | None:
        """The dispute ``dispute_id``, or None."""
        return self.disputes.get(dispute_id)

    def apply(self, event: DisputeEvent) -> Outcome:
        """What one validated dispute event does; the new state of an ``Applied`` is kept here."""
        current = self.disputes.get(event.dispute_id)
        if current is not None and current.has_step(event.event_id):
            return Duplicate(event.dispute_id, event.event_id)
        outcome: Outcome
        match event, current:
            case DisputeOpenedEvent(), None:
                outcome = self._open(event)
            case DisputeResolvedEvent(), Dispute(state=DisputeState.OPEN):
                outcome = _resolve(current, event)
            case DisputeWithdrawnEvent(), Dispute(state=DisputeState.OPEN):
                outcome = _withdraw(current, event)
            case _:
                return _invalid(event, current)
        if isinstance(outcome, Applied):
            self.disputes[event.dispute_id] = outcome.dispute
        return outcome

    def _open(self, event: DisputeOpenedEvent) -> Outcome:
        placement = self.directory(event.rep_id, event.occurred_at)
        if placement is None:
            return Rejected(UNKNOWN_REFERENCE, f"$.rep_id: unknown rep {event.rep_id!r} (no roster entry)")
        return Applied(Dispute(
            dispute_id=event.dispute_id, state=DisputeState.OPEN, rep_id=event.rep_id, team_id=placement.team_id,
            manager_id=placement.manager_id, period=event.period, subject_kind=event.subject_kind,
            subject_ref=event.subject_ref, claim=event.claim, opened_at=event.occurred_at,
            history=(Step(event.event_id, event.type, event.occurred_at, event.opened_by),),
        ))

    def link_adjustment(self, dispute_id: str, adjustment_id: str) -> Outcome:
        """Record a payroll adjustment caused by a correction that names the dispute (a deal or
        target event with its ``dispute_id``), in any state. ``Rejected`` (``unknown_reference``)
        for an unknown dispute: the correction itself still stands."""
        current = self.disputes.get(dispute_id)
        if current is None:
            return Rejected(UNKNOWN_REFERENCE, f"$.dispute_id: unknown dispute {dispute_id!r}")
        if adjustment_id in current.adjustment_ids:
            return Duplicate(dispute_id, adjustment_id)
        linked = replace(current, adjustment_ids=(*current.adjustment_ids, adjustment_id),
                         revision=current.revision + 1)
        self.disputes[dispute_id] = linked
        return Applied(linked)

    def overdue(self, now: datetime) -> list[Overdue]:
        """The open disputes more than 5 business days old at ``now`` (the engine's clock),
        by deadline, then id. A resolved or withdrawn dispute is never overdue."""
        found = []
        for dispute in self.disputes.values():
            if dispute.state is DisputeState.OPEN:
                deadline = dispute.deadline(self.zone)
                if now > deadline:
                    found.append(Overdue(dispute, deadline))
        return sorted(found, key=lambda o: (o.deadline, o.dispute.dispute_id))
