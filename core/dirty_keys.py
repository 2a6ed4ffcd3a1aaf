"""The scorecard keys to render again, months apart from the longer periods.

Months are what leaderboards and alerts watch, and what a leading-edge flush renders
right after a message: keeping them in a set of their own makes "is a month waiting?"
and "take the months" cost the months only, not every quarter, year and trailing window
waiting for the long interval.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from .labels import is_month, touched_by_kind
from .periods import TRAILING_DAYS

#: (scope, id, period label)
Key = tuple[str, str, str]


class DirtyKeys:
    """A set of scorecard keys, split by period kind (``months`` and ``longer``).

    Read ``months`` and ``longer``; take keys away only through ``keep``, ``drop_months``
    and ``discard_all``, which also forget the contributions already marked
    (``mark_contribution``)."""

    __slots__ = ("months", "longer", "_months_marked", "_longer_marked")

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        self.months: set[Key] = set()
        self.longer: set[Key] = set()
        #: (scope, id, month, coverage) of the contributions whose months, and whose longer
        #: keys, were marked since month keys, and longer keys, were last taken away
        self._months_marked: set[tuple[str, str, str, bool]] = set()
        self._longer_marked: set[tuple[str, str, str, bool]] = set()
        self.update(keys)

    def add(self, key: Key) -> None:
        """Mark one key."""
        (self.months if is_month(key[2]) else self.longer).add(key)

    def mark_contribution(self, scope: str, id: str, month: str, coverage: bool) -> None:
        """Mark the scorecards of (scope, id) a contribution to ``month`` can change
        (``labels.touched_by``) and its trailing windows. Facts of one scope and month come
        in runs, so a contribution like one already marked since keys were last taken away
        costs a lookup: its keys are all still marked."""
        seen = (scope, id, month, coverage)
        months_marked, longer_marked = self._months_marked, self._longer_marked
        if seen in months_marked and seen in longer_marked:
            return
        months, longer = touched_by_kind(month, coverage)
        if seen not in months_marked:
            months_marked.add(seen)
            dirty_months = self.months
            for label in months:
                dirty_months.add((scope, id, label))
        if seen not in longer_marked:
            longer_marked.add(seen)
            dirty_longer = self.longer
            for label in longer:
                dirty_longer.add((scope, id, label))
            for label in TRAILING_DAYS:
                dirty_longer.add((scope, id, label))

    def keep(self, months: set[Key], longer: set[Key] | None = None) -> None:
        """Leave only these months marked (and these longer keys, when given)."""
        self._months_marked.clear()
        self.months = months
        if longer is not None:
            self._longer_marked.clear()
            self.longer = longer

    def drop_months(self, keys: Iterable[Key]) -> None:
        """Unmark these month keys."""
        self._months_marked.clear()
        self.months.difference_update(keys)

    def discard_all(self, keys: Iterable[Key]) -> None:
        """Unmark these keys (those not marked are ignored)."""
        self._months_marked.clear()
        self._longer_marked.clear()
        for key in keys:
            self.months.discard(key)
            self.longer.discard(key)

    def update(self, keys: Iterable[Key]) -> None:
        """Mark several keys."""
        for key in keys:
            self.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self.months or key in self.longer

    def __len__(self) -> int:
        return len(self.months) + len(self.longer)

    def __bool__(self) -> bool:
        return bool(self.months) or bool(self.longer)

    def __iter__(self) -> Iterator[Key]:
        yield from self.months
        yield from self.longer


class KeyQueue:
    """Keys waiting their turn, first in first out, each at most once (an ordered set):
    taking a few costs those few, however many wait."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: OrderedDict[Key, None] = OrderedDict()

    def extend(self, keys: Iterable[Key]) -> None:
        """Queue these keys at the back (a key already waiting keeps its place)."""
        for key in keys:
            self._keys[key] = None

    def take(self, limit: int) -> list[Key]:
        """Up to ``limit`` keys from the front, no longer waiting."""
        taken: list[Key] = []
        keys = self._keys
        while keys and len(taken) < limit:
            taken.append(keys.popitem(last=False)[0])
        return taken

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)
