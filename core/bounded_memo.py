"""A dict that keeps computed answers and starts over when it is full.

The engine keeps figures it derives again and again (a label's period, a target resolved
within its scope, members' target sums, a rep month's commission) until what they read
changes. Each kind is bounded the same way: once ``limit`` entries are held, the next
``put`` empties it first, so memory stays bounded however many keys are read and a read
costs no more than a dict's ``get``.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(dict[K, V]):
    """A dict (read it as one) whose ``put`` empties it first when ``limit`` entries are held."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key`` (after emptying a full memo); returns it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
