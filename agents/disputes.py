"""The dispute agent: a Faust adapter around ``streams.dispute_stage.DisputeStage``.

``apply_disputes`` consumes ``sales.disputes`` (the appeal inputs) and
``sales.dispute-links`` (links of payroll adjustments to the disputes they name, and
ticks) with concurrency 1, and hands each message to the stage, so every table write
happens inside stream iteration. Both topics and both tables have one partition, like
``sales.facts``: Faust's assignor gives them to the worker that owns the aggregation
stage, whose engine holds the roster (a dispute's team and manager) and the event clock
(overdue alerts). The stage's outputs:

- ``dispute`` events on ``sales.appeals`` (key ``dispute_id``), alerts on ``sales.alerts``,
  rejected records on ``sales.deadletter``;
- an upheld decision's adjustment on ``sales.facts`` as an ``appeal_adjustment`` fact, so
  the stage that owns the payroll ledger keeps it with its facts (contract §10).

A timer sends a ``tick`` through ``sales.dispute-links`` while the stage has work at the
engine's clock (``DisputeStage.tick_due``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import faust
import orjson
from faust.types import TP

from sales_scorecard.core.disputes import AdjustmentRequest, Placement, RepDirectory, roster_directory
from sales_scorecard.schemas.fact_types import APPEAL_ADJUSTMENT
from sales_scorecard.streams.dispute_stage import (
    DisputeOutputs,
    DisputeRecord,
    DisputeStage,
    DisputeTables,
    decode_link,
)
from sales_scorecard.streams.fact_batches import TICK, encode_batches
from sales_scorecard.streams.pipeline import Pipeline
from sales_scorecard.streams.publisher import Send

log = logging.getLogger(__name__)

#: How often the timer asks whether the stage has work at the engine's clock.
TICK_SECONDS = 1.0
#: How long a record waits for the aggregation engine (the roster) to be rebuilt after an
#: assignment before it is applied anyway (its rep would then be ``unknown_reference``).
ENGINE_WAIT_SECONDS = 60.0


def appeal_fact(request: AdjustmentRequest) -> dict[str, Any]:
    """The ``sales.facts`` fact that hands an appeal's adjustment to the payroll ledger."""
    return {"type": APPEAL_ADJUSTMENT, **request.to_json()}


def engine_directory(pipe: Pipeline) -> RepDirectory:
    """A dispute's team and manager from the roster of this worker's aggregation engine."""

    def placement(rep_id: str, at: datetime, /) -> Placement | None:
        engine = pipe.engine
        return None if engine is None else roster_directory(engine.roster)(rep_id, at)

    return placement


async def engine_loaded(pipe: Pipeline) -> None:
    """Wait until this worker's aggregation engine is rebuilt (right after an assignment it
    may not be yet), for at most ``ENGINE_WAIT_SECONDS`` and only while this worker owns it."""
    deadline = time.monotonic() + ENGINE_WAIT_SECONDS
    while pipe.engine is None and pipe.owns_aggregation() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def _sender(topic: faust.TopicT) -> Send:
    async def send(key: bytes, value: bytes | None) -> None:
        await topic.send(key=key, value=value)
    return send


def register(pipe: Pipeline) -> None:
    """Attach the dispute agent, its tick timer and its revocation handler."""
    app, settings = pipe.app, pipe.settings
    links_topic, facts_topic = pipe.dispute_links_topic, pipe.facts_topic

    async def deadletter(key: bytes | None, value: bytes) -> None:
        await pipe.deadletter_topic.send(key=key, value=value)

    async def request_adjustment(request: AdjustmentRequest) -> None:
        for value in encode_batches([orjson.dumps(appeal_fact(request))]):
            await facts_topic.send(key=b"disputes", value=value)

    outputs = DisputeOutputs(appeals=_sender(pipe.appeals_topic), deadletter=deadletter,
                             alerts=_sender(pipe.alerts_topic), adjustments=request_adjustment,
                             drain=lambda: app.producer.flush())
    stage = pipe.dispute_stage = DisputeStage(
        settings, DisputeTables(disputes=pipe.disputes, alert_state=pipe.dispute_alert_state), outputs,
        pipe.metrics, engine_directory(pipe))
    links_name = links_topic.get_topic_name()
    names = (pipe.disputes_topic.get_topic_name(), links_name)
    channel = app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def clock() -> datetime | None:
        engine = pipe.engine
        return None if engine is None else engine.clock()

    async def apply_disputes(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            await engine_loaded(pipe)
            if message.topic != links_name:
                await stage.on_batch([DisputeRecord(message.topic, message.partition, message.offset,
                                                    message.key, message.value)])
                continue
            try:
                link = decode_link(message.value)
            except ValueError:
                log.exception("skipped %s[%s]@%s", message.topic, message.partition, message.offset)
                continue
            if link is None:
                await stage.on_tick(clock())
            else:
                await stage.on_adjustments([link])

    app.agent(channel, name="apply_disputes", concurrency=1)(apply_disputes)

    async def send_ticks() -> None:
        for partition in pipe.assigned(links_topic):
            if stage.tick_due(clock()):
                await links_topic.send(key=b"tick", value=TICK, partition=partition)

    app.timer(interval=TICK_SECONDS, name="disputes.tick")(send_ticks)

    async def on_revoked(*args: Any, **kwargs: Any) -> None:  # (app, revoked, signal=...)
        revoked: set[TP] = args[1]
        if any(tp.topic in names for tp in revoked):
            stage.on_revoked()

    app.on_partitions_revoked.connect(on_revoked)
