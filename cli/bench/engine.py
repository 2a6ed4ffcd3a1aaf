"""The engine offline: apply and render speed on the simulator's realistic mix, against
decoding the same JSON lines into typed records (work every consumer has to do).

Validation, typed records and apply are the Python work the pipeline does for every
event before any Kafka or Faust cost; their sum bounds its throughput from above
(``python_bound_events_per_s``), whatever the plumbing around them. ``measure_stage``
adds what the single stage itself costs per event while it digests a backlog (apply,
fact log, flushes on its backlog pacing, payroll, boards): the worker's CPU per event
less Faust, Kafka and validation; ``measure_stage_on_time`` the same on time, under the
latency part's steady load, where every changed key renders once per interval."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import orjson


def measure_engine(events: list[dict[str, Any]], on_time_rate: int = 0, on_time_reps: int | None = None,
                   partitions: int | None = None, team_stage: bool = False) -> dict:
    """Validation, decoding, engine apply and a full render over ``events`` (the
    throughput part's events, so the bound applies to that run); with ``on_time_rate``,
    the stage on time under the latency part's load over ``on_time_reps``; with
    ``partitions``, the partitioned stages' cost per event too (``measure_partitioned_stages``),
    against the single stage's in the same run."""
    from sales_scorecard.core.engine import ScorecardEngine
    from sales_scorecard.schemas.records import record_from_event
    from sales_scorecard.schemas.validation import EventValidator
    from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

    lines = [orjson.dumps(e) for e in events]
    topics = [TOPIC_FOR_TYPE[e["type"]].name for e in events]
    validator = EventValidator()
    started = time.perf_counter()
    for topic, line in zip(topics, lines, strict=True):
        validator.validate(topic, line)
    validate = time.perf_counter() - started
    started = time.perf_counter()
    records = [record_from_event(orjson.loads(line)) for line in lines]
    decode = time.perf_counter() - started
    engine = ScorecardEngine()
    started = time.perf_counter()
    for record in records:
        engine.apply(record)
    apply = time.perf_counter() - started
    keys = engine.take_dirty()
    started = time.perf_counter()
    for key in keys:
        engine.render(*key)
    render = time.perf_counter() - started
    # A clock refresh one day later: what the worker renders when only the clock moved
    # (the current periods and every trailing window), after a render of every key.
    as_of = engine.clock()
    assert as_of is not None  # events were applied
    engine.wall_clock = as_of + timedelta(days=1)
    engine.touch_clock()
    refreshed = engine.take_dirty()
    started = time.perf_counter()
    for key in refreshed:
        engine.render(*key)
    refresh = time.perf_counter() - started
    single = measure_stage(events)
    partitioned: dict[str, Any] = {}
    if partitions is not None:
        partitioned = measure_partitioned_stages(events, partitions, team_stage)
        partitioned["cpu_over_single"] = round(
            partitioned["cpu_us_per_event"] / single["stage_cpu_us_per_event"], 3)
    return {
        **single,
        **({"partitioned": partitioned} if partitioned else {}),
        **(measure_stage_on_time(on_time_rate, reps=on_time_reps) if on_time_rate else {}),
        "events": len(lines),
        "scorecard_keys": len(keys),
        "validate_events_per_s": round(len(lines) / validate),
        "decode_events_per_s": round(len(lines) / decode),
        "python_bound_events_per_s": round(len(lines) / (validate + decode + apply)),
        "apply_events_per_s": round(len(lines) / apply),
        "render_keys_per_s": round(len(keys) / render),
        "refresh_keys": len(refreshed),
        "refresh_render_keys_per_s": round(len(refreshed) / refresh),
        "apply_vs_decode": round(decode / apply, 3),
    }


#: Facts per message handed to the stage (the ingest agents forward up to 1,000 per message;
#: under a backlog each input partition's batch holds a few hundred).
STAGE_BATCH = 250
#: How far behind the stage is told it is: a backlog of seconds, as in the throughput part.
STAGE_LAG_SECONDS = 5.0


def measure_stage(events: list[dict[str, Any]]) -> dict:
    """CPU seconds of the single ``AggregationStage`` (dict tables, outputs dropped, the
    real clock) digesting ``events`` as a backlog, per event; the updates it sent; and the
    share of that time in leaderboard publications (their real time over the CPU: one thread)."""
    import asyncio

    from sales_scorecard.cli.bench.load import validated
    from sales_scorecard.cli.bench.state import CountingOutputs
    from sales_scorecard.streams.aggregation import AggregationStage, StageTables
    from sales_scorecard.streams.fact_batches import Batch
    from sales_scorecard.streams.metrics import Metrics
    from sales_scorecard.streams.settings import Settings

    settings = Settings(store="memory")
    facts = list(validated(events, settings.currency))
    outputs = CountingOutputs()
    tables = StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})
    metrics = Metrics()
    stage = AggregationStage(settings, tables, outputs.stage_outputs(), metrics)

    async def digest() -> None:
        for offset, start in enumerate(range(0, len(facts), STAGE_BATCH)):
            await stage.on_batch(Batch(facts[start:start + STAGE_BATCH]), offset=offset, lag=STAGE_LAG_SECONDS)

    started = time.process_time()
    asyncio.run(digest())
    cpu = time.process_time() - started
    return {"stage_cpu_us_per_event": round(1e6 * cpu / max(len(facts), 1), 1), "stage_updates_sent": outputs.sent,
            "stage_boards_share": round(board_seconds(metrics) / cpu, 3) if cpu else None}


def measure_partitioned_stages(events: list[dict[str, Any]], partitions: int, team_stage: bool) -> dict:
    """CPU seconds of the partitioned stages of one worker holding every partition (dict
    tables, outputs dropped, the real clock, one render budget) digesting ``events`` as a
    backlog, per event and per stage, the decoding of each stage's messages included: the
    org stage (its part stays on one partition, whatever the number of workers), the rep
    partitions and (with ``team_stage``) the team partitions summed; the facts each was
    handed per event; the org stage's ceiling, the events per second its CPU per event
    allows one core (what no number of workers can raise); and the share of the org stage's
    time in leaderboard publications (their real time over its CPU: one thread)."""
    import asyncio

    from sales_scorecard.cli.bench.load import validated
    from sales_scorecard.cli.bench.state import PartitionedShape
    from sales_scorecard.streams.settings import Settings

    settings = Settings(store="memory", stages="partitioned", partitions=partitions, team_stage=team_stage)
    facts = list(validated(events, settings.currency))
    shape = PartitionedShape(0, 0, partitions, team_stage=team_stage, settings=settings, monotonic=time.monotonic,
                             lag=STAGE_LAG_SECONDS)
    asyncio.run(shape.feed(facts[start:start + STAGE_BATCH] for start in range(0, len(facts), STAGE_BATCH)))
    n = max(len(facts), 1)
    costs = {"org": shape.org_cost, "rep": shape.rep_cost, **({"team": shape.team_cost} if team_stage else {})}
    figures: dict[str, Any] = {"partitions": partitions, "team_stage": team_stage}
    for name, cost in costs.items():
        figures[f"{name}_cpu_us_per_event"] = round(1e6 * cost.cpu_seconds / n, 1)
        figures[f"{name}_facts_per_event"] = round(cost.facts / n, 3)
    total = sum(cost.cpu_seconds for cost in costs.values())
    figures["cpu_us_per_event"] = round(1e6 * total / n, 1)
    org_cpu = shape.org_cost.cpu_seconds
    figures["org_ceiling_events_per_s"] = round(n / org_cpu) if org_cpu else None
    # only the org stage publishes boards (the partitions send it rows)
    figures["org_boards_share"] = round(board_seconds(shape.metrics) / org_cpu, 3) if org_cpu else None
    return figures


#: Seconds of the latency part's load the on-time measure offers the stage.
ON_TIME_SECONDS = 20


def measure_stage_on_time(rate: int, seconds: int = ON_TIME_SECONDS, reps: int | None = None) -> dict:
    """CPU seconds of the single ``AggregationStage`` (dict tables, outputs dropped) fed the
    latency part's load (``reps`` in teams of ten) at ``rate`` events/s of a clock of its
    own, per event, in batches of one ingest window (``SCORECARD_INGEST_BATCH_MS``): on time
    every changed key renders once per interval, so this is what a steady load costs the
    stage, renders included, without any Kafka or Faust cost; the updates it sent; how long
    it held the loop per message (the longest, and the 99th percentile: nothing else runs
    meanwhile); and its board publications' time over its CPU time (in process, on an
    otherwise idle machine, the two clocks agree). The stage's clock moves with the events
    only, so a flush's own time never spaces the next: the renders are those of a worker
    whose flushes take no time, an upper bound of a real one's."""
    import asyncio

    from sales_scorecard.cli.bench.latency import REPS, percentile, steady_history
    from sales_scorecard.cli.bench.load import validated
    from sales_scorecard.cli.bench.state import CountingOutputs, ManualClock
    from sales_scorecard.streams.aggregation import AggregationStage, StageTables
    from sales_scorecard.streams.fact_batches import Batch
    from sales_scorecard.streams.metrics import Metrics
    from sales_scorecard.streams.settings import Settings

    reps = REPS if reps is None else reps
    settings = Settings(store="memory")
    history = list(validated(steady_history(rate, seconds, reps), settings.currency))
    roster, facts = history[:reps], history[reps:]
    window = settings.ingest_batch_ms / 1000.0
    per_batch = max(1, round(rate * window))
    outputs, clock, metrics = CountingOutputs(), ManualClock(1000.0), Metrics()
    tables = StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})
    stage = AggregationStage(settings, tables, outputs.stage_outputs(), metrics, monotonic=clock)
    held: list[float] = []

    async def settle_roster() -> None:
        """The roster applied and its scorecards out before the load starts (not measured)."""
        await stage.on_batch(Batch(roster), offset=0, lag=window)
        while stage.pending() or stage.boards_pending:
            clock.now += 1.0
            await stage.on_batch(Batch())

    async def offer() -> tuple[float, float, int]:
        """The load; the CPU seconds it took, of them in board publications, and the updates sent."""
        await settle_roster()
        boards, sent, started = board_seconds(metrics), outputs.sent, time.process_time()
        for offset, start in enumerate(range(0, len(facts), per_batch), 1):
            clock.now += per_batch / rate
            began = time.perf_counter()
            await stage.on_batch(Batch(facts[start:start + per_batch]), offset=offset, lag=window)
            held.append(time.perf_counter() - began)
        return time.process_time() - started, board_seconds(metrics) - boards, outputs.sent - sent

    cpu, boards, sent = asyncio.run(offer())
    held.sort()
    return {"on_time_rate": rate, "on_time_reps": reps,
            "on_time_stage_cpu_us_per_event": round(1e6 * cpu / max(len(facts), 1), 1),
            "on_time_updates_sent": sent,
            "on_time_held_ms_max": round(1000 * held[-1], 1) if held else None,
            "on_time_held_ms_p99": round(1000 * percentile(held, 0.99), 1) if held else None,
            "on_time_boards_share": round(boards / cpu, 3) if cpu else None}


def board_seconds(metrics: Any) -> float:
    """Seconds a stage's board publications took so far (its ``Metrics``)."""
    from sales_scorecard.cli.worker_probe import metric_sum

    return metric_sum(metrics.exposition().decode(), "scorecard_board_publication_seconds_sum")
