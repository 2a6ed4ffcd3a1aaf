"""The broker stopped for 20 s while the worker works through a backlog, then started
again: the worker reconnects by itself (same process, never restarted), nothing is lost
and nothing is counted twice."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.snapshot import read_snapshot
from sales_scorecard.localkafka import broker
from tests.conftest import isolated_settings
from tests.integration.compare import assert_snapshot_equals_offline, assert_snapshot_matches
from tests.integration.faults import pipeline_settled, processing_errors
from tests.integration.kafka_helpers import metric_sum, metric_value, produce_events, wait_for
from tests.reference.model import ReferenceModel

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.fault]

OUTAGE_SECONDS = 20


@pytest.fixture
def own_broker() -> Iterator[broker.BrokerInfo]:
    """A broker of this test's own, so stopping it disturbs no other test."""
    data_dir = Path(tempfile.mkdtemp(prefix="scorecard-outage-kafka-"))
    try:
        yield broker.up(port=broker.free_port(), data_dir=data_dir)
    finally:
        broker.down(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_broker_outage_of_20_seconds(own_broker: broker.BrokerInfo, run_worker, tmp_path: Path) -> None:
    s = dataclasses.replace(isolated_settings(own_broker.bootstrap, tmp_path / "data"), clock_refresh_seconds=2)
    events = simulate(SimulationConfig(seed=8, reps=40, teams=5, months=3, start_month="2026-03"))
    half = len(events) // 2
    worker = run_worker(s)
    produce_events(s, events[:half])
    assert wait_for(lambda: metric_value(worker.metrics(), "scorecard_records_received_total",
                                         topic="sales.activities") > 200, timeout=120)

    broker.down(own_broker.data_dir)  # mid-backlog
    assert not broker.port_open(own_broker.port)
    time.sleep(OUTAGE_SECONDS)
    assert worker.proc.poll() is None, "the worker must ride out the outage:\n" + worker.log_tail()
    broker.up(port=own_broker.port, data_dir=own_broker.data_dir, controller_port=own_broker.controller_port)

    produce_events(s, events[half:])
    assert wait_for(lambda: pipeline_settled(s, worker.metrics()), timeout=900, interval=2), worker.log_tail()
    time.sleep(2)
    assert worker.proc.poll() is None
    text = worker.metrics()
    assert processing_errors(text) == 0, worker.log_tail()
    assert metric_sum(text, "scorecard_records_rejected_total") == 0, "no record dead-lettered"
    rows = read_snapshot(s)
    assert assert_snapshot_equals_offline(rows, events, s.timezone) > 100
    # and the independent reference model (tests/reference, written from the contract by another author)
    assert assert_snapshot_matches(rows, ReferenceModel(events, timezone=s.timezone)) > 100
