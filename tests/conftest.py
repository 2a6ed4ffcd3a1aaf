"""Shared fixtures: a real Kafka broker for the session, per-test settings and topics.

The broker is started lazily, only when a test asks for it, on a free port with a
throw-away data directory, and stopped at the end of the session (failures included).
``SCORECARD_TEST_BOOTSTRAP=host:port`` uses an existing broker instead.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_scorecard.localkafka import broker
from sales_scorecard.streams.settings import Settings

TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration are integration tests, tests/e2e end-to-end ones."""
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if TESTS / "integration" in path.parents:
            item.add_marker(pytest.mark.integration)
        if TESTS / "e2e" in path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a real broker for this test session."""
    existing = os.environ.get("SCORECARD_TEST_BOOTSTRAP")
    if existing:
        yield existing
        return
    data_dir = Path(tempfile.mkdtemp(prefix="scorecard-test-kafka-"))
    info = broker.up(port=broker.free_port(), data_dir=data_dir)
    stop = lambda: broker.down(data_dir)  # noqa: E731
    atexit.register(stop)
    try:
        yield info.bootstrap
    finally:
        stop()
        atexit.unregister(stop)


@pytest.fixture
def free_port() -> int:
    """A free loopback port."""
    return broker.free_port()


@pytest.fixture
def test_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings isolated for one test: unique topic prefix and app id, topics created."""
    from sales_scorecard.cli.topics import create_topics

    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        web_port=broker.free_port(),
        topic_prefix=f"t{tag}.",
        app_id=f"scorecard-test-{tag}",
        store="memory",
        data_dir=str(tmp_path / "data"),
        partitions=4,
        coalesce_ms=200,
    )
    create_topics(settings)
    return settings
