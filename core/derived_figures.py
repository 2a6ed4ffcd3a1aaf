"""Figures a render derives again and again, kept between renders until what they read changes.

A rep's quarter or year render pays each of its months again (contract §7), and a team's or
the company's revenue target sums its members' (contract §3). ``DerivedFigures`` keeps them:

- revenue targets by (scope, id, period): they read the target book, the split shares and
  the roster (members at the period's end), so any change of those drops them all
  (``targets_changed``; such changes are rare next to facts);
- a rep month's commission by (rep, month), under the plan set it was computed with: it
  reads the rep's month bucket (revenue, gate KPIs), the rep's target and roster entry, so
  a contribution to the month drops it (``month_changed``) and so does ``targets_changed``.

It holds what the engine computed, exactly; it is bounded (emptied when full, at
``limit`` entries of each kind).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, TypeVar

from .bounded_memo import LIMIT, BoundedMemo

Pay = TypeVar("Pay")
#: A period without a revenue target (None is "not kept").
_NONE = object()


class DerivedFigures(Generic[Pay]):
    """Revenue targets and rep months' commissions, as the engine computed them."""

    __slots__ = ("_targets", "_pay")

    def __init__(self, limit: int = LIMIT) -> None:
        #: (scope, id, period) -> revenue target (``_NONE``: none)
        self._targets: BoundedMemo[tuple[str, str, str], object] = BoundedMemo(limit)
        #: (rep_id, month) -> (the plan set, what ``commission_of`` gave under it)
        self._pay: BoundedMemo[tuple[str, str], tuple[object, Pay]] = BoundedMemo(limit)

    def fullest(self) -> int:
        """Entries held by the fuller of the two kinds."""
        return max(len(self._targets), len(self._pay))

    def target(self, scope: str, id: str, period: str) -> tuple[bool, Decimal | None]:
        """(kept, value) of a revenue target."""
        value = self._targets.get((scope, id, period))
        if value is None:
            return False, None
        return True, None if value is _NONE else value  # type: ignore[return-value]  # a Decimal kept by put_target

    def put_target(self, scope: str, id: str, period: str, value: Decimal | None) -> None:
        """Keep a revenue target."""
        self._targets.put((scope, id, period), _NONE if value is None else value)

    def pay(self, plans: object, rep_id: str, month: str) -> Pay | None:
        """A rep month's commission as computed under ``plans`` (None: not kept)."""
        kept = self._pay.get((rep_id, month))
        if kept is None or kept[0] is not plans:
            return None
        return kept[1]

    def put_pay(self, plans: object, rep_id: str, month: str, pay: Pay) -> None:
        """Keep a rep month's commission computed under ``plans``."""
        self._pay.put((rep_id, month), (plans, pay))

    def month_changed(self, rep_id: str, month: str) -> None:
        """A fact of the rep's month moved: its commission is computed again."""
        self._pay.pop((rep_id, month), None)

    def targets_changed(self) -> None:
        """A target, a split share or the roster moved: everything is computed again."""
        self._targets.clear()
        self._pay.clear()
