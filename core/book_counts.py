"""The book behind ``contact_coverage``: how many distinct customers had a won deal credited
to a scope with closed_at in ``[end − 365 days, end)`` (contract §5).

A render scans a scope's wins once per window end (``scan_coverage``, book and covered
together) and ``BookCounts`` keeps the book it found, moved as wins come and go
(``changed``): later renders read it instead of scanning every customer the scope ever
won. The scan grew with the history: after a minute of steady load it was the largest
cost of the stage on time, and a company month scanned every customer of the
organisation (docs/benchmarks.md). The covered customers of a team's or the company's
month with a large book are kept the same way (``CoveredCounts``), moved as contacts and
wins come and go; a rep's, or a small book's, are counted at each render
(``count_covered``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from .periods import InstantRange

#: The book's window: the 365 days before the period's end.
YEAR = timedelta(days=365)

#: The close times of one customer's won deals credited to a scope: the time itself for
#: one, a tuple for several (the engine's multiset, ``close_times_with``).
Held = datetime | tuple[datetime, ...]


def held_within(held: Held, lo: datetime, hi: datetime) -> bool:
    """Whether any close time in ``held`` is in ``[lo, hi)``."""
    if isinstance(held, datetime):
        return lo <= held < hi
    for ts in held:  # noqa: SIM110 - a plain loop: any(generator) costs a generator per call
        if lo <= ts < hi:
            return True
    return False


def _size(held: Held | None) -> int:
    return 0 if held is None else 1 if isinstance(held, datetime) else len(held)


def book_moves(ts: datetime, rest: Held | None, end: datetime) -> bool:
    """Whether the book of the year before ``end`` moves when a customer's close time
    ``ts`` comes or goes, ``rest`` being its close times without it (``book_move``)."""
    lo = end - YEAR
    return lo <= ts and (rest is None or not held_within(rest, lo, end))


def book_move(old: Held | None, new: Held | None) -> tuple[Held | None, int]:
    """A customer's close times went from ``old`` to ``new`` by adding or removing one time:
    the side without that time, and how a book whose year holds that time moves (+1: the
    customer joins it, -1: leaves it) unless that side has a close time in the year too.
    Only that side needs a look: the other holds the time, in the year."""
    return (old, 1) if _size(new) > _size(old) else (new, -1)


_K = TypeVar("_K", datetime, str)
_V = TypeVar("_V")


def _put_in_order(kept: dict[_K, _V], key: _K, value: _V) -> None:
    """Put ``key`` in a dict kept in ascending key order (the moves read it newest first and
    stop at the first key before the change; a key put out of order rebuilds it, rarely)."""
    if key in kept or not kept or key > next(reversed(kept)):
        kept[key] = value
        return
    items = list(kept.items())
    items.append((key, value))
    items.sort(key=lambda item: item[0])
    kept.clear()
    kept.update(items)


def scan_coverage(wins: Mapping[str, Held], contacts: Mapping[str, int], lo: datetime,
                  hi: datetime) -> tuple[int, int]:
    """(book, covered) by looking at every customer in ``wins``: those with a close time in
    ``[lo, hi)``, and those among them with two or more ``contacts``."""
    within = InstantRange(lo, hi).holds_any
    book = covered = 0
    for customer, held in wins.items():
        if within(held):
            book += 1
            if contacts.get(customer, 0) >= 2:
                covered += 1
    return book, covered


def count_covered(wins: Mapping[str, Held], contacts: Mapping[str, int], lo: datetime, hi: datetime) -> int:
    """How many customers have two or more ``contacts`` and a close time in ``wins`` within
    ``[lo, hi)`` (``scan_coverage``'s covered, without its book), looking at whichever of the
    two is smaller (a company month checked about 18,000 customers at 10,000 reps, most of
    its render)."""
    within = InstantRange(lo, hi).holds_any
    if len(contacts) <= len(wins):
        return sum(1 for customer, times in contacts.items()
                   if times >= 2 and (held := wins.get(customer)) is not None and within(held))
    return sum(1 for customer, held in wins.items() if contacts.get(customer, 0) >= 2 and within(held))


class BookCounts:
    """scope -> window end -> the size of the scope's book at that end, for the ends read
    (in ascending order of the ends)."""

    __slots__ = ("_by_scope",)

    def __init__(self) -> None:
        self._by_scope: dict[tuple[str, str], dict[datetime, int]] = {}

    def get(self, scope: tuple[str, str], end: datetime) -> int | None:
        """The book of ``scope`` in the year before ``end``, if kept (``put``)."""
        ends = self._by_scope.get(scope)
        return None if ends is None else ends.get(end)

    def put(self, scope: tuple[str, str], end: datetime, book: int) -> None:
        """Keep the book of ``scope`` at ``end`` (a scan's); ``changed`` moves it from now on."""
        ends = self._by_scope.get(scope)
        if ends is None:
            ends = self._by_scope[scope] = {}
        _put_in_order(ends, end, book)

    def changed(self, scope: tuple[str, str], ts: datetime, old: Held | None, new: Held | None) -> None:
        """One customer's close times in ``scope`` went from ``old`` to ``new`` (None: no
        win), by adding or removing ``ts``: the counts whose window holds ``ts`` follow."""
        ends = self._by_scope.get(scope)
        if not ends:
            return
        rest, move = book_move(old, new)
        for end in reversed(ends):  # newest first: most kept ends are past months, before ``ts``
            if ts >= end:
                return
            if book_moves(ts, rest, end):
                ends[end] += move


#: The book from which a team's or the company's covered customers are kept
#: (``CoveredCounts``) rather than counted at each render: a small book counts in less
#: time than keeping it costs in memory.
KEEP_COVERED_FROM = 64


class _KeptMonth:
    """A kept month's end and covered customers."""

    __slots__ = ("end", "covered")

    def __init__(self, end: datetime, covered: int) -> None:
        self.end, self.covered = end, covered


class CoveredCounts:
    """scope -> month -> its end and covered customers: the customers of the month's book
    with two or more of the month's contacts (``contact_coverage``), for the months ``put``,
    moved as the month's contacts (``contacted``) and the scope's wins (``won``) change."""

    __slots__ = ("scopes",)

    def __init__(self) -> None:
        #: scope -> month -> kept, in ascending order of the months (a scope is here once
        #: one of its months is)
        self.scopes: dict[tuple[str, str], dict[str, _KeptMonth]] = {}

    def get(self, scope: tuple[str, str], month: str) -> int | None:
        """The covered customers of ``scope``'s ``month``, if kept."""
        kept = self.scopes.get(scope, {}).get(month)
        return None if kept is None else kept.covered

    def put(self, scope: tuple[str, str], month: str, end: datetime, covered: int) -> None:
        """Keep ``covered`` (a scan's) for the month ending at ``end``; it moves from now on."""
        _put_in_order(self.scopes.setdefault(scope, {}), month, _KeptMonth(end, covered))

    def contacted(self, scope: tuple[str, str], month: str, reached: bool, held: Held | None) -> None:
        """A customer's contacts in ``scope``'s ``month`` reached two (``reached``) or fell
        below; ``held``: the customer's close times in the scope (None: never won there)."""
        kept = self.scopes.get(scope, {}).get(month)
        if kept is not None and held is not None and held_within(held, kept.end - YEAR, kept.end):
            kept.covered += 1 if reached else -1

    def won(self, scope: tuple[str, str], ts: datetime, old: Held | None, new: Held | None,
            contacts: Callable[[str], int]) -> None:
        """A customer's close times in ``scope`` went from ``old`` to ``new`` by adding or
        removing ``ts``; ``contacts(month)``: the customer's contacts in that month."""
        months = self.scopes.get(scope)
        if not months:
            return
        rest, move = book_move(old, new)
        for month in reversed(months):  # newest first, as ``BookCounts.changed``
            kept = months[month]
            end = kept.end
            if ts >= end:
                return
            if book_moves(ts, rest, end) and contacts(month) >= 2:
                kept.covered += move
