"""Small kafka-python helpers for integration tests: send raw records, read topics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from sales_scorecard.cli.kafka_io import client_options
from sales_scorecard.cli.worker_probe import metric_sum, metric_value  # noqa: F401 - re-exported for the tests
from sales_scorecard.streams.settings import Settings


def send_raw(settings: Settings, records: Iterable[tuple[str, bytes | None, bytes | None]]) -> int:
    """Send (full topic name, key, value) records and wait for every acknowledgement."""
    producer = KafkaProducer(**client_options(settings), acks="all", linger_ms=5)
    futures = [producer.send(topic, key=key, value=value) for topic, key, value in records]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()
    return len(futures)


def read_topic(settings: Settings, topic: str, timeout: float = 5.0) -> list:
    """Every record currently in ``topic`` (from the beginning up to the end offsets)."""
    consumer = KafkaConsumer(**client_options(settings), enable_auto_commit=False)
    parts = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    out = []
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            out.extend(batch)
    consumer.close()
    return out


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def json_values(records: list) -> list[dict]:
    """Decode the values of consumed records, skipping tombstones (a scorecard key that
    stopped existing, e.g. team ``unassigned`` once the roster event arrived after a fact)."""
    return [orjson.loads(r.value) for r in records if r.value is not None]


def produce_events(settings: Settings, events: Iterable[dict]) -> int:
    """Send valid input events to their topics with the keys of the contract."""
    from sales_scorecard.streams.topics import TOPIC_FOR_TYPE, input_key

    return send_raw(settings, [
        (TOPIC_FOR_TYPE[e["type"]].full_name(settings), input_key(e).encode(), orjson.dumps(e)) for e in events
    ])


def group_caught_up(settings: Settings, group: str, topics: Iterable[str]) -> bool:
    """True when ``group`` has committed every partition of ``topics`` up to its end."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(**client_options(settings))
    consumer = KafkaConsumer(**client_options(settings), enable_auto_commit=False)
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
        tps = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or set())]
        ends = consumer.end_offsets(tps)
        return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in tps)
    finally:
        consumer.close()
        admin.close()


def consumer_lag(exposition: str) -> dict[str, float]:
    """topic -> ``scorecard_consumer_lag_records`` in a worker's /metrics text (samples
    only: a labelled gauge exports its HELP line before any value is set)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {sample.labels["topic"]: sample.value
            for family in text_string_to_metric_families(exposition)
            if family.name == "scorecard_consumer_lag_records" for sample in family.samples}


def lag_caught_up(exposition: str, settings: Settings) -> bool:
    """The worker reports the group's lag for every input topic and ``sales.facts``, and
    the input topics are fully committed."""
    from sales_scorecard.streams.lag import lag_topics
    from sales_scorecard.streams.topics import FACTS

    lag = consumer_lag(exposition)
    return set(lag) == set(lag_topics(settings)) and all(
        v == 0 for t, v in lag.items() if t != FACTS.full_name(settings))


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2 of the key) picks for ``key``."""
    from kafka.partitioner.default import murmur2

    return (murmur2(key) & 0x7FFFFFFF) % partitions


def group_assignment(settings: Settings, group: str, topics: Iterable[str]) -> dict[str, set[tuple[str, int]]]:
    """member id -> the (topic, partition) pairs of ``topics`` assigned to it, while the
    group is Stable ({} otherwise)."""
    from kafka.admin import KafkaAdminClient

    wanted = set(topics)
    admin = KafkaAdminClient(**client_options(settings))
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    if description.get("group_state") != "Stable":
        return {}
    out: dict[str, set[tuple[str, int]]] = {}
    for member in description["members"]:
        assignment = member.get("member_assignment") or {}
        out[member["member_id"]] = {(t["topic"], p) for t in assignment.get("assigned_partitions", [])
                                    if t["topic"] in wanted for p in t["partitions"]}
    return out
