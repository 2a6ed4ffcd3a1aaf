"""Shared fixtures: a real Kafka broker for the session, per-test settings and topics.

The broker is started lazily, only when a test asks for it, on a free port with a
throw-away data directory, and stopped at the end of the session (failures, ^C and
SIGTERM included). ``SCORECARD_TEST_BOOTSTRAP=host:port`` uses an existing broker instead.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_scorecard.localkafka import broker
from sales_scorecard.streams.settings import Settings

TESTS = Path(__file__).resolve().parent
#: Prefix of the session brokers' data directories under the system temp dir.
SESSION_DIR_PREFIX = "scorecard-test-kafka-"
OWNER_FILE = "owner.pid"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration are integration tests, tests/e2e end-to-end ones."""
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if TESTS / "integration" in path.parents:
            item.add_marker(pytest.mark.integration)
        if TESTS / "e2e" in path.parents:
            item.add_marker(pytest.mark.e2e)


def _reap_abandoned_sessions() -> None:
    """Stop brokers and delete data dirs of earlier sessions that died without cleaning up
    (SIGKILL, OOM); directories of sessions still running are left alone."""
    for data_dir in Path(tempfile.gettempdir()).glob(SESSION_DIR_PREFIX + "*"):
        try:
            owner = int((data_dir / OWNER_FILE).read_text())
        except (OSError, ValueError):
            owner = None
        if owner is not None:
            if broker.pid_alive(owner):
                continue
        elif broker.broker_pids(data_dir) or time.time() - data_dir.stat().st_mtime < 3600:
            continue  # no owner recorded: only reclaim old, idle directories
        try:
            broker.down(data_dir, timeout=10)
        except broker.BrokerError:
            continue
        shutil.rmtree(data_dir, ignore_errors=True)


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a real broker for this test session."""
    existing = os.environ.get("SCORECARD_TEST_BOOTSTRAP")
    if existing:
        yield existing
        return
    _reap_abandoned_sessions()
    data_dir = Path(tempfile.mkdtemp(prefix=SESSION_DIR_PREFIX))
    (data_dir / OWNER_FILE).write_text(str(os.getpid()))

    def stop() -> None:
        try:
            broker.down(data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    atexit.register(stop)
    # SIGTERM (a CI timeout, `kill`) becomes ^C, so pytest still runs this fixture's teardown.
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        info = broker.up(port=broker.free_port(), data_dir=data_dir)
        yield info.bootstrap
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop()
        atexit.unregister(stop)


@pytest.fixture
def free_port() -> int:
    """A free loopback port."""
    return broker.free_port()


def isolated_settings(bootstrap: str, data_dir: Path, partitions: int = 4) -> Settings:
    """Settings of their own (unique topic prefix and app id, all topics created with
    ``partitions`` partitions each, the internal single-partition ones aside)."""
    from sales_scorecard.cli.topics import create_topics

    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        bootstrap_servers=bootstrap,
        web_port=broker.free_port(),
        topic_prefix=f"t{tag}.",
        app_id=f"scorecard-test-{tag}",
        store="memory",
        data_dir=str(data_dir),
        partitions=partitions,
        coalesce_ms=200,
        # Off by default for users (docs/configuration.md); every test that runs the
        # partitioned stages runs the team stage with them.
        team_stage=True,
    )
    create_topics(settings)
    return settings


@pytest.fixture
def test_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings isolated for one test: unique topic prefix and app id, all topics created."""
    return isolated_settings(kafka_bootstrap, tmp_path / "data")
