"""Rankings (contract §6): ties share a rank and the next rank skips (1, 1, 3); within a
tie, rows are ordered by rep id. Rows without a value are left out.

``rank`` is the specification; ``RankIndex`` keeps the same order up to date one rep at
a time, for boards too large to sort on every read."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal
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


@dataclass(frozen=True)
class Standing:
    """A rep's place on one ranking: its ``rank`` among the ``of`` reps ranked there."""

    rank: int
    of: int

    def to_json(self) -> dict[str, Any]:
        """The rank, of how many, and its percentile (``top_percent``, ``top_decile``)."""
        return {"rank": self.rank, "of": self.of, **percentile(self.rank, self.of)}


#: Where a rep sits in a ``RankIndex``: (the value in millionths, negated when the largest
#: value ranks first; rep_id). An int when the value has at most ``SCALE`` decimals (every
#: value a scorecard shows: money has 2, ratios and scores 4), else the exact Decimal.
#: Ints compare fast and exactly with each other and with Decimals; about 90 bytes a key
#: (a float prefix plus two Decimals took about 300 per key, four keys per rep-period).
OrderKey = tuple[int | Decimal, str]
#: Decimal places an int key keeps.
SCALE = 6
#: Keys a ``RankIndex`` keeps in a plain list before it moves them to a SortedList
#: (an insert then moves at most this many pointers).
SMALL_BOARD = 1_000


#: Exact arithmetic for moving a value's decimal point (``scaleb`` rounds to the
#: context's precision, 28 digits by default).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def order_key(rep_id: str, value: Decimal, descending: bool = True) -> OrderKey:
    """The key that sorts a rep where ``rank`` puts it: by value, then rep_id."""
    if not value.is_finite():
        raise ValueError(f"{rep_id}: {value} cannot be ranked")
    scaled = value.scaleb(SCALE, _EXACT)
    numerator, denominator = scaled.as_integer_ratio()
    # more decimals than an int key keeps: the exact value, in the same units
    units: int | Decimal = numerator if denominator == 1 else scaled
    if descending:
        units = -units if isinstance(units, int) else units.copy_negate()
    return units, rep_id


def key_value(key: OrderKey, descending: bool = True) -> Decimal:
    """The value a key was made from (numerically equal; 1.0 and 1 make the same key)."""
    units = key[0]
    if isinstance(units, int):  # int negation has no -0
        return Decimal(-units if descending else units).scaleb(-SCALE, _EXACT)
    return (units.copy_negate() if descending else units).scaleb(-SCALE, _EXACT)


class RankIndex:
    """One ranking kept in order as reps come, go and change value (a key from
    ``order_key`` per ranked rep, made with this index's ``descending``): O(log n) to add
    or remove a key, O(log n + N) to read the first N rows with the ranks ``rank``
    gives, never a sort of the whole set."""

    def __init__(self, descending: bool = True) -> None:
        self.descending = descending
        #: a plain sorted list while small (a team board: an empty SortedList alone is
        #: about 300 bytes, one of ten keys 1.1 KB), a SortedList beyond ``SMALL_BOARD``
        self._order: list[OrderKey] | SortedList = []

    def __len__(self) -> int:
        """How many reps are ranked."""
        return len(self._order)

    def add(self, key: OrderKey) -> None:
        """Rank a rep (it must not be ranked already)."""
        order = self._order
        if isinstance(order, SortedList):
            order.add(key)
        elif len(order) < SMALL_BOARD:
            bisect.insort(order, key)
        else:
            self._order = SortedList(order)
            self._order.add(key)

    def remove(self, key: OrderKey) -> None:
        """Stop ranking a rep, given the key it was added with."""
        order = self._order
        if isinstance(order, SortedList):
            order.remove(key)
            return
        at = bisect.bisect_left(order, key)
        if at == len(order) or order[at] != key:
            raise ValueError(f"{key!r} is not ranked")
        del order[at]

    def rank_of(self, key: OrderKey) -> int:
        """The rank ``rank`` gives the rep ranked under ``key``: one more than the reps whose
        value ranks strictly ahead (a tie shares the rank), O(log n) without reading a row."""
        order = self._order
        tie: OrderKey = (key[0], "")  # sorts before every rep_id of the same value
        if isinstance(order, SortedList):
            at, first = order.bisect_left(key), order.bisect_left(tie)
        else:
            at, first = bisect.bisect_left(order, key), bisect.bisect_left(order, tie)
        if at == len(order) or order[at] != key:
            raise ValueError(f"{key!r} is not ranked")
        return first + 1

    def _first(self, stop: int) -> Iterable[OrderKey]:
        order = self._order
        return order.islice(0, stop) if isinstance(order, SortedList) else itertools.islice(order, stop)

    def ranks(self, limit: int | None = None) -> Iterator[tuple[int, str]]:
        """(rank, rep_id) of ``rank(...)[:limit]``: competition ranks, rep_id within a tie."""
        stop = slice(limit).indices(len(self._order))[1]
        rank_, previous = 0, None
        for i, (units, rep_id) in enumerate(self._first(stop)):
            if i == 0 or units != previous:
                rank_, previous = i + 1, units
            yield rank_, rep_id

    def top(self, limit: int | None = None) -> list[RankedRow]:
        """``rank(...)[:limit]`` of the ranked reps, values included."""
        stop = slice(limit).indices(len(self._order))[1]
        keys = self._first(stop)
        return [RankedRow(rank_, rep_id, key_value(key, self.descending))
                for (rank_, rep_id), key in zip(self.ranks(limit), keys, strict=True)]


def ranking_changed(old: list[RankedRow], new: list[RankedRow]) -> bool:
    """True when ranks, order or values differ."""
    return old != new
