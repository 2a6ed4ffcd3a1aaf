"""The book behind ``contact_coverage``: how many distinct customers had a won deal credited
to a scope with closed_at in ``[end − 365 days, end)`` (contract §5).

``BookCounts`` counts a scope's book once per window end, by a scan of the scope's wins,
and then keeps the count as wins come and go (``changed``), so a render reads a number
instead of scanning every customer the scope ever won. The scan grew with the history:
after a minute of steady load it was the largest cost of the stage on time, and a company
month scanned every customer of the organisation (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo

from .periods import NO_ZONE, bounds_in

#: The book's window: the 365 days before the period's end.
YEAR = timedelta(days=365)

#: The close times of one customer's won deals credited to a scope: the time itself for
#: one, a tuple for several (the engine's multiset).
Held = datetime | tuple[datetime, ...]


def held_within(held: Held, lo: datetime, hi: datetime) -> bool:
    """Whether any close time in ``held`` is in ``[lo, hi)``."""
    if isinstance(held, datetime):
        return lo <= held < hi
    return any(lo <= ts < hi for ts in held)


def scan_book(wins: Mapping[str, Held], lo: datetime, hi: datetime) -> int:
    """The customers in ``wins`` with a close time in ``[lo, hi)``, counted by looking at
    each. The bounds are expressed in the timestamps' own fixed offset (``bounds_in``):
    comparing across tzinfos was most of the loop's time."""
    zone: tzinfo | None = NO_ZONE
    zlo, zhi = lo, hi
    book = 0
    for held in wins.values():
        for ts in (held,) if isinstance(held, datetime) else held:
            if ts.tzinfo is not zone:
                zone = ts.tzinfo
                zlo, zhi = bounds_in(lo, hi, zone)
            if zlo <= ts < zhi:
                book += 1
                break
    return book


class BookCounts:
    """scope -> window end -> the size of the scope's book at that end, for the ends read."""

    __slots__ = ("_by_scope",)

    def __init__(self) -> None:
        self._by_scope: dict[tuple[str, str], dict[datetime, int]] = {}

    def count(self, scope: tuple[str, str], end: datetime, wins: Mapping[str, Held]) -> int:
        """The book of ``scope`` (whose wins are ``wins``) in the year before ``end``:
        scanned the first time, kept up to date by ``changed`` after that."""
        ends = self._by_scope.get(scope)
        if ends is None:
            ends = self._by_scope[scope] = {}
        book = ends.get(end)
        if book is None:
            book = ends[end] = scan_book(wins, end - YEAR, end)
        return book

    def changed(self, scope: tuple[str, str], ts: datetime, old: Held | None, new: Held | None) -> None:
        """One customer's close times in ``scope`` went from ``old`` to ``new`` (None: no
        win), by adding or removing ``ts``: the counts whose window holds ``ts`` follow."""
        ends = self._by_scope.get(scope)
        if not ends:
            return
        for end, book in ends.items():
            lo = end - YEAR
            if lo <= ts < end:
                was = old is not None and held_within(old, lo, end)
                now = new is not None and held_within(new, lo, end)
                if was != now:
                    ends[end] = book + 1 if now else book - 1
