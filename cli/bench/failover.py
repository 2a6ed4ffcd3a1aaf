"""Failover: how long scorecards stop after the aggregation owner is killed with SIGKILL.

Two workers share the group (one standby replica each). The worker that owns the
aggregation stage is killed with SIGKILL; a won deal sent right after is then awaited on
``sales.scorecards``. The time from the kill to that update is the gap a leaderboard
sees. The same run with Faust's default session timeout (60 s) is the baseline.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from sales_scorecard.cli.bench.latency import MONTH, UpdateWatcher, roster
from sales_scorecard.cli.bench.load import load
from sales_scorecard.cli.bench.throughput import pipeline_handled
from sales_scorecard.cli.bench.workers import scorecard_worker
from sales_scorecard.cli.kafka_io import make_producer, route
from sales_scorecard.cli.worker_probe import metric_sum
from sales_scorecard.cli.worker_process import WorkerProcess
from sales_scorecard.streams.settings import Settings

REPS = 20
REP = "r0000"


def _deal(n: int) -> dict:
    at = f"{MONTH}-10T10:00:{n % 60:02d}+08:00"
    return {"event_id": f"fo-d{n}", "type": "deal", "schema_version": 1, "occurred_at": at, "deal_id": f"FO{n}",
            "customer_id": f"fc{n}", "currency": "CNY", "created_at": at, "rep_id": REP, "version": 1,
            "stage": "won", "amount": "1.00", "closed_at": at}


def _owner(workers: list[WorkerProcess]) -> WorkerProcess | None:
    """The worker whose aggregation engine is loaded (``scorecard_ready`` 1)."""
    owners = [w for w in workers if metric_sum(w.metrics(), "scorecard_ready") == 1]
    return owners[0] if len(owners) == 1 else None


def measure_once(settings: Settings, workdir: Path, timeout: float, say: Callable[[str], None]) -> dict:
    """Kill the aggregation owner of two workers; seconds until the next deal is reflected."""
    load(settings, [*roster(REPS), _deal(0)])
    first = scorecard_worker(settings, workdir / f"failover-{settings.app_id}-a.log").start()
    second: WorkerProcess | None = None
    try:
        first.wait_ready(timeout)
        first.wait(lambda: pipeline_handled(first) >= REPS + 1, timeout, "the roster")
        # Its own web port and table directory (RocksDB files cannot be shared).
        second_settings = dataclasses.replace(settings, web_port=_free_port(), data_dir=settings.data_dir + "-b")
        second = scorecard_worker(second_settings, workdir / f"failover-{settings.app_id}-b.log").start()
        second.wait_ready(timeout)
        workers = [first, second]
        first.wait(lambda: _owner(workers) is not None, timeout, "one owner of the aggregation stage")
        owner = _owner(workers)
        assert owner is not None
        survivor = second if owner is first else first
        watcher = UpdateWatcher(settings)
        watcher.start()
        producer = make_producer(settings, linger_ms=0)
        owner.stop(signal.SIGKILL, timeout=10)
        killed = time.monotonic()
        topic, key = route(_deal(1), settings)
        producer.send(topic, key=key.encode(), value=orjson.dumps(_deal(1)))
        producer.flush()
        say(f"  killed the owner; waiting for the survivor (session timeout {settings.session_timeout_seconds} s)")
        survivor.wait(lambda: len(watcher.reached.get(REP, ())) >= 2, timeout, "the deal sent after the kill")
        gap = watcher.reached[REP][1] - killed
        watcher.stopping.set()
        watcher.join(timeout=10)
        producer.close()
    finally:
        for w in (first, second):
            if w is not None and w.proc is not None and w.proc.poll() is None:
                w.stop()
    return {"session_timeout_s": settings.session_timeout_seconds, "seconds_to_next_update": round(gap, 1)}


def _free_port() -> int:
    from sales_scorecard.localkafka import broker

    return broker.free_port()


def measure(new_settings: Callable[..., Settings], workdir: Path, timeout: float,
            say: Callable[[str], None]) -> dict:
    """The failover gap with the configured session timeout and with Faust's default (60 s)."""
    configured = measure_once(new_settings("fo", standby_replicas=1), workdir, timeout, say)
    say(f"  {configured['seconds_to_next_update']} s; baseline: Faust's default session timeout (60 s)")
    baseline = measure_once(new_settings("fo60", standby_replicas=1, session_timeout_seconds=60), workdir, timeout, say)
    return {"configured": configured, "faust_default": baseline}
