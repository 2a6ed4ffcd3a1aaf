"""Typed input records derived from validated events (``schemas/json/*.schema.json``).

``record_from_event`` turns an accepted event dict into a frozen dataclass with parsed
types (aware ``datetime``, ``Decimal``). ``tests/unit/test_records.py`` checks that every
dataclass lists exactly the properties of its JSON Schema, with matching required-ness,
so the two field lists cannot drift apart. Records are keyword-only: build them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args, get_type_hints

from sales_scorecard.core.periods import parse_timestamp


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePeriodEvent:
    """Finance closes a month for payroll."""

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    period: str


InputEvent = DealEvent | ComplaintEvent | ActivityEvent | RosterEvent | TargetEvent | ClosePeriodEvent

#: Input ``type`` -> its record class.
RECORD_TYPES: dict[str, type] = {
    "deal": DealEvent,
    "complaint": ComplaintEvent,
    "activity": ActivityEvent,
    "roster": RosterEvent,
    "target": TargetEvent,
    "close_period": ClosePeriodEvent,
}


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """How to turn a JSON value into a field of type ``hint`` (None: keep as is)."""
    args = set(get_args(hint)) - {type(None)}
    target = next(iter(args)) if len(args) == 1 else hint
    if target is datetime:
        return parse_timestamp
    if target is Decimal:
        return lambda value: Decimal(str(value))
    return None


#: type name -> (record class, {field: converter}), worked out once from the type hints.
_PLANS: dict[str, tuple[type, dict[str, Callable[[Any], Any] | None]]] = {
    kind: (cls, {name: _converter(hint) for name, hint in get_type_hints(cls).items()})
    for kind, cls in RECORD_TYPES.items()
}


def record_from_event(event: dict[str, Any]) -> InputEvent:
    """The typed record of an accepted event dict (nulls and unknown extra fields are ignored)."""
    cls, fields = _PLANS[event["type"]]
    kwargs: dict[str, Any] = {}
    for name, convert in fields.items():
        value = event.get(name)
        if value is not None:
            kwargs[name] = convert(value) if convert is not None else value
    return cls(**kwargs)
