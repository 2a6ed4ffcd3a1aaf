"""Kafka clients for the CLI (kafka-python), built from the settings, and input routing.

Every CLI command talks to Kafka through this module, so a broker that is down or that
refuses the credentials is reported the same way everywhere: one ``UserError`` line
(``kafka_errors()`` translates kafka-python's exceptions at the boundary).
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sales_scorecard.cli.main import UserError
from sales_scorecard.streams.kafka_security import kafka_python_options, ssl_context, uses_sasl, uses_tls
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import TOPIC_FOR_PRODUCED_TYPE, produce_route

if TYPE_CHECKING:  # kafka-python has no type information: these are Any to mypy, names to the reader
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.consumer.fetcher import ConsumerRecord


class RoutingError(ValueError):
    """An input event that cannot be routed: unknown ``type`` or a missing key field."""


def route(event: dict[str, Any], settings: Settings) -> tuple[str, str]:
    """(full topic name, record key) of an input event, per contract §2: the facts to their
    topics, the appeal inputs (§10) to ``sales.disputes`` keyed by ``dispute_id``."""
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in TOPIC_FOR_PRODUCED_TYPE:
        known = ", ".join(sorted(TOPIC_FOR_PRODUCED_TYPE))
        raise RoutingError(f"unknown type {kind!r} (expected one of {known})")
    try:
        spec, key = produce_route(event)
    except KeyError as exc:
        raise RoutingError(f"missing key field {exc.args[0]!r}") from None
    return spec.full_name(settings), key


def client_options(settings: Settings) -> dict[str, Any]:
    """Bootstrap servers and transport security (TLS, SASL) shared by every kafka-python client."""
    return {"bootstrap_servers": settings.bootstrap_servers, **kafka_python_options(settings)}


def unreachable(settings: Settings) -> UserError:
    """The one-line error for a broker that does not answer."""
    return UserError(f"cannot reach Kafka at {settings.bootstrap_servers}: is the broker up? try `scorecard kafka up`")


def refused_credentials(settings: Settings) -> UserError:
    """The one-line error for a broker that rejects the SASL user name or password."""
    return UserError(
        f"Kafka at {settings.bootstrap_servers} refused the {settings.kafka_sasl_mechanism} credentials of user "
        f"{settings.kafka_username!r}: check SCORECARD_KAFKA_USERNAME and SCORECARD_KAFKA_PASSWORD(_FILE)")


class _ConnectErrors(logging.Handler):
    """Keeps the exceptions kafka-python logs while connecting: it retries a refused login
    until its bootstrap timeout and then raises only a timeout."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.login_refused = False

    def emit(self, record: logging.LogRecord) -> None:
        from kafka.errors import SaslAuthenticationFailedError

        args = record.args if isinstance(record.args, tuple) else ()
        if any(isinstance(a, SaslAuthenticationFailedError) for a in args) or \
                SaslAuthenticationFailedError.__name__ in str(record.msg):
            self.login_refused = True


@contextmanager
def kafka_errors(settings: Settings) -> Iterator[None]:
    """Translate kafka-python's "no broker", login and timeout errors into one-line ``UserError``s."""
    from kafka import errors

    no_brokers = getattr(errors, "NoBrokersAvailable", errors.KafkaConnectionError)  # renamed across versions
    seen = _ConnectErrors()
    logger = logging.getLogger("kafka")
    logger.addHandler(seen)
    try:
        yield
    except (no_brokers, errors.KafkaConnectionError, errors.KafkaTimeoutError,
            errors.SaslAuthenticationFailedError) as exc:
        if seen.login_refused or isinstance(exc, errors.SaslAuthenticationFailedError):
            raise refused_credentials(settings) from None  # the broker's text may echo the user: say it once
        if uses_sasl(settings) and (isinstance(exc, no_brokers) or "bootstrap" in str(exc)):
            # The port answered (require_reachable) but no session came up: a refused login whose
            # error response lost the race with the broker closing the connection looks like this.
            raise UserError(
                f"Kafka at {settings.bootstrap_servers} answered but set up no session: check the "
                f"{settings.kafka_sasl_mechanism} credentials of user {settings.kafka_username!r} "
                "(SCORECARD_KAFKA_USERNAME, SCORECARD_KAFKA_PASSWORD(_FILE))") from None
        raise unreachable(settings) from exc
    finally:
        logger.removeHandler(seen)


def _api_versions_answered(sock: socket.socket) -> bool:
    """Send a Kafka ApiVersions v0 request in the clear; True when a Kafka response comes back
    (a TLS listener answers with an alert or closes the connection)."""
    client_id = b"scorecard-probe"
    body = struct.pack(">hhih", 18, 0, 0x5C0C, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(body)) + body)
    head = b""
    while len(head) < 8:
        chunk = sock.recv(8 - len(head))
        if not chunk:
            return False
        head += chunk
    return struct.unpack(">i", head[4:8])[0] == 0x5C0C


def _check_transport(settings: Settings, sock: socket.socket, host: str, server: str) -> None:
    """Fail with a one-line error when the listener's transport (TLS or not) does not match
    ``SCORECARD_KAFKA_SECURITY_PROTOCOL`` or its certificate is not trusted."""
    protocol = settings.kafka_security_protocol
    if uses_tls(settings):
        context = ssl_context(settings)
        assert context is not None
        try:
            with context.wrap_socket(sock, server_hostname=host):
                return
        except ssl.SSLCertVerificationError as exc:
            raise UserError(f"the TLS certificate of Kafka at {server} is not trusted ({exc.verify_message}): "
                            "set SCORECARD_KAFKA_CA_FILE to the CA that signed it") from None
        except (ssl.SSLError, OSError):
            raise UserError(f"Kafka at {server} did not complete a TLS handshake: is "
                            f"SCORECARD_KAFKA_SECURITY_PROTOCOL={protocol} right for this listener?") from None
    try:
        answered = _api_versions_answered(sock)
    except OSError:
        answered = False
    if not answered:
        tls = "SASL_SSL" if uses_sasl(settings) else "SSL"
        raise UserError(f"Kafka at {server} refused a {protocol} connection: the listener probably needs TLS "
                        f"(SCORECARD_KAFKA_SECURITY_PROTOCOL={tls} and SCORECARD_KAFKA_CA_FILE)")


def require_reachable(settings: Settings, timeout: float = 3.0) -> None:
    """Fail fast with a one-line error when no bootstrap server accepts a connection, or the
    first that does speaks another transport (kafka-python itself only gives up after 30 s)."""
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        host = host or "127.0.0.1"
        try:
            sock = socket.create_connection((host, int(port)), timeout=timeout)
        except (OSError, ValueError):
            continue
        with sock:
            _check_transport(settings, sock, host, server.strip())
        return
    raise unreachable(settings)


def make_admin(settings: Settings) -> KafkaAdminClient:
    """A ``KafkaAdminClient`` (after checking the broker is reachable)."""
    from kafka.admin import KafkaAdminClient

    require_reachable(settings)
    with kafka_errors(settings):
        return KafkaAdminClient(**client_options(settings), request_timeout_ms=15000)


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A ``KafkaProducer`` of raw bytes (keys and values) with ``acks=all`` and a short linger."""
    from kafka import KafkaProducer

    require_reachable(settings)
    options: dict[str, Any] = {"acks": "all", "linger_ms": 10, "batch_size": 256 * 1024,
                               "max_in_flight_requests_per_connection": 5, "max_block_ms": 15000, **overrides}
    with kafka_errors(settings):
        return KafkaProducer(**client_options(settings), **options)


def make_consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    """A ``KafkaConsumer`` without a group (manual assignment, no commits) of raw bytes."""
    from kafka import KafkaConsumer

    require_reachable(settings)
    options: dict[str, Any] = {"enable_auto_commit": False, "group_id": None,
                               "max_partition_fetch_bytes": 8 * 1024 * 1024, **overrides}
    with kafka_errors(settings):
        return KafkaConsumer(**client_options(settings), **options)


def caught_up(consumer: KafkaConsumer) -> bool:
    """True once partitions are assigned and every one is read to its end."""
    assignment = consumer.assignment()
    if not assignment:
        return False
    ends = consumer.end_offsets(list(assignment))
    return all(consumer.position(tp) >= ends[tp] for tp in assignment)


def consume_committing(consumer: KafkaConsumer, handle: Callable[[TopicPartition, ConsumerRecord], str],
                       idle_exit: float | None = None,
                       on_idle: Callable[[Callable[[], bool]], Counter[str]] | None = None) -> Counter[str]:
    """Feed every record to ``handle(tp, record) -> outcome`` and commit its offset only after
    ``handle`` returned (its work is durable), until SIGTERM/SIGINT or, with ``idle_exit``,
    until caught up and idle that long. ``on_idle(caught_up)`` runs after every poll that
    returned nothing (and before an idle exit); its outcomes are counted too. Returns a
    Counter of outcomes."""
    import signal
    import time

    from kafka import OffsetAndMetadata

    counts: Counter[str] = Counter()
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
            if on_idle is not None:
                counts.update(on_idle(lambda: caught_up(consumer)))
            if idle_exit is not None and time.monotonic() - last_record >= idle_exit and caught_up(consumer):
                break
            continue
        last_record = time.monotonic()
        for tp, records in batches.items():
            for record in records:
                counts[handle(tp, record)] += 1
                consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
    return counts


def make_group_consumer(settings: Settings, topic: str | Sequence[str], group: str) -> KafkaConsumer:
    """A ``KafkaConsumer`` in ``group`` on ``topic`` (or several): manual commits, from the beginning when new."""
    from kafka import KafkaConsumer

    require_reachable(settings)
    with kafka_errors(settings):
        topics = [topic] if isinstance(topic, str) else list(topic)
        return KafkaConsumer(*topics, **client_options(settings), group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
                             session_timeout_ms=10000, heartbeat_interval_ms=3000)
