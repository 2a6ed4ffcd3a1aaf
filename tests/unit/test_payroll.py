"""Statements at close and adjustments after it, with amounts worked out by hand (contract §7)."""

from __future__ import annotations

from typing import Any

from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.payroll import PaidState, PayrollLedger, first_open_month
from sales_scorecard.schemas.records import record_from_event
from tests.factories import close_period, deal, roster, target

NOV = "2026-11-{:02d}T10:00:00+08:00"


def run(engine: ScorecardEngine, ledger: PayrollLedger, *events: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for ev in events:
        engine.apply(record_from_event(ev))
        if ev["type"] == "close_period":  # as the agent does: statements only when a month closes
            out += [o.event for o in ledger.post_statements(engine, "2026-12-01T00:00:00.000Z")]
        out += [o.event for o in ledger.adjust(engine, engine.take_payroll_changes(), "2026-12-01T00:00:00.000Z")]
    return out


def setup() -> tuple[ScorecardEngine, PayrollLedger, list[dict[str, Any]]]:
    engine, ledger = ScorecardEngine("Asia/Shanghai"), PayrollLedger()
    out = run(engine, ledger,
              roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"),
              target("rep", "r1", "2026-11", "1000000.00"), target("rep", "r2", "2026-11", "100000.00"),
              deal("d1", "r1", "c1", "700000.00", closed_at=NOV.format(5)),
              deal("d2", "r1", "c2", "500000.00", closed_at=NOV.format(10)),
              deal("d3", "r2", "c3", "50000.00", closed_at=NOV.format(12)))
    assert out == []  # nothing is paid before the month closes
    return engine, ledger, run(engine, ledger, close_period("2026-11"))


def test_close_posts_one_statement_per_rep() -> None:
    engine, ledger, out = setup()
    by_rep = {e["rep_id"]: e for e in out}
    assert set(by_rep) == {"r1", "r2"}
    r1 = by_rep["r1"]
    assert r1["type"] == "payroll.statement" and r1["statement_id"] == "stmt:r1:2026-11"
    assert r1["revenue"] == "1200000.00" and r1["commission"] == "66000.00"  # 50,000 + 16,000
    assert [b["commission"] for b in r1["bands"]] == ["50000.00", "16000.00"]
    assert [i["deal_id"] for i in r1["line_items"]] == ["d1", "d2"]
    assert by_rep["r2"]["commission"] == "2500.00"
    # Closing the same month again emits nothing new.
    assert run(engine, ledger, close_period("2026-11")) == []


def test_later_changes_become_adjustments() -> None:
    engine, ledger, _ = setup()
    reversal = run(engine, ledger, deal("d2", "r1", "c2", "500000.00", stage="reversed", version=2,
                                        closed_at=NOV.format(10)))
    assert [(a["rep_id"], a["delta_revenue"], a["delta_commission"], a["reason"]) for a in reversal] == [
        ("r1", "-500000.00", "-31000.00", "reversal")]  # 66,000 -> 35,000 crosses the band boundary
    assert reversal[0]["original_statement_id"] == "stmt:r1:2026-11"
    assert reversal[0]["apply_in_period"] == "2026-12"
    amendment = run(engine, ledger, deal("d1", "r1", "c1", "800000.00", version=2, closed_at=NOV.format(5)))
    assert [(a["delta_revenue"], a["delta_commission"], a["reason"]) for a in amendment] == [
        ("100000.00", "5000.00", "amendment")]
    moved = run(engine, ledger, deal("d1", "r2", "c1", "800000.00", version=3, closed_at=NOV.format(5)))
    assert sorted((a["rep_id"], a["delta_revenue"], a["delta_commission"], a["reason"]) for a in moved) == [
        ("r1", "-800000.00", "-40000.00", "reassignment"),
        ("r2", "800000.00", "62500.00", "reassignment"),  # 2,500 -> 5,000 + 60,000
    ]
    late = run(engine, ledger, deal("d4", "r3", "c4", "10000.00", closed_at=NOV.format(20)))
    assert [(e["type"], e.get("commission"), e.get("delta_commission")) for e in late] == [
        ("payroll.statement", "0.00", None), ("payroll.adjustment", None, "500.00")]
    assert late[0]["flags"] == ["no_target", "late_statement"]
    # Adjustment ids are deterministic and sequential per rep and month.
    assert moved[0]["adjustment_id"] in ("adj:r1:2026-11:3", "adj:r2:2026-11:1")
    # The ledger now holds exactly the current figures.
    assert ledger.paid[("r1", "2026-11")].paid_commission == 0
    assert ledger.paid[("r2", "2026-11")].paid_revenue == 850000


def test_a_replayed_ledger_emits_nothing() -> None:
    engine, ledger, _ = setup()
    restored = PayrollLedger()
    for (rep, month), state in ledger.paid.items():
        restored.load(f"{rep}:{month}", PaidState.from_json(state.to_json()).to_json())
    assert restored.post_statements(engine, "x") == []
    assert restored.adjust(engine, {("r1", "2026-11"): ("restatement", "d1")}, "x") == []


def test_first_open_month() -> None:
    assert first_open_month({"2026-11", "2026-12"}, "2026-11") == "2027-01"
    assert first_open_month(set(), "2026-11") == "2026-12"
