"""Payroll end to end (contract §8): a month is closed, then a reversal, an amendment, a
reassignment, a late win and a late roster entry (into a team with its own plan) touch
it; the SQLite ledger holds each statement once and exactly the expected adjustments,
through a SIGKILL of the sink, a restart and a full replay."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.streams.settings import Settings
from tests.factories import close_period, deal, roster, target
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import json_values, produce_events, read_topic, wait_for

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"


def start_sink(settings: Settings, db: Path, group: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sales_scorecard.cli.main", "payroll-sink", "--db", str(db), "--group", group, *extra],
        env={**os.environ, **settings.to_env()}, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def applied_facts(exposition: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
               if line.startswith("scorecard_facts_total{") and 'outcome="applied"' in line)


def ledger_rows(db: Path) -> tuple[list, list]:
    ledger = Ledger(db)
    try:
        return ledger.rows("statements"), ledger.rows("adjustments")
    finally:
        ledger.close()


def team_plans(path: Path) -> Path:
    """The packaged plans, with team t9's own: 10 % of all revenue (contract §7)."""
    packaged = (REPO / "core" / "plans" / "default_commission.yaml").read_text()
    assert "teams: {}" in packaged
    path.write_text(packaged.replace("teams: {}", 'teams:\n  t9:\n    plan_id: t9-flat\n'
                                                  '    tiers:\n      - {from: "0", to: null, rate: "0.10"}'))
    return path


def test_statements_adjustments_and_sink_replay(test_settings: Settings, run_worker, tmp_path: Path) -> None:
    s = dataclasses.replace(test_settings, commission_plan=str(team_plans(tmp_path / "plans.yaml")))
    worker = run_worker(s)
    db = tmp_path / "ledger.sqlite"
    payroll_topic = s.topic("sales.payroll")

    def payroll_events() -> list[dict]:
        return json_values(read_topic(s, payroll_topic))

    produce_events(s, [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"),
        target("rep", "r1", "2026-11", "1000000.00"), target("rep", "r2", "2026-11", "100000.00"),
        deal("d1", "r1", "c1", "700000.00", closed_at=NOV.format(5)),
        deal("d2", "r1", "c2", "500000.00", closed_at=NOV.format(10)),
        deal("d3", "r2", "c3", "50000.00", closed_at=NOV.format(12)),
    ])
    # Finance closes the month once its facts are in (a fact that loses the race would be an adjustment).
    assert wait_for(lambda: applied_facts(worker.metrics()) >= 8, timeout=60)
    sink = start_sink(s, db, "sink-a")
    try:
        produce_events(s, [close_period("2026-11")])
        assert wait_for(lambda: len(payroll_events()) >= 2, timeout=60)
        # Kill the sink mid-stream, while corrections are still being produced.
        produce_events(s, [deal("d2", "r1", "c2", "500000.00", stage="reversed", version=2, closed_at=NOV.format(10))])
        sink.send_signal(signal.SIGKILL)
        sink.wait(timeout=10)
        produce_events(s, [deal("d1", "r1", "c1", "800000.00", version=2, closed_at=NOV.format(5))])
        produce_events(s, [deal("d1", "r2", "c1", "800000.00", version=3, closed_at=NOV.format(5))])
        produce_events(s, [deal("d4", "r3", "c4", "10000.00", closed_at=NOV.format(20))])
        # Closing twice emits nothing new.
        produce_events(s, [close_period("2026-11")])
        assert wait_for(lambda: len(payroll_events()) >= 8, timeout=60), payroll_events()
        # On 3 December: r3 was in t9 from 15 November, so at November's end, and t9 pays
        # 10 %: 1,000.00 on r3's 10,000.00, against the 500.00 paid. Sent once d4 is paid
        # (the roster and the deals are different topics, in no order between them).
        produce_events(s, [{**roster("r3", "t9", effective_at=NOV.format(15), event_id="late-r3"),
                            "occurred_at": "2026-12-03T10:00:00+08:00"}])
        assert wait_for(lambda: len(payroll_events()) >= 9, timeout=60), payroll_events()
        sink = start_sink(s, db, "sink-a", "--idle-exit", "5")
        assert sink.wait(timeout=120) == 0, sink.stderr.read() if sink.stderr else ""
    finally:
        if sink.poll() is None:
            sink.kill()
    events = payroll_events()
    assert len(events) == 9, events
    statements, adjustments = ledger_rows(db)
    assert [(r[0], r[4], r[6]) for r in statements] == [
        ("stmt:r1:2026-11", "1200000.00", "66000.00"),
        ("stmt:r2:2026-11", "50000.00", "2500.00"),
        ("stmt:r3:2026-11", "0.00", "0.00"),
    ]
    assert sorted((r[1], r[5], r[6], r[7], r[3], r[4]) for r in adjustments) == sorted([
        ("r1", "-500000.00", "-31000.00", "reversal", "stmt:r1:2026-11", "2026-12"),
        ("r1", "100000.00", "5000.00", "amendment", "stmt:r1:2026-11", "2026-12"),
        ("r1", "-800000.00", "-40000.00", "reassignment", "stmt:r1:2026-11", "2026-12"),
        ("r2", "800000.00", "62500.00", "reassignment", "stmt:r2:2026-11", "2026-12"),
        ("r3", "10000.00", "500.00", "late_won", "stmt:r3:2026-11", "2026-12"),
        ("r3", "0.00", "500.00", "roster_change", "stmt:r3:2026-11", "2026-12"),
    ])
    # Replaying the whole topic (a new consumer group) changes nothing.
    before = ledger_rows(db)
    replay = start_sink(s, db, "sink-replay", "--idle-exit", "5")
    assert replay.wait(timeout=120) == 0
    assert "duplicate: 9" in (replay.stderr.read() or b"").decode()
    assert ledger_rows(db) == before
    # The export has one row per rep per line type.
    out = tmp_path / "dec.csv"
    export = subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", "payroll", "export", "--db", str(db),
                             "--period", "2026-12", "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("rep_id,line_type,pay_period,amount")
    assert len(lines) == 1 + 6 and all(",adjustment,2026-12," in line for line in lines[1:])
