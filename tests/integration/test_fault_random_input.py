"""Hypothesis-generated garbage into every input topic of a running worker: random bytes,
random JSON, valid events with a field broken, valid events and exact repeats. The worker
never crashes and every record is accounted for: dead-lettered (with its source offset)
or accepted, and every accepted record reaches the aggregation stage as applied,
duplicate or stale. Six partitions and one worker unless ``SCORECARD_TEST_PARTITIONS`` or
``SCORECARD_TEST_WORKERS`` say otherwise (tests/integration/faults.py)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from kafka import KafkaProducer

from sales_scorecard.cli.kafka_io import client_options
from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import DEADLETTER, INPUT_TOPICS, TOPIC_FOR_TYPE, input_key
from tests.integration.conftest import WorkerProcess
from tests.integration.faults import fault_settings, start_fault_workers
from tests.integration.kafka_helpers import json_values, metric_sum, metric_value, read_topic, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]

TOPICS = [t.name for t in INPUT_TOPICS]
#: The broker itself refuses keyless records on compacted topics; they never reach a worker.
COMPACTED = {t.name for t in INPUT_TOPICS if t.retention_ms is None}
VALID = simulate(SimulationConfig(seed=5, reps=6, teams=2, months=2, start_month="2026-05"))

json_values_st = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def broken_event(draw: st.DrawFn) -> bytes:
    """A valid event with one field replaced by random JSON, removed, or an extra field."""
    event = copy.deepcopy(draw(st.sampled_from(VALID)))
    field = draw(st.sampled_from(sorted(event)))
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        event[field] = draw(json_values_st)
    elif action == "remove":
        del event[field]
    else:
        event[draw(st.text(min_size=1, max_size=8))] = draw(json_values_st)
    return orjson.dumps(event)


def valid_value(event: dict) -> bytes:
    return orjson.dumps(event)


# (logical topic, key, value); the key is the contract's when the value is a valid event.
record_st = st.one_of(
    st.tuples(st.sampled_from(TOPICS), st.none() | st.binary(max_size=8), st.binary(max_size=64)),
    st.tuples(st.sampled_from(TOPICS), st.none() | st.binary(max_size=8),
              json_values_st.map(lambda v: orjson.dumps(v))),
    st.tuples(st.sampled_from(TOPICS), st.binary(max_size=8), broken_event()),
    st.sampled_from(VALID).map(lambda e: (TOPIC_FOR_TYPE[e["type"]].name, input_key(e).encode(), valid_value(e))),
)


class Harness:
    """The workers of the whole module (one unless ``SCORECARD_TEST_WORKERS`` says more;
    their counters are summed), and what has been sent to them."""

    def __init__(self, settings: Settings, workers: list[WorkerProcess]) -> None:
        self.settings = settings
        self.workers = workers
        self.producer = KafkaProducer(**client_options(settings), acks="all", linger_ms=5)
        self.sent: dict[str, int] = Counter()
        #: (full topic, partition, offset) of every record sent
        self.offsets: set[tuple[str, int, int]] = set()

    def send(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        futures = []
        for logical, key, value in records:
            topic = f"{self.settings.topic_prefix}{logical}"
            if key is None and logical in COMPACTED:
                key = b""
            futures.append(self.producer.send(topic, key=key, value=value))
            self.sent[logical] += 1
        self.producer.flush()
        for f in futures:
            md = f.get(timeout=30)
            self.offsets.add((md.topic, md.partition, md.offset))

    def counts(self) -> dict[str, float]:
        texts = [w.metrics() for w in self.workers]
        out: dict[str, float] = {}
        for name in ("scorecard_records_received", "scorecard_records_accepted"):
            out[name] = sum(metric_value(text, name + "_total", topic=t) for t in TOPICS for text in texts)
        for key, name in (("rejected", "scorecard_records_rejected_total"), ("facts", "scorecard_facts_total"),
                          ("errors", "scorecard_processing_errors_total")):
            out[key] = sum(metric_sum(text, name) for text in texts)
        return out

    def received(self, topic: str) -> float:
        """Records of one input topic received by the workers together."""
        return sum(metric_value(w.metrics(), "scorecard_records_received_total", topic=topic) for w in self.workers)

    def alive(self) -> bool:
        return all(w.proc.poll() is None for w in self.workers)

    def log_tail(self) -> str:
        return "\n".join(w.log_tail() for w in self.workers)


@pytest.fixture(scope="module")
def harness(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    tmp = tmp_path_factory.mktemp("random-input")
    settings = fault_settings(kafka_bootstrap, tmp)
    started: list[WorkerProcess] = []

    def start(s: Settings, name: str, ready: bool = True) -> WorkerProcess:
        w = WorkerProcess(s, tmp / f"{name}.log")
        started.append(w)
        if ready:
            w.wait_ready()
        return w

    try:
        yield Harness(settings, start_fault_workers(start, settings, tmp))
    finally:
        for w in started:
            w.stop()


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(records=st.lists(record_st, min_size=1, max_size=40))
def test_every_random_record_is_accounted_for(harness: Harness, records: list[tuple[str, Any, bytes]]) -> None:
    harness.send(records)
    total = sum(harness.sent.values())

    def accounted() -> bool:
        c = harness.counts()
        return (c["scorecard_records_received"] == total
                and c["scorecard_records_accepted"] + c["rejected"] == total
                and c["facts"] == c["scorecard_records_accepted"])

    assert wait_for(accounted, timeout=120, interval=0.5), (harness.counts(), total, harness.log_tail())
    assert harness.alive()
    assert all(http_get(w.settings.web_port, "/healthz")[0] == 200 for w in harness.workers)

    counts = harness.counts()
    assert counts["errors"] == 0, harness.log_tail()  # validation caught everything bad
    dead = json_values(read_topic(harness.settings, DEADLETTER.full_name(harness.settings)))
    sources = [(d["topic"], d["partition"], d["offset"]) for d in dead]
    assert len(sources) == len(set(sources)) == counts["rejected"], "each bad record dead-lettered once"
    assert set(sources) <= harness.offsets, "dead letters name the offsets of records we sent"
    assert all(d["reason"] for d in dead)
    # per topic: what was received is what was sent
    for logical in TOPICS:
        assert harness.received(logical) == harness.sent[logical], logical


def test_every_input_topic_takes_garbage(harness: Harness) -> None:
    """Random bytes and random JSON into each of the six topics, whatever the property test
    drew: each record is received on its topic and dead-lettered, nothing reaches the facts."""
    before = harness.counts()
    received = {t: harness.received(t) for t in TOPICS}
    garbage = [(t, b"k", value) for t in TOPICS for value in (b"\x00\xffnot json", b'[1, {"type": null}]')]
    harness.send(garbage)

    def accounted() -> bool:
        c = harness.counts()
        return c["rejected"] - before["rejected"] == len(garbage) and c["facts"] == before["facts"]

    assert wait_for(accounted, timeout=120, interval=0.5), (harness.counts(), before)
    for t in TOPICS:
        assert harness.received(t) == received[t] + 2, t
