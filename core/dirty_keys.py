"""The scorecard keys to render again, months apart from the longer periods.

Months are what leaderboards and alerts watch, and what a leading-edge flush renders
right after a message: keeping them in a set of their own makes "is a month waiting?"
and "take the months" cost the months only, not every quarter, year and trailing window
waiting for the long interval.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from .labels import is_month

#: (scope, id, period label)
Key = tuple[str, str, str]


class DirtyKeys:
    """A set of scorecard keys, split by period kind (``months`` and ``longer``)."""

    __slots__ = ("months", "longer")

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        self.months: set[Key] = set()
        self.longer: set[Key] = set()
        self.update(keys)

    def add(self, key: Key) -> None:
        """Mark one key."""
        (self.months if is_month(key[2]) else self.longer).add(key)

    def update(self, keys: Iterable[Key]) -> None:
        """Mark several keys."""
        for key in keys:
            self.add(key)

    def discard_all(self, keys: Iterable[Key]) -> None:
        """Unmark these keys (those not marked are ignored)."""
        for key in keys:
            self.months.discard(key)
            self.longer.discard(key)

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
