"""Kill -9 the worker (and the payroll sink) at random moments while a history flows:
the final scorecards equal the offline recomputation and the payroll ledger pays every
rep exactly what the reference model says, with no duplicate or missing line."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.snapshot import read_snapshot
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import FACTS, INPUT_TOPICS, PAYROLL
from tests.factories import close_period
from tests.integration.compare import assert_snapshot_matches
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import group_caught_up, metric_value, produce_events, wait_for
from tests.reference.model import ReferenceModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KILLS = 3


def start_sink(settings: Settings, db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sales_scorecard.cli.main", "payroll-sink", "--db", str(db)],
                            env={**os.environ, **settings.to_env()}, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_minus_nine_loses_and_doubles_nothing(test_settings: Settings, run_worker, tmp_path: Path) -> None:
    s = dataclasses.replace(test_settings, store="rocksdb")
    rnd = random.Random(1234)
    events = simulate(SimulationConfig(seed=21, reps=40, teams=5, months=3, start_month="2026-08"))
    first_month = "2026-08"
    cut = next(i for i, e in enumerate(events) if e["type"] not in ("roster", "target")
               and e.get("occurred_at", "") >= "2026-09-05")
    chunks = [events[:cut // 2], events[cut // 2:cut], [close_period(first_month)],
              events[cut:(cut + len(events)) // 2], events[(cut + len(events)) // 2:]]
    db = tmp_path / "ledger.sqlite"
    sink = start_sink(s, db)
    worker = run_worker(s, name="w0")
    kills = 0
    try:
        for i, chunk in enumerate(chunks):
            produce_events(s, chunk)
            if i == 2:  # close only once the month's facts are in, as finance would
                continue
            if kills < KILLS:
                time.sleep(rnd.uniform(0.2, 3.0))
                worker.stop(sig=signal.SIGKILL)
                kills += 1
                if kills == 2:
                    sink.send_signal(signal.SIGKILL)
                    sink.wait(timeout=10)
                    sink = start_sink(s, db)
                worker = run_worker(s, name=f"w{kills}")
        inputs = [t.full_name(s) for t in INPUT_TOPICS]

        def settled() -> bool:
            return (group_caught_up(s, s.app_id, inputs + [FACTS.full_name(s)])
                    and metric_value(worker.metrics(), "scorecard_pending_updates") == 0)

        assert wait_for(settled, timeout=900, interval=3), worker.log_tail()
        time.sleep(2)  # the last flush and leaderboards
        assert wait_for(lambda: group_caught_up(s, f"{s.app_id}-payroll-sink", [PAYROLL.full_name(s)]),
                        timeout=120)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)
    assert kills == KILLS

    model = ReferenceModel(events + [close_period(first_month)], timezone=s.timezone)
    assert assert_snapshot_matches(read_snapshot(s), model) > 100

    ledger = Ledger(db)
    try:
        statements = ledger.rows("statements")
        adjustments = ledger.rows("adjustments")
    finally:
        ledger.close()
    paid: dict[str, list[Decimal]] = {}
    for sid, rep, _team, period, revenue, _target, commission, _plan in statements:
        assert period == first_month
        paid[rep] = [Decimal(revenue), Decimal(commission)]
    assert len(paid) == len(statements)  # one statement per rep
    for _aid, rep, original, sid, _apply, d_revenue, d_commission, _reason, _deal in adjustments:
        assert original == first_month and sid == f"stmt:{rep}:{first_month}"
        paid[rep][0] += Decimal(d_revenue)
        paid[rep][1] += Decimal(d_commission)
    expected = {}
    for scope, id, period in model.keys():
        if scope == "rep" and period == first_month:
            k = model.kpis("rep", id, first_month)
            expected[id] = [Decimal(k["revenue"]), Decimal(k["commission"])]
    for rep, (revenue, commission) in expected.items():
        if revenue or commission:
            assert paid.get(rep) == [revenue, commission], rep
    assert all(paid[rep] == expected.get(rep, [Decimal(0), Decimal(0)]) for rep in paid)
