"""Consumer lag of the worker's group, exported as ``scorecard_consumer_lag_records``.

Every worker samples the lag of the whole consumer group (all partitions of the input
topics and ``sales.facts``, whichever worker owns them) every ``LAG_INTERVAL`` seconds:
committed offsets from the group coordinator, log start and end offsets from the
partition leaders. Every live worker thus reports the same value; the alert rules take
the max over workers. The clients are separate from Faust's (an admin client and a
group-less consumer that never fetches records), created on the first sample and
closed when the app shuts down. A failed sample is logged and the last value is kept:
lag sampling never stops the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .kafka_security import aiokafka_options
from .pipeline import Pipeline
from .settings import Settings
from .topics import INPUT_TOPICS, INTERNAL_TOPICS, STAGE_INPUT_TOPICS

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]

#: Seconds between samples, and before the first one (so a fresh worker exports the gauge
#: soon after start rather than one interval later).
LAG_INTERVAL = 15.0
FIRST_SAMPLE_DELAY = 3.0
#: A sample that takes longer is abandoned (aiokafka waits for unknown partitions forever).
SAMPLE_TIMEOUT = 10.0
#: At most one warning per this many seconds while sampling keeps failing; debug otherwise.
WARN_EVERY = 300.0


def group_lag(committed: Mapping[TopicPartitionKey, int], ends: Mapping[TopicPartitionKey, int],
              begins: Mapping[TopicPartitionKey, int] | None = None) -> dict[str, int]:
    """Per topic, the records the group has not committed yet: the sum over the partitions
    of ``ends`` of ``end - max(committed, begin)`` (at least 0).

    A partition without a committed offset, or with one below the log start (records
    deleted by retention), is consumed from the log start (``auto_offset_reset``
    "earliest"): its lag is ``end - begin``. ``begins`` missing means log start 0.
    """
    lag: dict[str, int] = {}
    for tp, end in ends.items():
        begin = (begins or {}).get(tp, 0)
        start = max(committed.get(tp, begin), begin)
        lag[tp[0]] = lag.get(tp[0], 0) + max(0, end - start)
    return lag


def set_lag(gauge: Any, lag: Mapping[str, int]) -> None:
    """Set the labelled gauge to ``lag`` (topic -> records); other topics keep their value."""
    for topic, records in lag.items():
        gauge.labels(topic).set(records)


def lag_topics(settings: Settings) -> list[str]:
    """The full names of the topics the group consumes: the input topics and the internal hops."""
    return [spec.full_name(settings) for spec in (*INPUT_TOPICS, *STAGE_INPUT_TOPICS, *INTERNAL_TOPICS)]


async def _started(start: Callable[[], Awaitable[Any]], close: Callable[[], Awaitable[Any]]) -> None:
    """Start a client; if that fails or is cancelled (sample timeout), close what it opened."""
    try:
        await start()
    except BaseException:
        with contextlib.suppress(Exception):
            await close()
        raise


class LagSampler:
    """Samples the group's lag into the gauge; owns its two aiokafka clients."""

    def __init__(self, settings: Settings, group_id: str, gauge: Any) -> None:
        self.settings = settings
        self.group_id = group_id
        self.gauge = gauge
        self.topics = lag_topics(settings)
        self._admin: Any = None
        self._consumer: Any = None
        self._last_warning = float("-inf")
        self._busy = False
        self._closed = False

    async def _clients(self) -> tuple[Any, Any]:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        client_id = f"{self.group_id}-lag"
        # Built only when a client is (re)created: options include a fresh SSL context.
        security = aiokafka_options(self.settings) if self._admin is None or self._consumer is None else {}
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers, client_id=client_id,
                                        **security)
            await _started(admin.start, admin.close)
            self._admin = admin
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, client_id=client_id,
                                        group_id=None, enable_auto_commit=False, **security)
            await _started(consumer.start, consumer.stop)
            self._consumer = consumer
        return self._admin, self._consumer

    async def offsets(self) -> tuple[dict[TopicPartitionKey, int], dict[TopicPartitionKey, int],
                                     dict[TopicPartitionKey, int]]:
        """Committed, log-start and end offsets of every partition of the group's topics."""
        from aiokafka import TopicPartition

        admin, consumer = await self._clients()
        described = await admin.describe_topics(self.topics)
        tps = [TopicPartition(t["topic"], p["partition"])
               for t in described if t["error_code"] == 0 for p in t["partitions"]]
        if not tps:
            raise RuntimeError(f"none of the topics {self.topics} is known to the cluster")
        group = await admin.list_consumer_group_offsets(self.group_id)
        committed = {(tp.topic, tp.partition): meta.offset for tp, meta in group.items()
                     if tp.topic in self.topics and meta.offset >= 0}
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return (committed, {(tp.topic, tp.partition): o for tp, o in begins.items()},
                {(tp.topic, tp.partition): o for tp, o in ends.items()})

    async def sample(self) -> None:
        """Update the gauge; on any failure log (rate-limited) and keep the last values."""
        if self._busy or self._closed:  # the first, early sample may still run when the timer fires
            return
        self._busy = True
        try:
            committed, begins, ends = await asyncio.wait_for(self.offsets(), SAMPLE_TIMEOUT)
            set_lag(self.gauge, group_lag(committed, ends, begins))
        except Exception as exc:  # noqa: BLE001 - a monitoring sample must never stop the worker
            now = time.monotonic()
            if self.closing():  # clients closed under a running sample at shutdown
                log.debug("consumer lag sample interrupted by shutdown")
            elif now - self._last_warning >= WARN_EVERY:
                self._last_warning = now
                log.warning("consumer lag sample failed, keeping the last values: %s: %s",
                            type(exc).__name__, exc)
            else:
                log.debug("consumer lag sample failed: %s: %s", type(exc).__name__, exc)
        finally:
            self._busy = False

    def closing(self) -> bool:
        """True once :meth:`close` began (another task's doing, possibly while a sample awaits)."""
        return self._closed

    async def close(self) -> None:
        """Stop both clients and sample no more (errors ignored: the app is shutting down)."""
        self._closed = True
        consumer, admin, self._consumer, self._admin = self._consumer, self._admin, None, None
        closers = ([consumer.stop] if consumer is not None else []) + ([admin.close] if admin is not None else [])
        for close in closers:
            try:
                await close()
            except Exception:
                log.debug("closing a lag client failed", exc_info=True)


def register(pipe: Pipeline) -> LagSampler:
    """Sample the group's lag a few seconds after start and every ``LAG_INTERVAL`` seconds."""
    app = pipe.app
    # app.conf.id is the group Faust joins (SCORECARD_APP_ID, plus a -v suffix if versioned).
    sampler = LagSampler(pipe.settings, app.conf.id, pipe.metrics.consumer_lag)

    async def first_lag_sample() -> None:
        await asyncio.sleep(FIRST_SAMPLE_DELAY)
        await sampler.sample()

    async def close_lag_clients(*args: Any, **kwargs: Any) -> None:  # (sender, signal=...): not needed
        await sampler.close()

    app.task(first_lag_sample)
    app.timer(interval=LAG_INTERVAL, name="lag.sample")(sampler.sample)
    app.on_before_shutdown.connect(close_lag_clients)
    return sampler
