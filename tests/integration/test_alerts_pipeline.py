"""Manager alerts (contract §8) through the real broker: below-pace as the clock advances,
a drop after a reversal, a complaint spike; a restart repeats nothing; the webhook sink
delivers each alert exactly once through failures."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sales_scorecard.streams.settings import Settings
from tests.factories import activity, complaint, deal, roster, target
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import json_values, produce_events, read_topic, wait_for
from tests.webhook import LocalWebhook, Reply

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"


def clock(day: int) -> dict:
    """An activity of an unrelated rep: it moves the event clock to 10:00 on that November day."""
    return activity("r9", "call", occurred_at=NOV.format(day), customer_id="cx")


def test_alerts_fire_once_resolve_once_and_reach_the_webhook(test_settings: Settings, run_worker,
                                                             tmp_path: Path) -> None:
    s = dataclasses.replace(test_settings, clock_refresh_seconds=1)
    worker = run_worker(s, name="w1")

    def alerts() -> list[dict]:
        return json_values(read_topic(s, s.topic("sales.alerts")))

    def seen(rule: str, scope: str, id: str, state: str) -> bool:
        return any((a["rule"], a["scope"], a["id"], a["state"]) == (rule, scope, id, state) for a in alerts())

    produce_events(s, [
        roster("r1", "t1", manager_id="m1"), roster("r2", "t1", manager_id="m1"), roster("r3", "t2", manager_id="m2"),
        target("rep", "r1", "2026-11", "3000.00"), target("rep", "r2", "2026-11", "1000.00"),
        deal("d1", "r1", "c1", "1000.00", closed_at=NOV.format(2)),
        deal("d2", "r2", "c2", "940.00", closed_at=NOV.format(2)),
        deal("d3", "r2", "c3", "60.00", closed_at=NOV.format(3)),
        clock(5),
    ])
    for day in (8, 12):  # r1 on pace: nothing fires
        time.sleep(2.5)
        produce_events(s, [clock(day)])
    time.sleep(2.5)
    assert alerts() == []
    produce_events(s, [clock(16)])  # r1 stops selling: pace 0.65
    assert wait_for(lambda: seen("attainment_below_pace", "rep", "r1", "firing"), timeout=30), worker.log_tail()
    produce_events(s, [clock(20)])  # team t1 falls behind too
    assert wait_for(lambda: seen("attainment_below_pace", "team", "t1", "firing"), timeout=30), worker.log_tail()

    worker.stop()  # a restart in the middle of the scenario
    worker = run_worker(s, name="w2")
    time.sleep(3)  # the rebuild re-renders (and re-evaluates) every scorecard

    produce_events(s, [deal("d4", "r1", "c4", "1800.00", closed_at=NOV.format(23)), clock(24)])
    assert wait_for(lambda: seen("attainment_below_pace", "rep", "r1", "resolved"), timeout=30), worker.log_tail()
    produce_events(s, [deal("d3", "r2", "c3", "60.00", stage="reversed", version=2, closed_at=NOV.format(3))])
    assert wait_for(lambda: seen("attainment_dropped", "rep", "r2", "firing"), timeout=30), worker.log_tail()
    produce_events(s, [complaint(f"k{d}", "r3", "c9", severity="critical", opened_at=NOV.format(d))
                       for d in (20, 21, 22)])
    assert wait_for(lambda: seen("complaint_spike", "rep", "r3", "firing"), timeout=30), worker.log_tail()
    time.sleep(3)

    got = Counter((a["rule"], a["scope"], a["id"], a["state"]) for a in alerts())
    assert got == Counter({
        ("attainment_below_pace", "rep", "r1", "firing"): 1,
        ("attainment_below_pace", "rep", "r1", "resolved"): 1,
        ("attainment_below_pace", "team", "t1", "firing"): 1,
        ("attainment_below_pace", "team", "t1", "resolved"): 1,
        ("attainment_dropped", "rep", "r2", "firing"): 1,
        ("complaint_spike", "rep", "r3", "firing"): 1,
    }), got
    by_id = {a["event_id"]: a for a in alerts()}
    assert by_id[next(k for k, a in by_id.items() if a["id"] == "r1" and a["state"] == "firing")]["manager_id"] == "m1"
    assert all(a["message"] and a["message_zh"] for a in by_id.values())
    assert 'scorecard_alerts_total{rule="complaint_spike",state="firing"} 1.0' in worker.metrics()

    # The webhook fails twice, then accepts: every alert arrives exactly once.
    with LocalWebhook(Reply(500), Reply(500)) as hook:

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "sales_scorecard.cli.main", "alert-sink", "--webhook", hook.url,
                 "--db", str(tmp_path / "sink.sqlite"), "--idle-exit", "3"],
                env={**os.environ, **s.to_env()}, cwd=REPO, capture_output=True, text=True, timeout=180)

        first = run()
        assert first.returncode == 0, first.stderr
        again = run()  # a second run (same group) delivers nothing again
        assert again.returncode == 0, again.stderr
    assert not hook.replies and len(hook.posted) == len(hook.received) + 2  # both failures were met
    assert sorted(r["event_id"] for r in hook.received) == sorted(by_id)
    assert all(r["text"] for r in hook.received)
