"""Typed input records derived from validated events (``schemas/json/*.schema.json``).

``record_from_event`` turns an accepted event dict into a frozen dataclass with parsed
types (aware ``datetime``, ``Decimal``). ``tests/unit/test_records.py`` checks that every
dataclass lists exactly the properties of its JSON Schema, with matching required-ness,
so the two field lists cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Union

from sales_scorecard.core.periods import parse_timestamp


@dataclass(frozen=True, slots=True)
class DealEvent:
    """The full current state of a deal (SPEC §3 deal)."""

    event_id: str
    type: str
    schema_version: int
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


@dataclass(frozen=True, slots=True)
class ComplaintEvent:
    """The current state of a customer complaint."""

    event_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    complaint_id: str
    version: int
    rep_id: str
    customer_id: str
    severity: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """An immutable sales activity fact."""

    event_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    rep_id: str
    kind: str
    customer_id: str | None = None
    effective: bool = True
    duration_minutes: int | None = None
    score: int | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class RosterEvent:
    """An effective-dated rep ↔ team ↔ manager fact."""

    event_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    rep_id: str
    team_id: str
    manager_id: str
    status: str
    effective_at: datetime
    hired_at: datetime
    name: str | None = None
    territory_factor: Decimal = Decimal("1.0")


@dataclass(frozen=True, slots=True)
class TargetEvent:
    """A revenue target (and optional new-customer target and market size) for a period."""

    event_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    scope: str
    id: str
    period: str
    revenue: Decimal
    new_customers: int | None = None
    market_size: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ClosePeriodEvent:
    """Finance closes a month for payroll."""

    event_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    period: str


InputEvent = Union[DealEvent, ComplaintEvent, ActivityEvent, RosterEvent, TargetEvent, ClosePeriodEvent]

RECORD_TYPES: dict[str, type] = {
    "deal": DealEvent,
    "complaint": ComplaintEvent,
    "activity": ActivityEvent,
    "roster": RosterEvent,
    "target": TargetEvent,
    "close_period": ClosePeriodEvent,
}

_TIMESTAMPS = frozenset({"occurred_at", "created_at", "closed_at", "opened_at", "resolved_at", "effective_at", "hired_at"})
_DECIMALS = frozenset({"amount", "revenue", "market_size", "territory_factor"})


def _convert(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _TIMESTAMPS:
        return parse_timestamp(value)
    if name in _DECIMALS:
        return Decimal(str(value))
    return value


def record_from_event(event: dict[str, Any]) -> InputEvent:
    """The typed record of an accepted event dict (unknown extra fields are ignored)."""
    cls = RECORD_TYPES[event["type"]]
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    kwargs = {name: _convert(name, event[name]) for name in names if name in event and event[name] is not None}
    kwargs.setdefault("schema_version", 1)
    return cls(**kwargs)
