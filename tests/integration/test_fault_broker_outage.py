"""The broker stopped for 20 s while the worker works through a backlog, then started
again: the worker reconnects by itself (same process, never restarted), nothing is lost
and nothing is counted twice. Six partitions and one worker unless ``SCORECARD_TEST_PARTITIONS``
or ``SCORECARD_TEST_WORKERS`` say otherwise (every worker must then ride out the outage)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.localkafka import broker
from tests.integration.faults import (
    assert_snapshot_exact,
    fault_settings,
    group_settled,
    processing_errors,
    start_fault_workers,
)
from tests.integration.kafka_helpers import metric_sum, metric_value, produce_events, wait_for

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
    s = fault_settings(own_broker.bootstrap, tmp_path, clock_refresh_seconds=2)
    events = simulate(SimulationConfig(seed=8, reps=40, teams=5, months=3, start_month="2026-03"))
    half = len(events) // 2
    workers = start_fault_workers(run_worker, s, tmp_path)
    produce_events(s, events[:half])
    assert wait_for(lambda: sum(metric_value(w.metrics(), "scorecard_records_received_total",
                                             topic="sales.activities") for w in workers) > 200, timeout=120)

    broker.down(own_broker.data_dir)  # mid-backlog
    assert not broker.port_open(own_broker.port)
    time.sleep(OUTAGE_SECONDS)
    assert all(w.proc.poll() is None for w in workers), \
        "the workers must ride out the outage:\n" + "\n".join(w.log_tail() for w in workers)
    broker.up(port=own_broker.port, data_dir=own_broker.data_dir, controller_port=own_broker.controller_port)

    produce_events(s, events[half:])
    assert wait_for(lambda: group_settled(s, workers), timeout=900, interval=2), [w.log_tail() for w in workers]
    time.sleep(2)
    assert all(w.proc.poll() is None for w in workers)
    texts = [w.metrics() for w in workers]
    assert all(processing_errors(text) == 0 for text in texts), [w.log_tail() for w in workers]
    assert sum(metric_sum(text, "scorecard_records_rejected_total") for text in texts) == 0, "no record dead-lettered"
    assert_snapshot_exact(s, events, more_than=100)
