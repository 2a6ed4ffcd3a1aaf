"""Publishing to a compacted output topic: next revision, send, record.

``Publisher`` owns one key space (scorecards, leaderboards): it sends an update only
when the content changed, numbers it with the next revision and a deterministic event
id, and records ``[revision, digest]`` in its table after the send. A crash between send
and record re-sends the same revision (same id, same content) instead of losing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from sales_scorecard.core.publishing import next_revision

#: What the stages need of a table: a Faust table in the worker, a dict in tests.
KeyValue = MutableMapping[str, Any]


#: Sends one record (key, value; value None is a tombstone) to an output topic.
Send = Callable[[bytes, "bytes | None"], Awaitable[None]]


class Publisher:
    """Revisioned updates of one key space on one compacted topic."""

    def __init__(self, send: Send, emitted: KeyValue, event_id: Callable[[str, int], str]) -> None:
        self._send = send
        self._emitted = emitted
        self._event_id = event_id

    async def publish(self, key: str, content: dict[str, Any], emitted_at: str, resend: bool = False) -> bool:
        """Send ``content`` under ``key`` if it changed since the last update (or, with
        ``resend``, send the last revision again when it did not); True when sent."""
        previous = self._emitted.get(key)
        decision = next_revision(previous, content)
        if decision is None and resend and previous is not None:
            decision = (int(previous[0]), previous[1])
        if decision is None:
            return False
        revision, digest = decision
        value = {**content, "event_id": self._event_id(key, revision), "revision": revision, "emitted_at": emitted_at}
        # Publish before recording: after a crash between the two, the same revision is
        # sent again (same event id and content) instead of never being sent.
        await self._send(key.encode(), orjson.dumps(value))
        self._emitted[key] = [revision, digest]
        return True

    async def withdraw(self, key: str) -> bool:
        """Tombstone a published key; its revision is kept, so a comeback continues the
        sequence. False when the key is not published."""
        previous = self._emitted.get(key)
        if previous is None or previous[1] is None:
            return False
        await self._send(key.encode(), None)
        self._emitted[key] = [previous[0], None]
        return True
