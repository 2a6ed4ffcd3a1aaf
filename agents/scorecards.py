"""The aggregation agent: the Faust adapter around ``streams.aggregation.AggregationStage``.

``apply_facts`` consumes ``sales.facts`` (one partition, concurrency 1) and hands each
message (a batch of validated facts, or a tick) to the stage inside stream iteration,
where its table writes belong. A timer sends ``tick`` records through the same topic
while the stage has pending work (coalesced flushes, boards, clock refreshes).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TP

from sales_scorecard.streams.aggregation import AggregationStage, StageOutputs, StageTables
from sales_scorecard.streams.fact_batches import TICK, decode_facts
from sales_scorecard.streams.pipeline import Pipeline
from sales_scorecard.streams.publisher import Send


def _sender(topic: faust.TopicT) -> Send:
    """The topic's ``send`` as the stage's Send."""
    async def send(key: bytes, value: bytes | None) -> None:
        await topic.send(key=key, value=value)
    return send


def register(pipe: Pipeline) -> None:
    """Attach the aggregation agent, its tick timer and its revocation handler."""
    app, settings = pipe.app, pipe.settings
    facts_topic = pipe.facts_topic
    tables = StageTables(facts=pipe.facts, emitted=pipe.emitted, payroll_state=pipe.payroll_state,
                         boards_emitted=pipe.boards_emitted, alert_state=pipe.alert_state)
    outputs = StageOutputs(scorecards=_sender(pipe.scorecards_topic), payroll=_sender(pipe.payroll_topic),
                           leaderboards=_sender(pipe.leaderboards_topic), alerts=_sender(pipe.alerts_topic),
                           drain=lambda: app.producer.flush())
    stage = pipe.aggregation = AggregationStage(settings, tables, outputs, pipe.metrics)

    async def apply_facts(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await stage.on_batch(decode_facts(event.value), event.message.offset)

    app.agent(facts_topic, name="apply_facts", concurrency=1)(apply_facts)

    async def send_tick() -> None:
        if stage.tick_due() and pipe.owns_aggregation():
            await facts_topic.send(key=b"tick", value=TICK)

    app.timer(interval=settings.coalesce_ms / 1000.0, name="scorecards.tick")(send_tick)

    async def on_revoked(*args: Any, **kwargs: Any) -> None:  # (app, revoked, signal=...)
        revoked: set[TP] = args[1]
        if any(tp.topic == facts_topic.get_topic_name() for tp in revoked):
            stage.on_revoked()

    app.on_partitions_revoked.connect(on_revoked)
