"""Stall guard: re-deliver an assigned partition that has records left but makes no progress.

faust-streaming's offset bookkeeping can get stuck after a rebalance (seen in
``test_scale_out`` under CPU load; docs/faust-workarounds.md, defect 2): every record of
a partition was processed, yet the committed offset stayed at 158 of 2,026, because
Faust commits only up to the first offset it has no acknowledgement for and one was
never recorded. The partition's lag then never reaches 0 and nothing would change
without a restart. (The other stall found there, a partition nobody had committed, is
fixed at its cause in ``streams.rewinding_consumer``; this guard is the net for what is
not understood.)

Every ``CHECK_SECONDS`` the worker records, per assigned input partition, its committed
offset, the offset of the last record Faust delivered and the highwater. A partition that
is behind (highwater above the committed offset) and shows exactly the same figures for
``CHECKS`` observations in a row while every agent queue was empty is stalled: its
acknowledgements are forgotten and it is sought back to the committed offset
(``RewindingConsumer.rewind``), so its records are delivered again and commits resume.
Re-delivered records are harmless (idempotent outputs, docs/guarantees.md).
Each rewind is logged as a warning and counted in ``scorecard_partition_rewinds_total``.

With the at-least-once guarantee ``RewindingConsumer`` itself re-delivers a partition at
the next commit when an acknowledgement is missing (defect 3); this guard stays as the
backstop for anything else that stops a partition.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from faust.tables.manager import TableManager
from faust.types import TP

from .internals_guard import Internal
from .pipeline import Pipeline
from .rewinding_consumer import RewindingConsumer

log = logging.getLogger(__name__)

#: What this module reads of Faust's consumer and app (checked when the worker starts,
#: streams.internals_guard).
RELIES_ON = (
    Internal("faust-streaming", "faust.transport.consumer:Consumer",
             ("_committed_offset", "_read_offset", "highwater", "assignment", "flow_active")),
    Internal("faust-streaming", "faust.app.base:App",
             ("rebalancing", "in_recovery", "consumer_generation_id", "tables", "agents", "consumer")),
    Internal("faust-streaming", "faust.tables.manager:TableManager", ("recovery",)),
    Internal("faust-streaming", "faust.tables.recovery:Recovery", ("completed",)),
    Internal("faust-streaming", "faust.channels:Channel", ("queue",)),
)

#: What the detector tells partitions apart by (a ``TP`` in the worker, anything in tests).
Key = TypeVar("Key", bound=Hashable)

#: Seconds between observations, and how many identical idle ones make a stall (60 s):
#: far above the commit interval (1 s), so a partition that moves is never taken.
CHECK_SECONDS = 15.0
CHECKS = 4


@dataclass(frozen=True)
class Progress:
    """What the worker knows of one assigned partition at one moment."""

    committed: int | None  # next offset to commit (None: nothing committed)
    read: int | None  # offset of the last record delivered to the agent
    highwater: int | None  # end of the partition as of the last fetch (None: unknown)

    def behind(self) -> bool:
        """Records left to commit: the highwater is past the committed offset."""
        return self.highwater is not None and self.highwater > (self.committed or 0)


@dataclass
class StallDetector(Generic[Key]):
    """Finds partitions that are behind and have not moved for ``checks`` idle
    observations in a row. A partition is reported once per stuck state."""

    checks: int = CHECKS
    _streaks: dict[Key, tuple[Progress, int]] = field(default_factory=dict)
    _reported: dict[Key, Progress] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget every streak (after a rebalance, or while not ready)."""
        self._streaks.clear()
        self._reported.clear()

    def observe(self, progress: Mapping[Key, Progress], idle: bool) -> list[Key]:
        """Record one observation; returns the partitions found stalled by it."""
        if not idle:
            self._streaks.clear()
            return []
        stalled = []
        streaks: dict[Key, tuple[Progress, int]] = {}
        for tp, now in progress.items():
            if not now.behind() or self._reported.get(tp) == now:
                continue
            before, count = self._streaks.get(tp, (None, 0))
            count = count + 1 if before == now else 1
            if count >= self.checks:
                stalled.append(tp)
                self._reported[tp] = now
            else:
                streaks[tp] = (now, count)
        self._streaks = streaks
        self._reported = {tp: p for tp, p in self._reported.items() if progress.get(tp) == p}
        return stalled


def _snapshot(pipe: Pipeline, consumer: Any) -> tuple[dict[TP, Progress], bool] | None:
    """(progress per assigned input partition, all agent queues empty), or None while
    the worker is rebalancing or recovering."""
    app = pipe.app
    recovery = cast(TableManager, app.tables).recovery  # the App's manager; TableManagerT omits recovery
    if app.rebalancing or app.in_recovery or not recovery.completed.is_set() or not consumer.flow_active:
        return None
    inputs = {topic.get_topic_name() for topic in pipe.input_topics.values()}
    progress = {
        tp: Progress(committed=consumer._committed_offset.get(tp), read=consumer._read_offset.get(tp),
                     highwater=consumer.highwater(tp))
        for tp in consumer.assignment() if tp.topic in inputs
    }
    idle = all(agent.channel.queue.empty() for agent in app.agents.values())
    return progress, idle


def register(pipe: Pipeline) -> None:
    """Run the stall guard on a timer of the worker's app."""
    app, metrics = pipe.app, pipe.metrics
    detector: StallDetector[TP] = StallDetector()
    generation: int | None = None

    async def guard() -> None:
        nonlocal generation
        consumer = app.consumer
        if not isinstance(consumer, RewindingConsumer):
            return
        try:
            snapshot = _snapshot(pipe, consumer)
        except Exception:  # the guard never stops the worker
            log.debug("stall guard could not observe the consumer", exc_info=True)
            return
        if snapshot is None or generation != app.consumer_generation_id:
            detector.reset()
            generation = app.consumer_generation_id
            return
        progress, idle = snapshot
        stalled = detector.observe(progress, idle)
        if not stalled:
            return
        for tp in stalled:
            log.warning("partition %s[%s] stalled (%s): re-delivering it from the committed offset",
                        tp.topic, tp.partition, progress[tp])
            metrics.partition_rewinds.labels(tp.topic).inc()
        # applied between two batches of Faust's consumer loop (RewindingConsumer.getmany)
        consumer.request_redelivery(stalled)

    app.timer(interval=CHECK_SECONDS, name="stall_guard")(guard)
