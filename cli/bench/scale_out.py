"""Scale-out: does a second worker take half of the rep and team stages, at no extra CPU
per event, and how many more events a second does it digest?

The same events go through one worker, then through two workers of one group (own
topics each time). Each run starts its workers, waits until they are ready, sends the
events (from a thread, so the clock starts at the first event taken in, while the rest
are still being sent) and waits until every event is applied and every scorecard flushed.
Measured: events per second from the first event taken in to the last one handled (the
sending overlaps the digest; the bench's producer shares the machine with the workers); each
worker's share of the facts the rep and team stages applied
(``scorecard_rep_stage_facts_total``, ``scorecard_team_stage_facts_total``); and the CPU
seconds of the workers (``/proc/<pid>/stat``) from the first event to the last, per
event, two workers summed against one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sales_scorecard.cli.bench.load import load
from sales_scorecard.cli.bench.throughput import pipeline_handled, pipeline_taken_in
from sales_scorecard.cli.bench.workers import cpu_seconds, scorecard_worker
from sales_scorecard.cli.worker_probe import metric_sum
from sales_scorecard.cli.worker_process import WorkerProcess
from sales_scorecard.localkafka import broker
from sales_scorecard.streams.settings import Settings


def _run(settings: Settings, workers: int, events: list[dict[str, Any]], workdir: Path, timeout: float,
         say: Callable[[str], None]) -> dict:
    procs: list[WorkerProcess] = []
    try:
        for n in range(workers):
            s = dataclasses.replace(settings, web_port=broker.free_port(), data_dir=f"{settings.data_dir}-{n}")
            procs.append(scorecard_worker(s, workdir / f"scale-{settings.app_id}-{n}.log").start())
        for proc in procs:
            proc.wait_ready(timeout)
        # Wait for the group to settle (every worker holds rep partitions) before loading.
        first = procs[0]
        first.wait(lambda: all(_assigned(p) for p in procs), timeout, "every worker in the group")
        say(f"  {workers} worker(s) ready; loading {len(events):,} events")
        # The clock starts at the first event taken in, while the load is still sending.
        loaded: list[int] = []
        sender = threading.Thread(target=lambda: loaded.append(load(settings, events, len(events))), daemon=True)
        sender.start()
        first.wait(lambda: pipeline_taken_in(*procs) > 0, timeout, "the first event", interval=0.05)
        cpu_start = sum(cpu_seconds(p.pid) for p in procs)
        started = time.monotonic()
        sender.join(timeout)
        if not loaded:
            raise RuntimeError("the events could not be sent to the input topics (see the output above)")
        total = loaded[0]
        first.wait(lambda: pipeline_handled(*procs) >= total, timeout, f"{total} events", interval=0.2)
        took = time.monotonic() - started
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_start
        texts = [p.metrics() for p in procs]
        return {"workers": workers, "events": total, "seconds": round(took, 2),
                "events_per_s": round(total / took) if took > 0 else None,
                "cpu_seconds": round(cpu, 2), "cpu_ms_per_event": round(1000 * cpu / total, 3),
                **_shares("rep_stage", [metric_sum(t, "scorecard_rep_stage_facts_total") for t in texts]),
                **_shares("team_stage", [metric_sum(t, "scorecard_team_stage_facts_total") for t in texts])}
    finally:
        for proc in procs:
            proc.stop()


def _shares(stage: str, facts: list[float]) -> dict[str, list]:
    """Each worker's count of the facts a stage applied, and its share of their sum."""
    return {f"{stage}_facts": [int(f) for f in facts],
            f"{stage}_share": [round(f / sum(facts), 3) if sum(facts) else None for f in facts]}


def _assigned(proc: WorkerProcess) -> bool:
    """Whether the worker was given at least one rep stage partition (it reports a figure for it)."""
    return bool(proc.readiness().get("rep_partitions", 0))


def measure(settings_for: Callable[..., Settings], events: list[dict[str, Any]], workdir: Path, timeout: float,
            say: Callable[[str], None]) -> dict:
    """One worker, then two, on the same events."""
    say("scale-out: one worker")
    one = _run(settings_for("scale1"), 1, events, workdir, timeout, say)
    say(f"  {one['cpu_ms_per_event']} ms CPU per event; two workers")
    two = _run(settings_for("scale2"), 2, events, workdir, timeout, say)
    say(f"  {two['cpu_ms_per_event']} ms CPU per event, rep stage shares {two['rep_stage_share']}, "
        f"team stage shares {two['team_stage_share']}")
    say(f"  {two['events_per_s']} events/s against one worker's {one['events_per_s']}")
    return compare(one, two)


def _ratio(two: float | None, one: float | None) -> float | None:
    return round(two / one, 3) if one and two is not None else None


def compare(one: dict, two: dict) -> dict:
    """The runs of one and of two workers, and what two did against one: CPU seconds per
    event (summed over the workers) and events per second."""
    return {"one": one, "two": two,
            "cpu_per_event_two_over_one": _ratio(two["cpu_ms_per_event"], one["cpu_ms_per_event"]),
            "events_per_s_two_over_one": _ratio(two.get("events_per_s"), one.get("events_per_s"))}
