"""Every input delivered twice and shuffled within its partitions (versions out of order,
the close command before the month's facts, roster changes late): the scorecards equal
the offline recomputation over the original history and payroll pays exactly. Six
partitions and one worker unless ``SCORECARD_TEST_PARTITIONS`` or ``SCORECARD_TEST_WORKERS``
say otherwise (tests/integration/faults.py)."""

from __future__ import annotations

import itertools
import random
import signal
import time
import zlib
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from sales_scorecard.cli.kafka_io import client_options
from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.streams.topics import PAYROLL, TOPIC_FOR_TYPE, input_key
from tests.integration.faults import (
    assert_ledger_pays_exactly,
    assert_snapshot_exact,
    fault_settings,
    group_settled,
    processing_errors,
    redeliveries,
    start_fault_workers,
    start_sink,
)
from tests.integration.kafka_helpers import group_caught_up, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]

CLOSED = "2026-05"


def shuffled_twice(events: list[dict], partitions: int, seed: int) -> list[tuple[str, int, bytes, bytes]]:
    """(logical topic, partition, key, value) with every event twice, the records of each
    partition in a random order (a key always maps to the same partition)."""
    by_partition: dict[tuple[str, int], list[tuple[bytes, bytes]]] = defaultdict(list)
    for event in events:
        key = input_key(event).encode()
        topic = TOPIC_FOR_TYPE[event["type"]].name
        partition = zlib.crc32(key) % partitions
        by_partition[(topic, partition)] += [(key, orjson.dumps(event))] * 2
    rnd = random.Random(seed)
    out = []
    for (topic, partition), records in sorted(by_partition.items()):
        rnd.shuffle(records)
        out += [(topic, partition, key, value) for key, value in records]
    return out


def test_twice_and_shuffled_gives_identical_results(kafka_bootstrap: str, run_worker, tmp_path: Path) -> None:
    from kafka import KafkaProducer

    s = fault_settings(kafka_bootstrap, tmp_path, clock_refresh_seconds=2)
    events = simulate(SimulationConfig(seed=33, reps=30, teams=4, months=3, start_month="2026-05"))
    events.append({"event_id": f"close:{CLOSED}", "type": "close_period", "schema_version": 1,
                   "occurred_at": "2026-06-03T09:00:00+08:00", "period": CLOSED})
    records = shuffled_twice(events, s.partitions, seed=99)
    assert len(records) == 2 * len(events)
    # a shuffle that keeps every partition in its original order would prove nothing
    assert any(a[0] == b[0] and a[1] == b[1] and orjson.loads(a[3])["occurred_at"] > orjson.loads(b[3])["occurred_at"]
               for a, b in itertools.pairwise(records))

    db = tmp_path / "ledger.sqlite"
    sink = start_sink(s, db)
    workers = start_fault_workers(run_worker, s, tmp_path)
    before = [redeliveries(w) for w in workers]

    try:
        producer = KafkaProducer(**client_options(s), acks="all", linger_ms=10)
        for topic, partition, key, value in records:
            producer.send(s.topic(topic), key=key, value=value, partition=partition)
        producer.flush()
        producer.close()
        assert wait_for(lambda: group_settled(s, workers), timeout=900, interval=2), [w.log_tail() for w in workers]
        time.sleep(2)
        assert wait_for(lambda: group_caught_up(s, f"{s.app_id}-payroll-sink", [PAYROLL.full_name(s)]), timeout=120)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)

    texts = [w.metrics() for w in workers]
    assert all(processing_errors(text) == 0 for text in texts), [w.log_tail() for w in workers]
    assert_snapshot_exact(s, events, more_than=100)
    assert assert_ledger_pays_exactly(db, events, s.timezone, [CLOSED]) >= 20

    # Summed over the workers, only the aggregation owner counts facts: every copy reached
    # the aggregation stage, and none was applied twice. Processing is at least once: a
    # rebalance (partitions restart from their last commit) or a re-delivered stalled
    # partition processes records again, which the stage then counts as duplicates (the
    # figures above are exact either way). Without either, each copy is counted once.
    facts: dict[str, float] = defaultdict(float)
    for text in texts:
        for line in text.splitlines():
            if line.startswith("scorecard_facts_total{"):
                facts[line.rsplit(" ", 1)[0]] += float(line.rsplit(" ", 1)[1])
    after = [redeliveries(w) for w in workers]
    if after == before:
        assert sum(facts.values()) == len(records), facts
    else:
        assert sum(facts.values()) >= len(records), (facts, "(assignments, rewinds) before and after", before, after)
    applied = sum(v for k, v in facts.items() if 'outcome="applied"' in k)
    assert applied <= len({e["event_id"] for e in events})  # no copy applied twice
