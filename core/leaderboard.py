"""Rankings (contract §6): ties share a rank and the next rank skips (1, 1, 3); within a
tie, rows are ordered by rep id. Rows without a value are left out.

``rank`` is the specification; ``RankIndex`` keeps the same order up to date one rep at
a time, for boards too large to sort on every read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sortedcontainers import SortedList


@dataclass(frozen=True)
class RankedRow:
    """One ranked rep."""

    rank: int
    rep_id: str
    value: Decimal | int


def rank(rows: Iterable[tuple[str, Decimal | int | None]], descending: bool = True) -> list[RankedRow]:
    """Competition ranking ("1224") of (rep_id, value) rows."""
    present = [(rep_id, value) for rep_id, value in rows if value is not None]
    present.sort(key=lambda r: r[0])
    present.sort(key=lambda r: r[1], reverse=descending)  # stable: rep_id order within ties
    out: list[RankedRow] = []
    for i, (rep_id, value) in enumerate(present):
        if out and out[-1].value == value:
            out.append(RankedRow(out[-1].rank, rep_id, value))
        else:
            out.append(RankedRow(i + 1, rep_id, value))
    return out


def percentile(rank: int, ranked: int) -> dict[str, Any]:
    """A row's place among the ``ranked`` reps of its board (contract §11): ``top_percent``
    = 100 × rank / ranked, half-up to one decimal, and ``top_decile`` = rank ≤ ⌈ranked / 10⌉."""
    top = (Decimal(100 * rank) / Decimal(ranked)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return {"top_percent": float(top), "top_decile": rank <= -(-ranked // 10)}


#: Where a rep sits in a ``RankIndex``: (rounded value, exact value, rep_id, value as given),
#: the first two negated when the largest value ranks first.
OrderKey = tuple[float, Decimal, str, Decimal]


def order_key(rep_id: str, value: Decimal, descending: bool = True) -> OrderKey:
    """The key that sorts a rep where ``rank`` puts it: by value, then rep_id.

    The float in front only makes comparisons cheaper (two floats compare in about half
    the time of two Decimals): rounding to the nearest float never reverses an order, so
    unequal floats decide rightly and equal ones fall through to the exact value.
    ``copy_negate`` is exact, where unary minus rounds to the context's 28 digits."""
    rounded = float(value)
    if rounded != rounded:
        raise ValueError(f"{rep_id}: NaN cannot be ranked")
    if descending:
        return -rounded, value.copy_negate(), rep_id, value
    return rounded, value, rep_id, value


class RankIndex:
    """One ranking kept in order as reps come, go and change value (a key from
    ``order_key`` per ranked rep): O(log n) to add or remove a key, O(log n + N) to read
    the first N rows with the ranks ``rank`` gives, never a sort of the whole set."""

    def __init__(self) -> None:
        self._order: SortedList[OrderKey] = SortedList()

    def __len__(self) -> int:
        """How many reps are ranked."""
        return len(self._order)

    def add(self, key: OrderKey) -> None:
        """Rank a rep (it must not be ranked already)."""
        self._order.add(key)

    def remove(self, key: OrderKey) -> None:
        """Stop ranking a rep, given the key it was added with."""
        self._order.remove(key)

    def top(self, limit: int | None = None) -> list[RankedRow]:
        """``rank(...)[:limit]`` of the ranked reps: competition ranks, rep_id within a tie."""
        stop = slice(limit).indices(len(self._order))[1]
        out: list[RankedRow] = []
        for i, (_, _, rep_id, value) in enumerate(self._order.islice(0, stop)):
            if out and out[-1].value == value:
                out.append(RankedRow(out[-1].rank, rep_id, value))
            else:
                out.append(RankedRow(i + 1, rep_id, value))
        return out


def ranking_changed(old: list[RankedRow], new: list[RankedRow]) -> bool:
    """True when ranks, order or values differ."""
    return old != new
