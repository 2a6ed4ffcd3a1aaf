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
