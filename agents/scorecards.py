"""The aggregation agents: Faust adapters around the aggregation stages.

``apply_facts`` consumes ``sales.facts`` (one partition). With ``SCORECARD_STAGES=single``
(the default) it hands each message to the whole computation
(``streams.aggregation.AggregationStage``). With ``partitioned`` it hands it to the org
stage (``streams.org_stage.OrgStage``), and ``apply_rep_facts`` consumes
``sales.rep-facts`` and hands each message to the stage of its partition
(``streams.rep_stage.RepStages``). Every agent runs with concurrency 1 and does its
table writes inside stream iteration. Timers send ``tick`` messages through the same
topics while a stage has pending work (coalesced flushes, boards, clock refreshes).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import TP, Message

from sales_scorecard.core.disputes import AdjustmentLink
from sales_scorecard.streams.aggregation import AggregationStage, StageOutputs, StageTables, backlog_lag
from sales_scorecard.streams.dispute_stage import encode_link
from sales_scorecard.streams.fact_batches import TICK, Batch, decode_batch
from sales_scorecard.streams.org_stage import OrgStage
from sales_scorecard.streams.pipeline import Pipeline
from sales_scorecard.streams.publisher import Send
from sales_scorecard.streams.render_budget import RenderBudget
from sales_scorecard.streams.rep_stage import RepStages


def _sender(topic: faust.TopicT) -> Send:
    """The topic's ``send`` as the stage's Send."""
    async def send(key: bytes, value: bytes | None) -> None:
        await topic.send(key=key, value=value)
    return send


def _link_sender(topic: faust.TopicT) -> Callable[[AdjustmentLink], Awaitable[None]]:
    """Sends an adjustment's link to the dispute stage (``sales.dispute-links``, key ``dispute_id``)."""
    async def send(link: AdjustmentLink) -> None:
        await topic.send(key=link.dispute_id.encode(), value=encode_link(link))
    return send


def stage_lag(app: faust.App, batch: Batch, message: Message) -> float:
    """The stage's lag for ``batch`` (``backlog_lag``): whether a later message already waits
    on the partition is read from the consumer's high watermark (the offset after the last
    record the broker reported)."""
    # typed int, but aiokafka answers None before its first fetch of the partition
    highwater: int | None = app.consumer.highwater(message.tp)
    waiting = highwater is None or message.offset + 1 < highwater
    return backlog_lag(batch.age(message.timestamp, time.time()), waiting)


def register(pipe: Pipeline) -> None:
    """Attach the aggregation agents, their tick timer and their revocation handler."""
    app, settings = pipe.app, pipe.settings
    facts_topic, rep_facts_topic = pipe.facts_topic, pipe.rep_facts_topic
    outputs = StageOutputs(scorecards=_sender(pipe.scorecards_topic), payroll=_sender(pipe.payroll_topic),
                           leaderboards=_sender(pipe.leaderboards_topic), alerts=_sender(pipe.alerts_topic),
                           drain=lambda: app.producer.flush(), links=_link_sender(pipe.dispute_links_topic),
                           awards=_sender(pipe.awards_topic))
    org_tables = StageTables(facts=pipe.facts, emitted=pipe.emitted, payroll_state=pipe.payroll_state,
                             boards_emitted=pipe.boards_emitted, alert_state=pipe.alert_state, awards=pipe.awards,
                             award_reports=pipe.award_reports)
    reps: RepStages | None = None
    org: AggregationStage
    if settings.stages == "partitioned":
        async def send_to_rep(partition: int, value: bytes) -> None:
            await rep_facts_topic.send(key=b"batch", value=value, partition=partition)

        # One event loop for the org stage and every rep partition: one budget for their
        # flushes off the cadence (leading edge, keys set aside).
        budget = RenderBudget()
        org = OrgStage(settings, org_tables, outputs, pipe.metrics, send_to_rep, pipe.board_rows, budget=budget)
        reps = pipe.rep_stages = RepStages(
            settings,
            # boards_emitted: the rep stage publishes no leaderboard (the org stage does).
            StageTables(facts=pipe.rep_facts, emitted=pipe.rep_emitted, payroll_state=pipe.rep_payroll_state,
                        boards_emitted={}, alert_state=pipe.rep_alert_state,
                        award_reports=pipe.rep_award_reports),
            outputs, pipe.metrics, _sender(facts_topic), budget=budget)
    else:
        org = AggregationStage(settings, org_tables, outputs, pipe.metrics)
    pipe.aggregation = org

    async def apply_facts(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            batch, message = decode_batch(event.value), event.message
            await org.on_batch(batch, message.offset, stage_lag(app, batch, message))

    app.agent(facts_topic, name="apply_facts", concurrency=1)(apply_facts)

    if reps is not None:
        rep_stages = reps

        async def apply_rep_facts(stream: faust.StreamT[bytes]) -> None:
            async for event in stream.events():
                batch, message = decode_batch(event.value), event.message
                await rep_stages.stage(message.partition).on_batch(batch, message.offset,
                                                                   stage_lag(app, batch, message))

        app.agent(rep_facts_topic, name="apply_rep_facts", concurrency=1)(apply_rep_facts)

    async def send_ticks() -> None:
        # only the owner asks (the stage reports its progress when asked)
        if pipe.owns_aggregation() and org.tick_due():
            await facts_topic.send(key=b"tick", value=TICK)
        if reps is None:
            return
        for partition in pipe.rep_partitions():
            stage = reps.stages.get(partition)
            if stage is None or stage.tick_due():
                await rep_facts_topic.send(key=b"tick", value=TICK, partition=partition)

    app.timer(interval=org.tick_seconds(), name="scorecards.tick")(send_ticks)

    def held(tps: set[TP]) -> tuple[bool, set[int]]:
        """Whether ``tps`` hold ``sales.facts``, and the rep partitions among them."""
        rep_name = rep_facts_topic.get_topic_name()
        return (any(tp.topic == facts_topic.get_topic_name() for tp in tps),
                {tp.partition for tp in tps if tp.topic == rep_name})

    async def on_revoked(*args: Any, **kwargs: Any) -> None:  # (app, revoked, signal=...)
        facts, partitions = held(args[1])
        if facts:
            org.on_revoked()
        if reps is not None:
            reps.revoke(partitions)

    async def on_assigned(*args: Any, **kwargs: Any) -> None:  # (app, assigned, signal=...)
        pipe.metrics.rebalances.inc()
        facts, partitions = held(args[1])
        if facts:
            org.on_assigned()
        if reps is not None:
            reps.assign(partitions)

    app.on_partitions_revoked.connect(on_revoked)
    app.on_partitions_assigned.connect(on_assigned)
