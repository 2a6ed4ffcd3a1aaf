"""Kafka clients for the CLI (kafka-python), built from the settings, and input routing.

Every CLI command talks to Kafka through this module, so a broker that is down or a
topic that does not exist is reported the same way everywhere: one ``UserError`` line
(``kafka_errors()`` translates kafka-python's exceptions at the boundary).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sales_scorecard.cli.main import UserError
from sales_scorecard.streams.kafka_security import kafka_python_options
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE, input_key


class RoutingError(ValueError):
    """An input event that cannot be routed: unknown ``type`` or a missing key field."""


def route(event: dict[str, Any], settings: Settings) -> tuple[str, str]:
    """(full topic name, record key) of an input event, per SPEC §2."""
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in TOPIC_FOR_TYPE:
        raise RoutingError(f"unknown type {kind!r}")
    try:
        key = input_key(event)
    except KeyError as exc:
        raise RoutingError(f"missing key field {exc.args[0]!r}") from None
    return TOPIC_FOR_TYPE[kind].full_name(settings), key


def client_options(settings: Settings) -> dict[str, Any]:
    """Bootstrap servers and transport security (TLS, SASL) shared by every kafka-python client."""
    return {"bootstrap_servers": settings.bootstrap_servers, **kafka_python_options(settings)}


def unreachable(settings: Settings) -> UserError:
    """The one-line error for a broker that does not answer."""
    return UserError(f"cannot reach Kafka at {settings.bootstrap_servers}: is the broker up? try `scorecard kafka up`")


@contextmanager
def kafka_errors(settings: Settings) -> Iterator[None]:
    """Translate kafka-python's "no broker" and timeout errors into one-line ``UserError``s."""
    from kafka import errors

    no_brokers = getattr(errors, "NoBrokersAvailable", errors.KafkaConnectionError)  # renamed across versions
    try:
        yield
    except (no_brokers, errors.KafkaConnectionError, errors.KafkaTimeoutError) as exc:
        raise unreachable(settings) from exc


def require_reachable(settings: Settings, timeout: float = 3.0) -> None:
    """Fail fast with a one-line error when no bootstrap server accepts a connection
    (kafka-python itself only gives up after 30 s)."""
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return
        except (OSError, ValueError):
            continue
    raise unreachable(settings)


def require_topics(settings: Settings, names: set[str]) -> None:
    """Fail with a one-line error when any topic of ``names`` does not exist
    (the local broker does not auto-create topics; a send would block, then time out)."""
    consumer = make_consumer(settings)
    try:
        with kafka_errors(settings):
            missing = sorted(names - consumer.topics())
    finally:
        consumer.close()
    if missing:
        raise UserError(f"topic {missing[0]} does not exist: try `scorecard topics create`")


def make_admin(settings: Settings):
    """A ``KafkaAdminClient`` (after checking the broker is reachable)."""
    from kafka.admin import KafkaAdminClient

    require_reachable(settings)
    with kafka_errors(settings):
        return KafkaAdminClient(**client_options(settings), request_timeout_ms=15000)


def make_producer(settings: Settings, **overrides: Any):
    """A ``KafkaProducer`` of raw bytes (keys and values) with ``acks=all`` and a short linger."""
    from kafka import KafkaProducer

    require_reachable(settings)
    options: dict[str, Any] = {"acks": "all", "linger_ms": 10, "batch_size": 256 * 1024,
                               "max_in_flight_requests_per_connection": 5, "max_block_ms": 15000, **overrides}
    with kafka_errors(settings):
        return KafkaProducer(**client_options(settings), **options)


def make_consumer(settings: Settings, **overrides: Any):
    """A ``KafkaConsumer`` without a group (manual assignment, no commits) of raw bytes."""
    from kafka import KafkaConsumer

    require_reachable(settings)
    options: dict[str, Any] = {"enable_auto_commit": False, "group_id": None,
                               "max_partition_fetch_bytes": 8 * 1024 * 1024, **overrides}
    with kafka_errors(settings):
        return KafkaConsumer(**client_options(settings), **options)


def caught_up(consumer) -> bool:
    """True once partitions are assigned and every one is read to its end."""
    assignment = consumer.assignment()
    if not assignment:
        return False
    ends = consumer.end_offsets(list(assignment))
    return all(consumer.position(tp) >= ends[tp] for tp in assignment)


def consume_committing(consumer, handle, idle_exit: float | None = None):
    """Feed every record to ``handle(tp, record) -> outcome`` and commit its offset only after
    ``handle`` returned (its work is durable), until SIGTERM/SIGINT or, with ``idle_exit``,
    until caught up and idle that long. Returns a Counter of outcomes."""
    import signal
    import time
    from collections import Counter

    from kafka import OffsetAndMetadata

    counts: Counter = Counter()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last_record = time.monotonic()
    while not stopping:
        batches = consumer.poll(timeout_ms=500)
        if not batches:
            if idle_exit is not None and time.monotonic() - last_record >= idle_exit and caught_up(consumer):
                break
            continue
        last_record = time.monotonic()
        for tp, records in batches.items():
            for record in records:
                counts[handle(tp, record)] += 1
                consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
    return counts


def make_group_consumer(settings: Settings, topic: str, group: str):
    """A ``KafkaConsumer`` in ``group`` on ``topic``: manual commits, from the beginning when new."""
    from kafka import KafkaConsumer

    require_reachable(settings)
    with kafka_errors(settings):
        return KafkaConsumer(topic, **client_options(settings), group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
                             session_timeout_ms=10000, heartbeat_interval_ms=3000)
