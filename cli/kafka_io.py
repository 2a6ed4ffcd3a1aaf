"""Kafka clients for the CLI (kafka-python), built from the settings."""

from __future__ import annotations

import socket

from sales_scorecard.cli.main import UserError
from sales_scorecard.streams.settings import Settings


def require_reachable(settings: Settings, timeout: float = 3.0) -> None:
    """Fail with a one-line error when no bootstrap server accepts a connection."""
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return
        except (OSError, ValueError):
            continue
    raise UserError(f"cannot reach Kafka at {settings.bootstrap_servers}: is the broker up? try `scorecard kafka up`")


def make_admin(settings: Settings):
    """A ``KafkaAdminClient`` (after checking the broker is reachable)."""
    from kafka.admin import KafkaAdminClient

    require_reachable(settings)
    return KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=15000)


def make_producer(settings: Settings):
    """A ``KafkaProducer`` sending bytes with ``acks=all``."""
    from kafka import KafkaProducer

    require_reachable(settings)
    return KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=10,
                         batch_size=256 * 1024, max_in_flight_requests_per_connection=5)


def make_consumer(settings: Settings):
    """A ``KafkaConsumer`` without a group (manual assignment, no commits)."""
    from kafka import KafkaConsumer

    require_reachable(settings)
    return KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                         group_id=None, max_partition_fetch_bytes=8 * 1024 * 1024)


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
    return KafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers, group_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
                         session_timeout_ms=10000, heartbeat_interval_ms=3000)
