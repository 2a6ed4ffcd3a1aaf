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
        legacy: dict[str, Any] = {}
        rows: list[tuple[str, list[list[Any]]]] = []
        for key, value in self.table.items():
            if ROW_KEY.match(key):
                rows.append((key, value))
            else:
                legacy[key] = value
        rows.sort(key=lambda row: row[0])
        latest = legacy
        for _, entries in rows:
            for fact_key, fact in entries:
                latest[fact_key] = fact
        self.sequence = int(rows[-1][0][:12]) + 1 if rows else 0
        self.writer = secrets.token_hex(4)
        self.pending = []
        self.latest = latest if self.readable else {}
        return latest

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


def stored_facts(table: KeyValue) -> dict[str, Any]:
    """Fact key -> latest stored fact of a fact log's table (tools and tests)."""
    return FactLog(table).load()
