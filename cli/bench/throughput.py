"""Throughput on a pre-loaded topic: ceiling, plain-Faust baseline, full pipeline.

All three read the same records from the same input topics in the same run:
  a. ceiling: a bare aiokafka consumer that only decodes the JSON values;
  b. baseline: a plain Faust agent doing one table update per event (``baseline_app``);
  c. pipeline: the project's worker (validation, every KPI, coalesced scorecards);
and the Faust floor: the baseline's agent without its table update (``noop``), what
Faust's stream machinery alone costs per event.
Faust runs are timed from the first event handled (the pipeline: received by its ingest)
until all are handled (seen by polling), so start-up and partition assignment are not
counted against them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from sales_scorecard.cli.bench.workers import Usage, baseline_worker, scorecard_worker
from sales_scorecard.cli.worker_probe import metric_sum
from sales_scorecard.cli.worker_process import WorkerProcess
from sales_scorecard.streams.kafka_security import aiokafka_options
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import INPUT_TOPICS

POLL = 0.2


def measure_ceiling(settings: Settings, total: int) -> dict:
    """Bare aiokafka: fetch and decode every record of the input topics."""
    return asyncio.run(_ceiling(settings, total))


async def _ceiling(settings: Settings, total: int) -> dict:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                group_id=None, max_partition_fetch_bytes=8 * 1024 * 1024,
                                **aiokafka_options(settings))
    await consumer.start()
    try:
        parts = [TopicPartition(spec.full_name(settings), p)
                 for spec in INPUT_TOPICS for p in range(spec.partition_count(settings))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen = 0
        started = None
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batches:
                started = time.perf_counter()
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                seen += len(records)
        took = time.perf_counter() - (started or time.perf_counter())
    finally:
        await consumer.stop()
    return {"events": seen, "seconds": round(took, 3), "events_per_s": round(seen / took) if took else None}


def _timed(proc: WorkerProcess, handled: Callable[[], int], total: int, timeout: float,
           on_first: Callable[[], object] | None = None, taken_in: Callable[[], int] | None = None) -> dict:
    """Poll ``handled()`` from the first event to ``total``; returns the rate, and the rate
    per CPU second the process used meanwhile (less moved by other load on a shared machine
    than the wall-clock rate). The clock starts once ``taken_in()`` (by default
    ``handled()``) counts the first event; ``on_first`` runs then (the profiler starts
    there)."""
    first_in = taken_in or handled
    proc.wait(lambda: first_in() > 0, timeout, "the first event", interval=POLL / 4)
    if on_first is not None:
        on_first()
    first = Usage.of(proc.pid)
    done = proc.wait(lambda: handled() >= total, timeout, f"{total} events", interval=POLL)
    used = Usage.of(proc.pid).since(first)
    took, cpu, share = done - first.wall, used.cpu, used.machine_share
    return {"events": total, "seconds": round(took, 3), "events_per_s": round(total / took) if took else None,
            "cpu_seconds": round(cpu, 2), "events_per_cpu_s": round(total / cpu) if cpu else None,
            # the share of every core of the machine that was busy (the broker runs here too)
            "machine_busy": round(share, 2) if share is not None else None}


def measure_baseline(settings: Settings, total: int, workdir: Path, timeout: float, mode: str = "baseline") -> dict:
    """The plain Faust agent (own consumer group and table); ``mode="noop"`` skips the
    table update."""
    s = dataclasses.replace(settings, app_id=f"{settings.app_id}-{mode}", data_dir=str(workdir / mode))
    proc = baseline_worker(s, workdir / f"{mode}.log", mode).start()

    def handled() -> int:
        status, body = proc.get("/count")
        return orjson.loads(body)["count"] if status == 200 else 0

    try:
        result = _timed(proc, handled, total, timeout)
        status, body = proc.get("/count")
        result["runtime"] = orjson.loads(body).get("runtime") if status == 200 else None
        return result
    finally:
        proc.stop()


def pipeline_handled(*procs: WorkerProcess) -> int:
    """Input records fully handled by the workers: dead-lettered, or applied (or skipped as
    duplicates) by the org stage, with every message it sent the rep and team stages
    processed and no scorecard update left pending on any worker. A message re-delivered
    to a partition stage after a rebalance counts as processed twice, so the processed may
    pass the sent (a wait for equality never ended): the wait may then end that one
    message early."""
    expositions = [proc.metrics() for proc in procs]
    if not all(expositions):
        return 0
    done = sum(metric_sum(m, "scorecard_records_rejected_total") + metric_sum(m, "scorecard_facts_total")
               for m in expositions)
    pending = sum(metric_sum(m, "scorecard_pending_updates") for m in expositions)
    behind = [sum(metric_sum(m, f"scorecard_{hop}_batches_sent_total")
                  - metric_sum(m, f"scorecard_{hop}_batches_done_total") for m in expositions)
              for hop in ("rep", "team")]
    return int(done) if pending == 0 and max(behind) <= 0 else int(done) - 1


def pipeline_taken_in(*procs: WorkerProcess) -> int:
    """Input records the workers' ingest agents have received (validated or not)."""
    expositions = [proc.metrics() for proc in procs]
    return int(sum(metric_sum(m, "scorecard_records_received_total") for m in expositions if m))


def measure_pipeline(settings: Settings, total: int, workdir: Path, timeout: float,
                     profile_to: Path | None = None) -> dict:
    """The project's worker, until every event is applied and every update flushed; with
    ``profile_to``, py-spy samples it meanwhile (stacks written there, summary in the result)."""
    from sales_scorecard.cli.bench.profile import Sampler

    s = dataclasses.replace(settings, app_id=settings.app_id + "-pipeline", data_dir=str(workdir / "pipeline"))
    proc = scorecard_worker(s, workdir / "pipeline.log").start()
    sampler: list[Sampler] = []
    try:
        start_sampling = (lambda: sampler.append(Sampler(proc.pid, profile_to))) if profile_to else None
        # Timed from the first input record the ingest receives, as the floor is from its
        # first event: the aggregation's tables recover meanwhile, and timed from the first
        # fact applied, most of the ingest's work fell before the clock started.
        result = _timed(proc, lambda: pipeline_handled(proc), total, timeout, on_first=start_sampling,
                        taken_in=lambda: pipeline_taken_in(proc))
        if sampler:
            result["profile"] = sampler.pop().stop()
        exposition = proc.metrics()
        result["scorecards_emitted"] = int(metric_sum(exposition, "scorecard_scorecards_emitted_total"))
        result["runtime"] = runtime_info(exposition)
        return result
    finally:
        for running in sampler:
            running.stop()
        proc.stop()


def measure_rounds(settings: Settings, total: int, workdir: Path, timeout: float, rounds: int,
                   floor_settings: Callable[[Settings], Settings], profile_to: Path | None = None,
                   say: Callable[[str], None] = lambda message: None) -> dict:
    """The Faust floor (on ``floor_settings(settings)``) and c, ``rounds`` times on the same
    events, every other round c first, so a load that drifts favours neither. The machine's
    speed moves both from run to run, so the ratio is taken within each round and
    ``c_over_floor`` is the median of the rounds' ratios; ``faust_floor`` and ``pipeline``
    are the runs of median rate (the lower middle one of an even count). Only the first c
    is profiled. With more than one round, ``rounds`` lists each round's pair and ratio."""
    pairs: list[dict] = []
    for n in range(rounds):
        s, own = settings, workdir
        if rounds > 1:  # fresh consumer groups and table state per round
            s = dataclasses.replace(settings, app_id=f"{settings.app_id}-r{n + 1}")
            own = workdir / f"round-{n + 1}"
            own.mkdir(parents=True, exist_ok=True)
        runs: dict[str, dict] = {}
        for part in (("floor", "c") if n % 2 == 0 else ("c", "floor")):
            if part == "floor":
                runs[part] = measure_baseline(floor_settings(s), total, own, timeout, mode="noop")
            else:
                runs[part] = measure_pipeline(s, total, own, timeout, profile_to=profile_to if n == 0 else None)
            say(f"  round {n + 1}: {'Faust floor' if part == 'floor' else 'c'} {runs[part]['events_per_s']:,} ev/s")
        floor, c = runs["floor"], runs["c"]
        pairs.append({"faust_floor": floor, "pipeline": c, "c_over_floor": rate_ratio(c, floor)})
    ratios = [p["c_over_floor"] for p in pairs if p["c_over_floor"] is not None]
    out: dict = {
        "faust_floor": _median_run([p["faust_floor"] for p in pairs]),
        "pipeline": _median_run([p["pipeline"] for p in pairs]),
        "c_over_floor": round(statistics.median(ratios), 3) if ratios else None,
    }
    if rounds > 1:
        out["rounds"] = pairs
    return out


def rate_ratio(x: dict, y: dict) -> float | None:
    """``x``'s rate over ``y``'s, to three places (None when either has none)."""
    if not x.get("events_per_s") or not y.get("events_per_s"):
        return None
    return round(x["events_per_s"] / y["events_per_s"], 3)


def _median_run(runs: list[dict]) -> dict:
    """The run of median rate (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda run: run.get("events_per_s") or 0)
    return ordered[(len(ordered) - 1) // 2]


def runtime_info(exposition: str) -> dict[str, str] | None:
    """The labels of the worker's ``scorecard_runtime_info`` sample: the event loop and
    Faust Cython paths it runs on (``None`` before the worker reported them)."""
    for line in exposition.splitlines():
        if line.startswith("scorecard_runtime_info{"):
            labels = line[line.index("{") + 1:line.rindex("}")]
            return dict((k, v.strip('"')) for k, _, v in (pair.partition("=") for pair in labels.split(",")))
    return None


def pipeline_ceiling(faust_floor_events_per_s: float, python_events_per_s: float, passes: int = 2) -> float:
    """Events/s a pipeline could reach at best if each event costs ``passes`` trips
    through Faust's stream machinery (at the floor's cost) plus the offline Python work
    (validate, decode, apply) and nothing else: no forward, no changelog, no rendering."""
    return 1.0 / (passes / faust_floor_events_per_s + 1.0 / python_events_per_s)
