"""The target book and target resolution (SPEC §3 target, docs/kpi-decisions.md).

Each field (``revenue``, ``new_customers``, ``market_size``) is resolved on its own
within one (scope, id): month = given month, else given quarter / 3, else resolved
year / 12; quarter = given, else the sum of its three given months, else resolved
year / 4; year = given, else the sum of its four quarters when each is given or the
sum of its three given months. Team and company revenue targets fall back to the sum
over active members at the period's end. Divisions are exact; nothing is rounded here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from . import labels as L
from .money import CONTEXT

FIELDS = ("revenue", "new_customers", "market_size")


@dataclass(frozen=True, slots=True)
class TargetEntry:
    """The latest target event for one (scope, id, period)."""

    scope: str
    id: str
    period: str
    occurred_at: datetime
    event_id: str
    revenue: Decimal
    new_customers: int | None
    market_size: Decimal | None

    def field(self, name: str) -> Decimal | None:
        """A field's value as Decimal (None when not given)."""
        value = getattr(self, name)
        return None if value is None else Decimal(value)


class TargetBook:
    """Latest target per (scope, id, period), with derivation within a (scope, id)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], TargetEntry] = {}
        self._ids: dict[str, set[str]] = {}

    def put(
        self, scope: str, id: str, period: str, occurred_at: datetime, event_id: str,
        revenue: Decimal, new_customers: int | None, market_size: Decimal | None,
    ) -> bool:
        """Store a target event; the latest by (occurred_at, event_id) wins. True if it changed the book."""
        key = (scope, id, period)
        old = self._entries.get(key)
        if old is not None and (old.occurred_at, old.event_id) >= (occurred_at, event_id):
            return False
        self._entries[key] = TargetEntry(scope, id, period, occurred_at, event_id, revenue, new_customers, market_size)
        self._ids.setdefault(scope, set()).add(id)
        return True

    def entries(self) -> list[TargetEntry]:
        """Every stored entry."""
        return list(self._entries.values())

    def ids(self, scope: str) -> set[str]:
        """The ids that have any target in ``scope``."""
        return set(self._ids.get(scope, ()))

    def given(self, scope: str, id: str, period: str, field: str) -> Decimal | None:
        """The value given explicitly for exactly this period."""
        entry = self._entries.get((scope, id, period))
        return entry.field(field) if entry is not None else None

    def resolve_own(self, scope: str, id: str, period: str, field: str) -> Decimal | None:
        """The field's value for ``period``, derived within the same (scope, id)."""
        kind = L.period_kind(period) if len(period) in (4, 7) else "other"
        if kind == "month":
            value = self.given(scope, id, period, field)
            if value is not None:
                return value
            quarter = self.given(scope, id, L.quarter_of_month(period), field)
            if quarter is not None:
                return CONTEXT.divide(quarter, Decimal(3))
            year = self._year(scope, id, period[:4], field)
            return CONTEXT.divide(year, Decimal(12)) if year is not None else None
        if kind == "quarter":
            value = self._quarter_without_year(scope, id, period, field)
            if value is not None:
                return value
            year = self._year(scope, id, period[:4], field)
            return CONTEXT.divide(year, Decimal(4)) if year is not None else None
        if kind == "year":
            return self._year(scope, id, period, field)
        return None

    def _quarter_without_year(self, scope: str, id: str, quarter: str, field: str) -> Decimal | None:
        value = self.given(scope, id, quarter, field)
        if value is not None:
            return value
        months = [self.given(scope, id, m, field) for m in L.months_of(quarter)]
        if all(m is not None for m in months):
            return sum(months, Decimal(0))  # type: ignore[arg-type]
        return None

    def _year(self, scope: str, id: str, year: str, field: str) -> Decimal | None:
        value = self.given(scope, id, year, field)
        if value is not None:
            return value
        quarters = [self._quarter_without_year(scope, id, f"{year}-Q{q}", field) for q in range(1, 5)]
        if all(q is not None for q in quarters):
            return sum(quarters, Decimal(0))  # type: ignore[arg-type]
        return None


def resolve_revenue_target(
    book: TargetBook, scope: str, id: str, period: str, members_at_end: Mapping[str, Sequence[str]]
) -> Decimal | None:
    """The revenue target of a scope for a period, summing members where none is set.

    ``members_at_end`` maps team_id -> reps active in that team at the period's end.
    """
    own = book.resolve_own(scope, id, period, "revenue")
    if own is not None or scope == "rep":
        return own
    if scope == "team":
        values = [book.resolve_own("rep", rep, period, "revenue") for rep in members_at_end.get(id, ())]
    else:
        values = [
            resolve_revenue_target(book, "team", team, period, members_at_end)
            for team, reps in members_at_end.items()
            if reps
        ]
    given = [v for v in values if v is not None]
    return sum(given, Decimal(0)) if given else None
