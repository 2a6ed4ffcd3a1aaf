"""Static group membership (``SCORECARD_GROUP_INSTANCE_ID``): a worker killed with SIGKILL
and restarted under the same name takes its partitions back and finishes the history with
exactly the reference model's scorecards."""

from __future__ import annotations

import dataclasses
import signal
import time

import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.snapshot import read_snapshot
from sales_scorecard.streams.settings import Settings
from tests.integration.compare import assert_snapshot_matches
from tests.integration.faults import pipeline_settled, processing_errors
from tests.integration.kafka_helpers import produce_events, wait_for
from tests.reference.model import built_model

pytestmark = [pytest.mark.integration, pytest.mark.fault]


def test_a_static_member_restarted_after_kill_minus_nine_finishes_exactly(test_settings: Settings,
                                                                          run_worker) -> None:
    s = dataclasses.replace(test_settings, store="rocksdb", group_instance_id="scorecard-static-0",
                            clock_refresh_seconds=1)
    events = simulate(SimulationConfig(seed=5, reps=20, teams=4, months=3, start_month="2026-01"))
    half = len(events) // 2
    worker = run_worker(s, name="static-a")
    produce_events(s, events[:half])
    assert wait_for(lambda: pipeline_settled(s, worker.metrics()), timeout=300), worker.log_tail()
    worker.stop(sig=signal.SIGKILL)
    produce_events(s, events[half:])
    worker = run_worker(s, name="static-b")  # the same group.instance.id
    assert wait_for(lambda: pipeline_settled(s, worker.metrics()), timeout=300), worker.log_tail()
    time.sleep(3)  # the last coalesced flush and clock refresh
    assert processing_errors(worker.metrics()) == 0, worker.log_tail()
    assert assert_snapshot_matches(read_snapshot(s), built_model(events, timezone=s.timezone)) > 100
