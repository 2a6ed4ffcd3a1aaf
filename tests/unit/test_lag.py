"""The consumer-lag gauge: the pure lag arithmetic, and the sampler's gauge updates with
fake aiokafka clients (no broker)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from sales_scorecard.streams import lag
from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.settings import Settings


def test_group_lag_sums_partitions_per_topic() -> None:
    committed = {("a", 0): 5, ("a", 1): 10, ("b", 0): 7}
    ends = {("a", 0): 8, ("a", 1): 10, ("b", 0): 7}
    assert lag.group_lag(committed, ends) == {"a": 3, "b": 0}


def test_uncommitted_partition_counts_from_the_log_start() -> None:
    ends = {("a", 0): 8, ("a", 1): 4}
    assert lag.group_lag({}, ends) == {"a": 12}  # log start 0 when not given
    assert lag.group_lag({}, ends, {("a", 0): 3, ("a", 1): 4}) == {"a": 5}


def test_commit_below_the_log_start_counts_from_the_log_start() -> None:
    # Retention deleted records the group never read: it resumes at the log start.
    assert lag.group_lag({("a", 0): 2}, {("a", 0): 10}, {("a", 0): 6}) == {"a": 4}


def test_lag_is_never_negative_and_ignores_other_partitions() -> None:
    # A commit ahead of a stale end offset, and a commit of a topic that was not sampled.
    assert lag.group_lag({("a", 0): 12, ("x", 0): 1}, {("a", 0): 10}) == {"a": 0}
    assert lag.group_lag({("x", 0): 1}, {}) == {}


def test_lag_topics_are_full_names(tmp_path: Path) -> None:
    topics = lag.lag_topics(Settings(topic_prefix="acme."))
    assert topics == ["acme.sales.deals", "acme.sales.complaints", "acme.sales.activities", "acme.sales.roster",
                      "acme.sales.targets", "acme.sales.control", "acme.sales.reviews", "acme.sales.disputes",
                      "acme.sales.facts", "acme.sales.rep-facts", "acme.sales.team-facts", "acme.sales.dispute-links"]


def gauge_values(metrics: Metrics) -> dict[str, float]:
    text = metrics.exposition().decode()
    family = next(f for f in text_string_to_metric_families(text) if f.name == "scorecard_consumer_lag_records")
    return {s.labels["topic"]: s.value for s in family.samples}


class FakeAdmin:
    def __init__(self, topics: dict[str, int], committed: dict[tuple[str, int], int]) -> None:
        self.topics, self.committed, self.closed = topics, committed, False

    async def describe_topics(self, names: list[str]) -> list[dict]:
        return [{"topic": t, "error_code": 0 if t in self.topics else 3,
                 "partitions": [{"partition": p, "error_code": 0} for p in range(self.topics.get(t, 0))]}
                for t in names]

    async def list_consumer_group_offsets(self, group_id: str) -> dict:
        assert group_id == "sales-scorecard"
        return {TopicPartition(t, p): SimpleNamespace(offset=o) for (t, p), o in self.committed.items()}

    async def close(self) -> None:
        self.closed = True


class FakeConsumer:
    def __init__(self, ends: dict[tuple[str, int], int]) -> None:
        self.ends, self.stopped, self.fail = ends, False, False

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict:
        return {tp: 0 for tp in tps}

    async def end_offsets(self, tps: list[TopicPartition]) -> dict:
        if self.fail:
            raise ConnectionError("broker gone")
        return {tp: self.ends.get((tp.topic, tp.partition), 0) for tp in tps}

    async def stop(self) -> None:
        self.stopped = True


def sampler_with(metrics: Metrics, admin: FakeAdmin, consumer: FakeConsumer) -> lag.LagSampler:
    sampler = lag.LagSampler(Settings(), "sales-scorecard", metrics.consumer_lag)
    sampler._admin, sampler._consumer = admin, consumer
    return sampler


def test_sample_sets_the_gauge_for_every_topic_and_keeps_it_on_failure(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    assert gauge_values(metrics) == {}  # a labelled gauge exports no sample before the first update
    admin = FakeAdmin({"sales.deals": 2, "sales.facts": 1, "sales.roster": 1},
                      {("sales.deals", 0): 5, ("sales.facts", 0): 40, ("sales.scorecards", 0): 3,
                       ("sales.roster", 0): -1})
    consumer = FakeConsumer({("sales.deals", 0): 9, ("sales.deals", 1): 6, ("sales.facts", 0): 50,
                             ("sales.roster", 0): 2})
    sampler = sampler_with(metrics, admin, consumer)
    asyncio.run(sampler.sample())
    assert gauge_values(metrics) == {"sales.deals": 10.0, "sales.facts": 10.0, "sales.roster": 2.0}

    consumer.fail = True
    with caplog.at_level(logging.DEBUG, logger=lag.__name__):
        asyncio.run(sampler.sample())
        asyncio.run(sampler.sample())
    assert gauge_values(metrics) == {"sales.deals": 10.0, "sales.facts": 10.0, "sales.roster": 2.0}
    levels = [r.levelno for r in caplog.records if r.name == lag.__name__]
    assert levels == [logging.WARNING, logging.DEBUG], levels  # rate-limited
    assert "broker gone" in caplog.records[0].getMessage()

    asyncio.run(sampler.close())
    assert consumer.stopped and admin.closed
    assert sampler._admin is None and sampler._consumer is None
    asyncio.run(sampler.sample())  # a timer firing during shutdown creates no new clients
    assert sampler._admin is None and sampler._consumer is None


def test_sample_without_any_known_topic_keeps_the_gauge_empty() -> None:
    metrics = Metrics()
    sampler = sampler_with(metrics, FakeAdmin({}, {}), FakeConsumer({}))
    asyncio.run(sampler.sample())
    assert gauge_values(metrics) == {}


def test_sample_that_hangs_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    class Hanging(FakeConsumer):
        async def end_offsets(self, tps: list[TopicPartition]) -> dict:
            await asyncio.sleep(3600)
            return {}

    monkeypatch.setattr(lag, "SAMPLE_TIMEOUT", 0.05)
    sampler = sampler_with(Metrics(), FakeAdmin({"sales.deals": 1}, {}), Hanging({}))
    asyncio.run(asyncio.wait_for(sampler.sample(), 5))
    assert not sampler._busy


def test_create_app_registers_the_sampler(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=str(tmp_path), store="memory")).app
    names = {getattr(t, "__wrapped__", t).__name__ for t in app._app_tasks}
    assert {"first_lag_sample", "sample"} <= names, names
    assert app.conf.id == "sales-scorecard"
