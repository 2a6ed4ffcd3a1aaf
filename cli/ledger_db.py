"""The reference payroll ledger: statements and adjustments in SQLite, applied idempotently.

Each Kafka record is applied in one SQLite transaction together with its source offset;
``INSERT OR IGNORE`` on the deterministic statement and adjustment ids makes a replay a
no-op. A record whose id is known but whose figures differ is kept in ``conflicts``
(it should never happen: ids are deterministic), never applied twice.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import IO, Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    statement_id TEXT PRIMARY KEY, rep_id TEXT NOT NULL, team_id TEXT, period TEXT NOT NULL,
    revenue TEXT NOT NULL, target TEXT, commission TEXT NOT NULL, plan_id TEXT, posted_at TEXT, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS adjustments (
    adjustment_id TEXT PRIMARY KEY, rep_id TEXT NOT NULL, original_period TEXT NOT NULL,
    original_statement_id TEXT NOT NULL, apply_in_period TEXT NOT NULL, delta_revenue TEXT NOT NULL,
    delta_commission TEXT NOT NULL, reason TEXT, deal_id TEXT, posted_at TEXT, payload TEXT NOT NULL,
    dispute_id TEXT);
CREATE TABLE IF NOT EXISTS source_offsets (topic TEXT, partition INTEGER, next_offset INTEGER,
    PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS rejected (topic TEXT, partition INTEGER, offset INTEGER, reason TEXT, raw BLOB,
    PRIMARY KEY (topic, partition, offset));
CREATE TABLE IF NOT EXISTS conflicts (id TEXT, payload TEXT, PRIMARY KEY (id, payload));
"""

#: Columns compared to detect a conflicting re-delivery (same id, other figures).
_FIGURES = {"statements": ("revenue", "commission"), "adjustments": ("delta_revenue", "delta_commission")}


def gate_summary(bands: Any) -> str:
    """A statement's gated bands in one CSV cell (contract §11), e.g.
    ``1.0+ csat >= 4.5: fail (4.0), paid 0.05``; empty when no band with revenue is gated."""
    parts = []
    for band in bands:
        gate = band.get("gate")
        if not gate:
            continue
        checks = ", ".join(
            f"{c['kpi']} {c['op']} {c['value']}: {'pass' if c['passed'] else 'fail'} "
            f"({'missing, ' + c['when_missing'] if c['actual'] is None else c['actual']})"
            for c in gate["conditions"])
        upper = "+" if band["to"] is None else f"-{band['to']}"
        parts.append(f"{band['from']}{upper} {checks}; paid {band['paid_rate']}")
    return " | ".join(parts)


class Ledger:
    """A SQLite payroll ledger."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        # A ledger created before appeals existed gains their column (contract §10).
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(adjustments)")}
        if "dispute_id" not in columns:
            self.db.execute("ALTER TABLE adjustments ADD COLUMN dispute_id TEXT")

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def apply(self, topic: str, partition: int, offset: int, value: bytes | None) -> str:
        """Apply one record in its own transaction; returns ``inserted``, ``duplicate``,
        ``conflict`` or ``rejected``."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            outcome = self._apply(topic, partition, offset, value)
            self.db.execute(
                "INSERT INTO source_offsets VALUES (?, ?, ?) ON CONFLICT(topic, partition) "
                "DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
                (topic, partition, offset + 1),
            )
            self.db.execute("COMMIT")
            return outcome
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _apply(self, topic: str, partition: int, offset: int, value: bytes | None) -> str:
        try:
            event = orjson.loads(value or b"")
            kind = event["type"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.db.execute("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?)",
                            (topic, partition, offset, "not a payroll event", value))
            return "rejected"
        row: tuple[Any, ...]
        if kind == "payroll.statement":
            table, key = "statements", "statement_id"
            row = (event["statement_id"], event["rep_id"], event.get("team_id"), event["period"], event["revenue"],
                   event.get("target"), event["commission"], event.get("plan_id"), event.get("posted_at"))
        elif kind == "payroll.adjustment":
            table, key = "adjustments", "adjustment_id"
            row = (event["adjustment_id"], event["rep_id"], event["original_period"], event["original_statement_id"],
                   event["apply_in_period"], event["delta_revenue"], event["delta_commission"], event.get("reason"),
                   event.get("deal_id"), event.get("posted_at"))
        else:
            self.db.execute("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?)",
                            (topic, partition, offset, f"unknown type {kind!r}", value))
            return "rejected"
        existing = self.db.execute(
            f"SELECT {', '.join(_FIGURES[table])} FROM {table} WHERE {key} = ?", (row[0],)).fetchone()
        if existing is not None:
            figures = tuple(event[c] for c in _FIGURES[table])
            if tuple(existing) != figures:
                self.db.execute("INSERT OR IGNORE INTO conflicts VALUES (?, ?)", (row[0], orjson.dumps(event).decode()))
                return "conflict"
            return "duplicate"
        values = (*row, orjson.dumps(event).decode())
        if table == "adjustments":
            values += (event.get("dispute_id"),)
        self.db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values))})", values)
        return "inserted"

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a table without the raw payload, sorted (for comparisons)."""
        cols = {"statements": "statement_id, rep_id, team_id, period, revenue, target, commission, plan_id",
                "adjustments": "adjustment_id, rep_id, original_period, original_statement_id, apply_in_period, "
                               "delta_revenue, delta_commission, reason, deal_id",
                "conflicts": "id, payload"}[table]
        return sorted(self.db.execute(f"SELECT {cols} FROM {table}").fetchall())

    def export(self, period: str, out: IO[str], currency: str = "CNY") -> int:
        """Write the CSV a payroll system imports for ``period``; returns the row count."""
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rep_id", "line_type", "pay_period", "amount", "currency", "original_period",
                         "statement_id", "reference_id", "reason", "gate", "dispute_id"])
        rows = []
        for rep_id, commission, sid, payload in self.db.execute(
                "SELECT rep_id, commission, statement_id, payload FROM statements WHERE period = ?", (period,)):
            gate = gate_summary(orjson.loads(payload).get("bands", ()))
            rows.append([rep_id, "commission", period, commission, currency, period, sid, sid, "", gate, ""])
        for rep_id, delta, original, sid, aid, reason, dispute in self.db.execute(
                "SELECT rep_id, delta_commission, original_period, original_statement_id, adjustment_id, reason, "
                "dispute_id FROM adjustments WHERE apply_in_period = ?", (period,)):
            rows.append([rep_id, "adjustment", period, delta, currency, original, sid, aid, reason, "", dispute or ""])
        rows.sort(key=lambda r: (r[0], r[1] != "commission", r[5], r[7]))
        for row in rows:
            writer.writerow(row)
        return len(rows)
