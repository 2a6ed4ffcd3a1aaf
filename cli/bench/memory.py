"""Memory and recovery with a large state.

A thin history (``load.state_events``) creates ``reps`` x ``months`` rep-period
scorecards. For each store (``memory`` and ``rocksdb``) a worker digests it; its peak
resident set (``VmHWM``) is compared with an idle worker's, measured in the same run,
to give bytes per rep-period. The worker is then stopped and started again on the same
state: the time until ``/readyz`` answers 200 is the recovery time (changelog replay for
the memory store; local RocksDB files plus the changelog tail for rocksdb).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from pathlib import Path

from sales_scorecard.cli.bench.load import load, state_events
from sales_scorecard.cli.bench.throughput import pipeline_handled
from sales_scorecard.cli.bench.workers import peak_rss_bytes, scorecard_worker
from sales_scorecard.cli.snapshot import read_topic_to_end
from sales_scorecard.streams.settings import Settings

MIB = 1024 * 1024
#: Coalescing and leaderboard intervals of the worker that digests the state history.
STATE_COALESCE_MS = 10_000
STATE_LEADERBOARD_MS = 30_000
#: The table stores measured by default.
STORES = ("rocksdb", "memory")


def idle_peak_rss(settings: Settings, workdir: Path, timeout: float) -> int:
    """Peak RSS of a ready worker with no state (same code, same settings otherwise)."""
    proc = scorecard_worker(settings, workdir / "idle.log").start()
    try:
        proc.wait_ready(timeout)
        return peak_rss_bytes(proc.pid)
    finally:
        proc.stop()


def distinct_keys(settings: Settings, topic: str) -> int:
    """How many keys a topic holds (a scorecard key per scorecard ever published)."""
    return len({key for key, _ in read_topic_to_end(settings, topic)})


def measure(new_settings: Callable[..., Settings], reps: int, months: int, workdir: Path, timeout: float,
            say: Callable[[str], None], stores: Iterable[str] = STORES) -> dict:
    """Peak RSS per rep-period and recovery time, for each store (by default the rocksdb,
    the default, and the memory store)."""
    rep_periods = reps * months
    first = new_settings("mem", store="memory")
    total = load(first, state_events(reps, months), reps * (1 + 2 * months))
    out: dict = {"reps": reps, "months": months, "rep_periods": rep_periods, "events": total, "recovery": {},
                 "stores": {}}
    for store in stores:
        idle = idle_peak_rss(new_settings(f"idle-{store}", store=store), workdir, timeout)
        # Same input topics, a consumer group and tables of its own per store. Digesting
        # the history is not what is measured, so scorecards and boards are published
        # less often (the state held at the end is the same; fewer, larger flushes can
        # only raise the peak): at 10,000 reps every flush re-rendered all 1,000 teams.
        s = dataclasses.replace(first, store=store, app_id=f"{first.app_id}-{store}",
                                data_dir=str(Path(first.data_dir) / store),
                                coalesce_ms=STATE_COALESCE_MS, leaderboard_ms=STATE_LEADERBOARD_MS)
        say(f"  {store} store: digesting {total:,} events")
        proc = scorecard_worker(s, workdir / f"state-{store}.log").start()
        try:
            proc.wait_ready(timeout)
            proc.wait_count(functools.partial(pipeline_handled, proc), total, timeout, "events digested")
            peak = peak_rss_bytes(proc.pid)
        finally:
            proc.stop()
        scorecard_keys = distinct_keys(s, s.topic("sales.scorecards"))
        out["stores"][store] = {"idle_peak_rss_mib": round(idle / MIB, 1), "loaded_peak_rss_mib": round(peak / MIB, 1),
                                "bytes_per_rep_period": round((peak - idle) / rep_periods)}
        say(f"  {store} store: restarting")
        proc = scorecard_worker(s, workdir / f"recover-{store}.log").start()
        try:
            seconds = proc.wait_ready(timeout)
            recovered_peak = peak_rss_bytes(proc.pid)
        finally:
            proc.stop()
        # Table keys: one per fact (facts table) and one per scorecard (emitted table).
        out["recovery"][store] = {"seconds": round(seconds, 1), "keys": total + scorecard_keys,
                                  "facts": total, "scorecard_keys": scorecard_keys,
                                  "peak_rss_mib": round(recovered_peak / MIB, 1)}
        say(f"  {store} store: ready again after {seconds:.1f} s")
    return out
