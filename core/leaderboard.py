"""Rankings (contract §6): ties share a rank and the next rank skips (1, 1, 3); within a
tie, rows are ordered by rep id. Rows without a value are left out.

``rank`` is the specification; ``RankIndex`` keeps the same order up to date one rep at
a time, for boards too large to sort on every read."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal
from typing import Any


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
#: Most entries in one block of a ``RankIndex`` (an insert moves at most this many
#: pointers; a board of up to this many reps, every team board, is one plain list).
BLOCK = 1_000


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


def _itself(key: OrderKey) -> OrderKey:
    return key


class RankIndex:
    """One ranking kept in order as reps come, go and change value: O(log n) to add or
    remove an entry, O(log n + N) to read the first N rows with the ranks ``rank`` gives,
    never a sort of the whole set.

    An entry is a rep's key from ``order_key`` (made with this index's ``descending``), or
    any object ``key`` gives that key of (then no key is stored: it is read from the entry
    at each comparison, so an entry must leave the index before its key changes). Entries
    are kept in sorted blocks of at most ``BLOCK``."""

    __slots__ = ("descending", "_key", "_blocks", "_len")

    def __init__(self, descending: bool = True, key: Callable[[Any], tuple[Any, ...]] | None = None) -> None:
        self.descending = descending
        self._key: Callable[[Any], tuple[Any, ...]] = key or _itself
        #: the entries in order, cut into blocks (no block is empty)
        self._blocks: list[list[Any]] = []
        self._len = 0

    def __len__(self) -> int:
        """How many reps are ranked."""
        return self._len

    def _block_of(self, key: tuple[Any, ...]) -> int:
        """The block where an entry keyed ``key`` is or goes: the first whose last key is not
        below it (the last block when every key is)."""
        blocks = self._blocks
        if len(blocks) == 1:
            return 0
        get = self._key
        return min(bisect.bisect_left(blocks, key, key=lambda block: get(block[-1])), len(blocks) - 1)

    def add(self, entry: Any) -> None:
        """Rank a rep (it must not be ranked already)."""
        blocks = self._blocks
        self._len += 1
        if not blocks:
            blocks.append([entry])
            return
        get = self._key
        at = self._block_of(get(entry))
        block = blocks[at]
        bisect.insort(block, entry, key=get)
        if len(block) > BLOCK:
            half = len(block) // 2
            blocks[at:at + 1] = [block[:half], block[half:]]

    def _find(self, key: tuple[Any, ...]) -> tuple[int, int]:
        """(block, position in it) of the entry keyed ``key``; ValueError when none is."""
        if self._blocks:
            at = self._block_of(key)
            block = self._blocks[at]
            i = bisect.bisect_left(block, key, key=self._key)
            if i < len(block) and self._key(block[i]) == key:
                return at, i
        raise ValueError(f"{key!r} is not ranked")

    def remove(self, entry: Any) -> None:
        """Stop ranking a rep, given its entry (its key as it was added)."""
        at, i = self._find(self._key(entry))
        block = self._blocks[at]
        del block[i]
        if not block:
            del self._blocks[at]
        self._len -= 1

    def rank_of(self, key: OrderKey) -> int:
        """The rank ``rank`` gives the rep ranked under ``key``: one more than the reps whose
        value ranks strictly ahead (a tie shares the rank), O(log n) without reading a row."""
        self._find(key)  # ranked at all
        return self.count_below((key[0], "")) + 1  # (units, "") sorts before every rep_id of the value

    def count_below(self, bound: tuple[Any, ...]) -> int:
        """How many entries have a key below ``bound`` (a tuple that compares with the keys),
        O(log n) bisections plus a count of the blocks before."""
        blocks = self._blocks
        if not blocks:
            return 0
        at = self._block_of(bound)
        return sum(map(len, itertools.islice(blocks, at))) + bisect.bisect_left(blocks[at], bound, key=self._key)

    def entries_at(self, position: int) -> Iterator[Any]:
        """The entries in order from the one at ``position`` (0: the first), O(blocks)."""
        blocks = self._blocks
        for at, block in enumerate(blocks):
            if position < len(block):
                return itertools.chain(itertools.islice(block, position, None),
                                       itertools.chain.from_iterable(itertools.islice(blocks, at + 1, None)))
            position -= len(block)
        return iter(())

    def _first(self, stop: int) -> Iterator[Any]:
        return itertools.islice(itertools.chain.from_iterable(self._blocks), stop)

    def ranks(self, limit: int | None = None) -> Iterator[tuple[int, str]]:
        """(rank, rep_id) of ``rank(...)[:limit]``: competition ranks, rep_id within a tie."""
        stop = slice(limit).indices(self._len)[1]
        return competition(map(self._key, self._first(stop)))

    def top(self, limit: int | None = None) -> list[RankedRow]:
        """``rank(...)[:limit]`` of the ranked reps, values included."""
        stop = slice(limit).indices(self._len)[1]
        keys = (self._key(entry) for entry in self._first(stop))
        return [RankedRow(rank_, rep_id, key_value(key, self.descending))
                for (rank_, rep_id), key in zip(self.ranks(limit), keys, strict=True)]


def competition(keys: Iterable[OrderKey]) -> Iterator[tuple[int, str]]:
    """(rank, rep_id) of keys in rank order: competition ranks ("1224"), a tie sharing one."""
    rank_, previous = 0, None
    for i, (units, rep_id) in enumerate(keys):
        if i == 0 or units != previous:
            rank_, previous = i + 1, units
        yield rank_, rep_id


class _Above:
    """A bound that sorts after every value a key holds (ints and Decimals give way to it)."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


#: Sorts after every value: ``(group, ABOVE)`` comes after the last key of ``group``.
ABOVE = _Above()
#: A key of a ``GroupedRankIndex``: (group, units, rep_id), units as in ``OrderKey``.
GroupKey = tuple[str, int | Decimal, str]


class GroupedRankIndex(RankIndex):
    """Many rankings in one order (every team board of a period): entries keyed (group,
    units, rep_id), so each group's entries are one run of it, ranked as a ``RankIndex``
    of their own would rank them. Adding, removing, a group's size and a rep's rank in its
    group cost O(log n) bisections; the first N rows of a group O(log n + N). One order
    for many small groups holds a pointer per entry, not an index and its lists per group."""

    __slots__ = ()

    def _span(self, group: str) -> tuple[int, int]:
        """Where ``group``'s run starts in the order and where it ends (exclusive)."""
        return self.count_below((group,)), self.count_below((group, ABOVE))

    def size(self, group: str) -> int:
        """How many reps ``group`` ranks."""
        first, end = self._span(group)
        return end - first

    def rank_of(self, key: GroupKey) -> int:  # type: ignore[override]
        """The rank of the rep keyed ``key`` within its group (ValueError when not ranked)."""
        return self.standing(key)[0]

    def standing(self, key: GroupKey) -> tuple[int, int]:
        """The rank of the rep keyed ``key`` within its group and how many reps the group
        ranks (ValueError when the rep is not ranked): four bisections."""
        self._find(key)
        group, units, _ = key
        first, end = self._span(group)
        return self.count_below((group, units, "")) - first + 1, end - first

    def group_ranks(self, group: str, limit: int | None = None) -> tuple[Iterator[tuple[int, str]], int]:
        """(rank, rep_id) of the first ``limit`` (or all) reps of ``group``, as ``ranks``
        gives them, and how many reps the group ranks."""
        first, end = self._span(group)
        stop = slice(limit).indices(end - first)[1]
        keys = (key[1:] for key in map(self._key, itertools.islice(self.entries_at(first), stop)))
        return competition(keys), end - first


def ranking_changed(old: list[RankedRow], new: list[RankedRow]) -> bool:
    """True when ranks, order or values differ."""
    return old != new
