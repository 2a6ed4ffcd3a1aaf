"""Typed input records derived from validated events (``schemas/json/*.schema.json``).

``record_from_event`` turns an accepted event dict into a frozen dataclass with parsed
types (aware ``datetime``, ``Decimal``). ``tests/unit/test_records.py`` checks that every
dataclass lists exactly the properties of its JSON Schema, with matching required-ness,
so the two field lists cannot drift apart. Records are keyword-only: build them by name.
The appeal inputs (contract §10) have a registry and a constructor of their own
(``DISPUTE_RECORD_TYPES``, ``dispute_record_from_event``) until a stage reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args, get_type_hints

from sales_scorecard.core.periods import parse_stored_timestamp, parse_timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class DealEvent:
    """The full current state of a deal (contract §3 deal)."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    deal_id: str
    rep_id: str
    customer_id: str
    version: int
    stage: str
    amount: Decimal
    currency: str
    created_at: datetime
    closed_at: datetime | None = None
    customer_tier: str | None = None
    dispute_id: str | None = None  #: the appeal this version settles (contract §10)
    pipeline_stage: str | None = None  #: an open deal's pipeline stage (contract §13)
    expected_close_at: datetime | None = None  #: when an open deal is expected to close (contract §13)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintEvent:
    """The current state of a customer complaint."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    complaint_id: str
    version: int
    rep_id: str
    customer_id: str
    severity: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityEvent:
    """An immutable sales activity fact."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    rep_id: str
    customer_id: str | None = None
    kind: str
    effective: bool = True
    duration_minutes: int | None = None
    score: int | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RosterEvent:
    """An effective-dated rep ↔ team ↔ manager fact."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    rep_id: str
    team_id: str
    manager_id: str
    status: str
    effective_at: datetime
    hired_at: datetime
    name: str | None = None
    territory_factor: Decimal = Decimal("1.0")


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetEvent:
    """A revenue target (and optional new-customer target and market size) for a period."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    scope: str
    id: str
    period: str
    revenue: Decimal
    new_customers: int | None = None
    market_size: Decimal | None = None
    dispute_id: str | None = None
    #: a team target's top-down split (contract §12): "equal", "history" or {"weights": {...}}
    split: str | dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePeriodEvent:
    """Finance closes a month for payroll."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    period: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewEvent:
    """One rating of a rep for a month (contract §12); the latest ``occurred_at`` per
    ``review_id`` counts."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    review_id: str
    period: str
    subject_id: str
    reviewer_id: str
    reviewer_role: str
    rating: Decimal
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngagementEvent:
    """One respondent's engagement answer for a team and month (contract §12): never shown
    on its own, only in a team's mean of at least 3 respondents."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    period: str
    team_id: str
    respondent_id: str
    rating: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeOpenedEvent:
    """A rep, or their manager for them, contests a figure (contract §10)."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    dispute_id: str
    rep_id: str
    period: str
    subject_kind: str
    subject_ref: str | None = None
    claim: str
    opened_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeResolvedEvent:
    """The decision on a dispute; ``adjustment_amount`` may be negative."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    dispute_id: str
    decision: str
    resolution: str
    resolved_by: str
    adjustment_amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeWithdrawnEvent:
    """A dispute taken back before it is decided."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    dispute_id: str
    withdrawn_by: str


InputEvent = (DealEvent | ComplaintEvent | ActivityEvent | RosterEvent | TargetEvent | ClosePeriodEvent
              | ReviewEvent | EngagementEvent)
DisputeEvent = DisputeOpenedEvent | DisputeResolvedEvent | DisputeWithdrawnEvent

#: Input ``type`` -> its record class.
RECORD_TYPES: dict[str, type] = {
    "deal": DealEvent,
    "complaint": ComplaintEvent,
    "activity": ActivityEvent,
    "roster": RosterEvent,
    "target": TargetEvent,
    "close_period": ClosePeriodEvent,
    "review": ReviewEvent,
    "engagement": EngagementEvent,
}

#: Appeal input ``type`` -> its record class (contract §10; not routed to a stage yet).
DISPUTE_RECORD_TYPES: dict[str, type] = {
    "dispute_opened": DisputeOpenedEvent,
    "dispute_resolved": DisputeResolvedEvent,
    "dispute_withdrawn": DisputeWithdrawnEvent,
}


def _converter(hint: Any, timestamp: Callable[[Any], datetime] = parse_timestamp) -> Callable[[Any], Any] | None:
    """How to turn a JSON value into a field of type ``hint`` (None: keep as is)."""
    args = set(get_args(hint)) - {type(None)}
    target = next(iter(args)) if len(args) == 1 else hint
    if target is datetime:
        return timestamp
    if target is Decimal:
        return lambda value: Decimal(str(value))
    return None


_Plans = dict[str, tuple[type, dict[str, Callable[[Any], Any] | None]]]


def _plans(types: dict[str, type], timestamp: Callable[[Any], datetime] = parse_timestamp) -> _Plans:
    """type name -> (record class, {field: converter}), worked out once from the type hints."""
    return {kind: (cls, {name: _converter(hint, timestamp) for name, hint in get_type_hints(cls).items()})
            for kind, cls in types.items()}


_PLANS = _plans(RECORD_TYPES)
_STORED_PLANS = _plans(RECORD_TYPES, parse_stored_timestamp)
_DISPUTE_PLANS = _plans(DISPUTE_RECORD_TYPES)


def _record(plans: _Plans, event: dict[str, Any]) -> Any:
    cls, fields = plans[event["type"]]
    kwargs: dict[str, Any] = {}
    for name, convert in fields.items():
        value = event.get(name)
        if value is not None:
            kwargs[name] = convert(value) if convert is not None else value
    return cls(**kwargs)


def record_from_event(event: dict[str, Any]) -> InputEvent:
    """The typed record of an accepted event dict (nulls and unknown extra fields are ignored)."""
    return _record(_PLANS, event)


def record_from_stored(fact: dict[str, Any]) -> InputEvent:
    """``record_from_event`` for a fact the worker stored after checking it (its ``facts``
    table): the same record, its timestamps read without checking their form again."""
    return _record(_STORED_PLANS, fact)


def dispute_record_from_event(event: dict[str, Any]) -> DisputeEvent:
    """The typed record of an accepted appeal event dict (``validation.DisputeValidator``)."""
    return _record(_DISPUTE_PLANS, event)
