"""The aggregation agents: Faust adapters around the aggregation stages.

``apply_facts`` consumes ``sales.facts`` (one partition). With ``SCORECARD_STAGES=single``
(the default) it hands each message to the whole computation
(``streams.aggregation.AggregationStage``). With ``partitioned`` it hands it to the org
stage (``streams.org_stage.OrgStage``); ``apply_rep_facts`` consumes ``sales.rep-facts``
and ``apply_team_facts`` ``sales.team-facts``, each handing a message to the stage of its
partition (``streams.rep_stage.RepStages``, ``streams.team_stage.TeamStages``). Every
agent runs with concurrency 1 and does its table writes inside stream iteration. Timers
send ``tick`` messages through the same topics while a stage has pending work (coalesced
flushes, boards, clock refreshes).
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
from sales_scorecard.streams.partition_stages import PartitionStages
from sales_scorecard.streams.pipeline import Pipeline
from sales_scorecard.streams.publisher import Send
from sales_scorecard.streams.render_budget import RenderBudget
from sales_scorecard.streams.rep_stage import RepStages
from sales_scorecard.streams.team_stage import TeamStages


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


def _register_partition_agent(app: faust.App, topic: faust.TopicT, stages: PartitionStages[Any]) -> None:
    """The agent of a partitioned stage's topic (``sales.rep-facts``: ``apply_rep_facts``,
    ``sales.team-facts``: ``apply_team_facts``): each message to the stage of its partition."""
    async def apply_partition_facts(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            batch, message = decode_batch(event.value), event.message
            await stages.stage(message.partition).on_batch(batch, message.offset, stage_lag(app, batch, message))

    name = "apply_" + topic.get_topic_name().rsplit(".", 1)[-1].replace("-", "_")
    app.agent(topic, name=name, concurrency=1)(apply_partition_facts)


def register(pipe: Pipeline) -> None:
    """Attach the aggregation agents, their tick timer and their revocation handler."""
    app, settings = pipe.app, pipe.settings
    facts_topic, rep_facts_topic, team_facts_topic = pipe.facts_topic, pipe.rep_facts_topic, pipe.team_facts_topic
    outputs = StageOutputs(scorecards=_sender(pipe.scorecards_topic), payroll=_sender(pipe.payroll_topic),
                           leaderboards=_sender(pipe.leaderboards_topic), alerts=_sender(pipe.alerts_topic),
                           drain=lambda: app.producer.flush(), links=_link_sender(pipe.dispute_links_topic),
                           awards=_sender(pipe.awards_topic))
    org_tables = StageTables(facts=pipe.facts, emitted=pipe.emitted, payroll_state=pipe.payroll_state,
                             boards_emitted=pipe.boards_emitted, alert_state=pipe.alert_state, awards=pipe.awards,
                             award_reports=pipe.award_reports)
    #: with partitioned stages: each internal hop's topic and the stages of its partitions
    hops: list[tuple[faust.TopicT, PartitionStages[Any]]] = []
    org: AggregationStage
    if settings.stages == "partitioned":
        async def send_to_rep(partition: int, value: bytes) -> None:
            await rep_facts_topic.send(key=b"batch", value=value, partition=partition)

        async def send_to_team(partition: int, value: bytes) -> None:
            await team_facts_topic.send(key=b"batch", value=value, partition=partition)

        # One event loop for the org stage and every rep and team partition: one budget for
        # their flushes off the cadence (leading edge, keys set aside).
        budget = RenderBudget()
        team_tables = pipe.team_tables

        def generation() -> int:
            """The consumer group's generation now (the epochs of the team partitions' values)."""
            return app.consumer_generation_id

        org = OrgStage(settings, org_tables, outputs, pipe.metrics, send_to_rep, pipe.board_rows, budget=budget,
                       send_to_team=send_to_team if team_tables is not None else None,
                       team_rows=team_tables.team_rows if team_tables is not None else None,
                       team_values=team_tables.team_values if team_tables is not None else None,
                       generation=generation)
        reps = pipe.rep_stages = RepStages(
            settings,
            # boards_emitted: the rep stage publishes no leaderboard (the org stage does).
            StageTables(facts=pipe.rep_facts, emitted=pipe.rep_emitted, payroll_state=pipe.rep_payroll_state,
                        boards_emitted={}, alert_state=pipe.rep_alert_state,
                        award_reports=pipe.rep_award_reports),
            outputs, pipe.metrics, _sender(facts_topic), budget=budget)
        hops = [(rep_facts_topic, reps)]
        if team_tables is not None:
            # The team stage pays nobody and ranks nothing; it reports its teams' award figures.
            teams = pipe.team_stages = TeamStages(
                settings, StageTables(facts=team_tables.facts, emitted=team_tables.emitted, payroll_state={},
                                      boards_emitted={}, alert_state=team_tables.alert_state,
                                      award_reports=team_tables.award_reports),
                outputs, pipe.metrics, _sender(facts_topic), budget=budget, generation=generation)
            hops.append((team_facts_topic, teams))
    else:
        org = AggregationStage(settings, org_tables, outputs, pipe.metrics)
    pipe.aggregation = org

    async def apply_facts(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            batch, message = decode_batch(event.value), event.message
            await org.on_batch(batch, message.offset, stage_lag(app, batch, message))

    app.agent(facts_topic, name="apply_facts", concurrency=1)(apply_facts)
    for topic, stages in hops:
        _register_partition_agent(app, topic, stages)

    async def send_ticks() -> None:
        # only the owner asks (the stage reports its progress when asked)
        if pipe.owns_aggregation() and org.tick_due():
            await facts_topic.send(key=b"tick", value=TICK)
        for topic, stages in hops:
            for partition in pipe.assigned(topic):
                stage = stages.stages.get(partition)
                if stage is None or stage.tick_due():
                    await topic.send(key=b"tick", value=TICK, partition=partition)

    app.timer(interval=org.tick_seconds(), name="scorecards.tick")(send_ticks)

    def held(tps: set[TP], topic: faust.TopicT) -> set[int]:
        """The partitions of ``topic`` among ``tps``."""
        name = topic.get_topic_name()
        return {tp.partition for tp in tps if tp.topic == name}

    async def on_revoked(*args: Any, **kwargs: Any) -> None:  # (app, revoked, signal=...)
        if held(args[1], facts_topic):
            org.on_revoked()
        for topic, stages in hops:
            stages.revoke(held(args[1], topic))

    async def on_assigned(*args: Any, **kwargs: Any) -> None:  # (app, assigned, signal=...)
        pipe.metrics.rebalances.inc()
        if held(args[1], facts_topic):
            org.on_assigned()
        for topic, stages in hops:
            stages.assign(held(args[1], topic))

    app.on_partitions_revoked.connect(on_revoked)
    app.on_partitions_assigned.connect(on_assigned)
