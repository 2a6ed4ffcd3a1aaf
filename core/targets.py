"""The target book and target resolution (contract §3, target).

Each field (``revenue``, ``new_customers``, ``market_size``) is resolved on its own
within one (scope, id): month = given month, else given quarter / 3, else resolved
year / 12; quarter = given, else the sum of its three given months, else resolved
year / 4; year = given, else the sum of its four quarters when each is given or the
sum of its three given months. Team and company revenue targets fall back to the sum
over active members at the period's end. Divisions are exact; nothing is rounded here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .bounded_memo import LIMIT, BoundedMemo
from .money import CONTEXT

FIELDS = ("revenue", "new_customers", "market_size")
SCOPES = ("rep", "team", "company")
COMPANY = "*"

_YEAR = re.compile(r"^\d{4}$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


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
    #: a team target's ``split`` field as validated (contract §12), else None
    split: Any = None

    def field(self, name: str) -> Decimal | None:
        """A field's value as Decimal (None when not given)."""
        _check_field(name)
        value = getattr(self, name)
        return None if value is None else Decimal(value)


class TargetBook:
    """Latest target per (scope, id, period), with derivation within a (scope, id)."""

    def __init__(self, memo_limit: int = LIMIT) -> None:
        self._entries: dict[tuple[str, str, str], TargetEntry] = {}
        self._ids: dict[str, set[str]] = {}
        #: (scope, id, period, field) -> ``resolve_own``'s answer, until the book changes
        #: (a team's or a year's target derives from the same months again and again)
        self._resolved: BoundedMemo[tuple[str, str, str, str], Decimal | None] = BoundedMemo(memo_limit)

    def memo_held(self) -> int:
        """Resolved targets kept (at most the book's ``memo_limit``)."""
        return len(self._resolved)

    def put(
        self, scope: str, id: str, period: str, occurred_at: datetime, event_id: str,
        revenue: Decimal, new_customers: int | None, market_size: Decimal | None, split: Any = None,
    ) -> bool:
        """Store a target event; the latest by (occurred_at, event_id) wins. True if it changed the book."""
        key = (scope, id, period)
        old = self._entries.get(key)
        if old is not None and (old.occurred_at, old.event_id) >= (occurred_at, event_id):
            return False
        self._entries[key] = TargetEntry(scope, id, period, occurred_at, event_id, revenue, new_customers,
                                        market_size, split)
        self.changed()
        self._ids.setdefault(scope, set()).add(id)
        return True

    def entries(self) -> list[TargetEntry]:
        """Every stored entry (for persistence and explanations)."""
        return list(self._entries.values())

    def entry(self, scope: str, id: str, period: str) -> TargetEntry | None:
        """The latest target event of exactly (scope, id, period)."""
        return self._entries.get((scope, id, period))

    def ids(self, scope: str) -> set[str]:
        """The ids that have any target in ``scope``."""
        return set(self._ids.get(scope, ()))

    def given(self, scope: str, id: str, period: str, field: str) -> Decimal | None:
        """The value given explicitly for exactly this period."""
        _check_field(field)
        entry = self._entries.get((scope, id, period))
        return entry.field(field) if entry is not None else None

    def changed(self) -> None:
        """What ``given`` answers changed: resolve again (called by ``put``, and by a
        subclass whose ``given`` reads something else)."""
        self._resolved.clear()

    def resolve_own(self, scope: str, id: str, period: str, field: str) -> Decimal | None:
        """The field's value for ``period``, derived within the same (scope, id).

        Only month, quarter and year labels resolve; any other label is None.
        """
        key = (scope, id, period, field)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        return self._resolved.put(key, self._resolve(scope, id, period, field))

    def _resolve(self, scope: str, id: str, period: str, field: str) -> Decimal | None:
        _check_field(field)
        if m := _MONTH.match(period):
            value = self.given(scope, id, period, field)
            if value is not None:
                return value
            quarter = self.given(scope, id, f"{m.group(1)}-Q{(int(m.group(2)) - 1) // 3 + 1}", field)
            if quarter is not None:
                return CONTEXT.divide(quarter, Decimal(3))
            year = self._year(scope, id, m.group(1), field)
            return CONTEXT.divide(year, Decimal(12)) if year is not None else None
        if m := _QUARTER.match(period):
            value = self._quarter_without_year(scope, id, m.group(1), int(m.group(2)), field)
            if value is not None:
                return value
            year = self._year(scope, id, m.group(1), field)
            return CONTEXT.divide(year, Decimal(4)) if year is not None else None
        if _YEAR.match(period):
            return self._year(scope, id, period, field)
        return None

    def _quarter_without_year(self, scope: str, id: str, year: str, quarter: int, field: str) -> Decimal | None:
        value = self.given(scope, id, f"{year}-Q{quarter}", field)
        if value is not None:
            return value
        first = 3 * (quarter - 1) + 1
        return _sum_all(self.given(scope, id, f"{year}-{m:02d}", field) for m in range(first, first + 3))

    def _year(self, scope: str, id: str, year: str, field: str) -> Decimal | None:
        value = self.given(scope, id, year, field)
        if value is not None:
            return value
        return _sum_all(self._quarter_without_year(scope, id, year, q, field) for q in range(1, 5))


def resolve_rep_target(book: TargetBook, shares: TargetBook | None, rep: str, period: str) -> Decimal | None:
    """A rep's revenue target: its own (given or derived), else from its split shares
    (``core.target_split.ShareBook``, contract §12)."""
    own = book.resolve_own("rep", rep, period, "revenue")
    if own is not None or shares is None:
        return own
    return shares.resolve_own("rep", rep, period, "revenue")


def resolve_revenue_target(
    book: TargetBook, scope: str, id: str, period: str, members_at_end: Mapping[str, Sequence[str]],
    shares: TargetBook | None = None,
) -> Decimal | None:
    """The revenue target of a scope for a period, summing members where none is set.

    ``members_at_end`` maps team_id -> reps active in that team at the period's end.
    A rep without an own target takes it from ``shares`` (split team targets). A team
    sums its members' targets (a member without one counts 0); the company sums the
    resolved targets of the teams with at least one member. None when no summand has
    a value.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown target scope {scope!r}; expected one of {SCOPES}")
    if scope == "rep":
        return resolve_rep_target(book, shares, id, period)
    own = book.resolve_own(scope, id, period, "revenue")
    if own is not None:
        return own
    if scope == "team":
        values = [resolve_rep_target(book, shares, rep, period) for rep in members_at_end.get(id, ())]
    else:
        values = [
            resolve_revenue_target(book, "team", team, period, members_at_end, shares)
            for team, reps in members_at_end.items()
            if reps
        ]
    return _sum_some(values)


def target_source(book: TargetBook, scope: str, id: str, period: str, target: Decimal | None) -> str | None:
    """Where a resolved revenue target comes from (contract §12): ``explicit`` (given for
    exactly this period), ``derived`` (other periods of the same scope, or members' sums),
    ``split`` (a rep's share of a split team target); None without a target."""
    if target is None:
        return None
    if book.given(scope, id, period, "revenue") is not None:
        return "explicit"
    if scope == "rep" and book.resolve_own(scope, id, period, "revenue") is None:
        return "split"
    return "derived"


def _check_field(field: str) -> None:
    if field not in FIELDS:
        raise ValueError(f"unknown target field {field!r}; expected one of {FIELDS}")


def _sum_all(values: Iterable[Decimal | None]) -> Decimal | None:
    """The exact sum when every value is present, else None."""
    total = Decimal(0)
    for value in values:
        if value is None:
            return None
        total = CONTEXT.add(total, value)
    return total


def _sum_some(values: Iterable[Decimal | None]) -> Decimal | None:
    """The exact sum of the present values; None when none is present."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    total = Decimal(0)
    for value in present:
        total = CONTEXT.add(total, value)
    return total
