"""``scorecard payroll export`` from the SQLite ledger: each statement's gate (contract §11), each
adjustment's reason and dispute (contract §10)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson

from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.payroll import PayrollLedger
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, close_period, deal, roster, target


def test_export_shows_the_gate_of_each_statement(tmp_path: Path) -> None:
    engine, payroll = ScorecardEngine("Asia/Shanghai"), PayrollLedger()
    for ev in (roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t1"),
               target("rep", "r1", "2026-11", "1000000.00"), target("rep", "r2", "2026-11", "1000000.00"),
               target("rep", "r3", "2026-11", "1000000.00"),
               deal("d1", "r1", "c1", "1200000.00", closed_at="2026-11-05T10:00:00+08:00"),
               deal("d2", "r2", "c2", "1200000.00", closed_at="2026-11-05T10:00:00+08:00"),
               deal("d3", "r3", "c3", "500000.00", closed_at="2026-11-05T10:00:00+08:00"),
               activity("r1", "survey", occurred_at="2026-11-06T09:00:00+08:00", score=4),
               close_period("2026-11")):
        engine.apply(record_from_event(ev))
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for offset, out in enumerate(payroll.post_statements(engine, "2026-12-01T00:00:00.000Z")):
        ledger.apply("sales.payroll", 0, offset, orjson.dumps(out.event))
    text = io.StringIO()
    assert ledger.export("2026-11", text) == 3
    rows = {r["rep_id"]: r for r in csv.DictReader(io.StringIO(text.getvalue()))}
    # r1: csat 4 fails the 8 % gate, 1,200,000 x 5 %; r2: no survey, passes; r3: never reaches the gated band
    assert (rows["r1"]["amount"], rows["r1"]["gate"]) == ("60000.00", "1.0+ csat >= 4.5: fail (4.0); paid 0.05")
    assert (rows["r2"]["amount"], rows["r2"]["gate"]) == (
        "66000.00", "1.0+ csat >= 4.5: pass (missing, pass); paid 0.08")
    assert (rows["r3"]["amount"], rows["r3"]["gate"]) == ("25000.00", "")
    ledger.close()


def test_the_ledger_and_its_export_carry_each_adjustment_s_reason_and_dispute(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite"
    old = sqlite3.connect(str(path))  # a ledger written before appeals: no dispute_id column
    old.executescript(
        "CREATE TABLE adjustments (adjustment_id TEXT PRIMARY KEY, rep_id TEXT NOT NULL, original_period TEXT NOT NULL,"
        " original_statement_id TEXT NOT NULL, apply_in_period TEXT NOT NULL, delta_revenue TEXT NOT NULL,"
        " delta_commission TEXT NOT NULL, reason TEXT, deal_id TEXT, posted_at TEXT, payload TEXT NOT NULL);")
    old.close()
    ledger = Ledger(path)

    def adjustment(adjustment_id: str, reason: str, dispute_id: str | None, amount: str) -> bytes:
        return orjson.dumps({"type": "payroll.adjustment", "adjustment_id": adjustment_id, "rep_id": "r1",
                             "original_period": "2026-10", "original_statement_id": "stmt:r1:2026-10",
                             "apply_in_period": "2026-11", "delta_revenue": "0.00", "delta_commission": amount,
                             "reason": reason, "deal_id": None, "dispute_id": dispute_id,
                             "posted_at": "2026-11-20T00:00:00.000Z"})

    assert ledger.apply("sales.payroll", 0, 0, adjustment("adj:appeal:D-7", "appeal", "D-7", "150.00")) == "inserted"
    assert ledger.apply("sales.payroll", 0, 1, adjustment("adj:r1:2026-10:1", "late_won", None, "-20.00")) == "inserted"
    stored = ledger.db.execute("SELECT adjustment_id, reason, dispute_id FROM adjustments ORDER BY 1").fetchall()
    assert stored == [("adj:appeal:D-7", "appeal", "D-7"), ("adj:r1:2026-10:1", "late_won", None)]
    text = io.StringIO()
    assert ledger.export("2026-11", text) == 2
    rows = {r["reference_id"]: r for r in csv.DictReader(io.StringIO(text.getvalue()))}
    assert (rows["adj:appeal:D-7"]["reason"], rows["adj:appeal:D-7"]["dispute_id"]) == ("appeal", "D-7")
    assert (rows["adj:r1:2026-10:1"]["reason"], rows["adj:r1:2026-10:1"]["dispute_id"]) == ("late_won", "")
    ledger.close()
