"""The facts a stage applied, kept durable as one table row per processed message.

Every table write costs a changelog record, about as much as Faust's whole delivery of a
message, so a stage does not store each fact under a key of its own: the facts one
message adds or changes go into one row. Rows are never written twice: a row's key sorts
in write order (``{sequence:012d}.{writer}``), the sequence going on from the highest one
found when the log was loaded, and ``writer`` being a random token of that load, so a
worker that lost the partition and still writes cannot overwrite the new owner's rows.
Rebuilding replays the rows in key order, the last write of a fact key winning: the same
facts a table keyed by fact would hold, whatever was re-processed after a crash.

A row's value is ``[[fact_key, stored_fact], ...]``. Keys of a fact-keyed table (the
layout before this log: ``deal:D-1`` → fact) are still read, before every row, so state
written by an earlier version of the worker is rebuilt too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .publisher import KeyValue

#: a row key: write sequence, then the writer's token
ROW_KEY = re.compile(r"^(\d{12})\.[0-9a-f]{8}$")


class FactLog:
    """A stage's stored facts: written one row per message, replayed at a rebuild.

    With ``readable`` the latest stored fact of every key is also kept in memory for
    ``get`` (the org stage routes a duplicate as its stored version was routed); without
    it the log is write-only between rebuilds and holds nothing but the pending row.
    """

    def __init__(self, table: KeyValue, readable: bool = False) -> None:
        self.table = table
        self.readable = readable
        #: fact key -> latest stored fact (only when readable)
        self.latest: dict[str, Any] = {}
        #: [fact_key, stored_fact] of the message being processed, not written yet
        self.pending: list[list[Any]] = []
        self.sequence = 0
        self.writer = secrets.token_hex(4)

    def load(self) -> dict[str, Any]:
        """Replay the table: fact key -> latest stored fact. Later rows get new keys."""
        return dict(self.replay(lambda fact: 0, streamed=0))

    def replay(self, rank: Callable[[Any], int], streamed: int) -> Iterator[tuple[str, Any]]:
        """Replay the table: every fact key with its latest stored fact, in ``rank`` order,
        holding only the facts of the other ranks in memory (few: roster, targets, closes):
        those of rank ``streamed`` (the many) are decoded again and handed on row by row,
        each at its latest row. Later rows get new keys once the replay has begun."""
        rows = self._row_keys()
        latest_row: dict[str, int] = {}
        held: dict[str, Any] = {}
        for index, row in enumerate(rows):
            for key, fact in self._entries(row):
                if rank(fact) == streamed:
                    latest_row[key] = index
                else:
                    held[key] = fact
        self.sequence = int(rows[-1][:12]) + 1 if rows and ROW_KEY.match(rows[-1]) else 0
        self.writer = secrets.token_hex(4)
        self.pending, self.latest = [], {}
        ordered = sorted(held.items(), key=lambda item: rank(item[1]))
        yield from self._kept(item for item in ordered if rank(item[1]) < streamed)
        for index, row in enumerate(rows):
            entries = dict(self._entries(row))  # within a row, the last entry of a key wins
            yield from self._kept((key, fact) for key, fact in entries.items() if latest_row.get(key) == index)
        yield from self._kept(item for item in ordered if rank(item[1]) > streamed)

    def _row_keys(self) -> list[str]:
        """The table's keys in replay order: fact-keyed entries of the older layout, then rows."""
        legacy: list[str] = []
        rows: list[str] = []
        for key in self.table:
            (rows if ROW_KEY.match(key) else legacy).append(key)
        return legacy + sorted(rows)

    def _entries(self, key: str) -> list[tuple[str, Any]]:
        """The (fact key, fact) pairs stored under table key ``key``."""
        return entries(key, self.table[key])

    def _kept(self, items: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
        """``items``, also kept in ``latest`` when the log is readable."""
        for key, fact in items:
            if self.readable:
                self.latest[key] = fact
            yield key, fact

    def put(self, key: str, fact: Any) -> None:
        """Store ``fact`` under ``key`` with the current message's row."""
        self.pending.append([key, fact])
        if self.readable:
            self.latest[key] = fact

    def get(self, key: str) -> Any:
        """The latest stored fact of ``key`` (readable logs only), or None."""
        if not self.readable:
            raise TypeError("this fact log keeps no facts in memory: create it readable")
        return self.latest.get(key)

    def write(self) -> None:
        """Write the current message's row, if it stored anything (one table write)."""
        if not self.pending:
            return
        self.table[f"{self.sequence:012d}.{self.writer}"] = self.pending
        self.sequence += 1
        self.pending = []


def entries(key: str, value: Any) -> list[tuple[str, Any]]:
    """The (fact key, fact) pairs of one table entry: a row's pairs, or the one fact of a
    fact-keyed entry of the older layout."""
    return [(fact_key, fact) for fact_key, fact in value] if ROW_KEY.match(key) else [(key, value)]


def stored_facts(table: KeyValue) -> dict[str, Any]:
    """Fact key -> latest stored fact of a fact log's table (tools and tests)."""
    return FactLog(table).load()
