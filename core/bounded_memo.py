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

#: Entries an engine's memo of one kind holds at most (a few MB at most).
LIMIT = 16384
#: ... and at least, however small a share of the organisation the engine holds.
LEAST = 512


def limit_for(share: int) -> int:
    """The bound of each memo of an engine holding about ``1/share`` of the organisation's
    reps: ``share`` such engines together hold no more than one whole engine (``LIMIT``),
    unless each is at ``LEAST``."""
    return max(LEAST, LIMIT // max(1, share))


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
