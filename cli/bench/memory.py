"""Memory and recovery with a large state.

A thin history (``load.state_events``) creates ``reps`` x ``months`` rep-period
scorecards. For each store (``memory`` and ``rocksdb``) a worker digests it; its peak
resident set (``VmHWM``) is compared with an idle worker's, measured in the same run,
to give bytes per rep-period. The worker is then stopped and started again on the same
state: the time until ``/readyz`` answers 200 is the recovery time (changelog replay for
the memory store; local RocksDB files plus the changelog tail for rocksdb).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sales_scorecard.cli.bench.load import load, state_events
from sales_scorecard.cli.bench.throughput import pipeline_handled
from sales_scorecard.cli.bench.workers import metric_sum, peak_rss_bytes, scorecard_worker
from sales_scorecard.streams.settings import Settings

MIB = 1024 * 1024


def idle_peak_rss(settings: Settings, workdir: Path, timeout: float) -> int:
    """Peak RSS of a ready worker with no state (same code, same settings otherwise)."""
    proc = scorecard_worker(settings, workdir / "idle.log").start()
    try:
        proc.wait_ready(timeout)
        return peak_rss_bytes(proc.pid)
    finally:
        proc.stop()


def measure(new_settings: Callable[..., Settings], reps: int, months: int, workdir: Path, timeout: float,
            say: Callable[[str], None]) -> dict:
    """Peak RSS per rep-period and recovery time, for the memory and the rocksdb store."""
    rep_periods = reps * months
    first = new_settings("mem", store="memory")
    total = load(first, state_events(reps, months), reps * (1 + 2 * months), "state")
    out: dict = {"reps": reps, "months": months, "rep_periods": rep_periods, "events": total, "recovery": {}}
    idle = idle_peak_rss(new_settings("idle", store="memory"), workdir, timeout)
    out["idle_peak_rss_mib"] = round(idle / MIB, 1)
    for store in ("memory", "rocksdb"):
        # Same input topics, a consumer group and tables of its own per store.
        import dataclasses

        s = dataclasses.replace(first, store=store, app_id=f"{first.app_id}-{store}",
                                data_dir=str(Path(first.data_dir) / store))
        say(f"  {store} store: digesting {total:,} events")
        proc = scorecard_worker(s, workdir / f"state-{store}.log").start()
        try:
            proc.wait_ready(timeout)
            proc.wait(lambda: pipeline_handled(proc) >= total, timeout, f"{total} events", interval=1.0)
            peak = peak_rss_bytes(proc.pid)
            emitted = int(metric_sum(proc.metrics(), "scorecard_scorecards_emitted_total"))
        finally:
            proc.stop()
        if store == "memory":
            out["loaded_peak_rss_mib"] = round(peak / MIB, 1)
            out["bytes_per_rep_period"] = round((peak - idle) / rep_periods)
        else:
            out["rocksdb_loaded_peak_rss_mib"] = round(peak / MIB, 1)
        say(f"  {store} store: restarting")
        proc = scorecard_worker(s, workdir / f"recover-{store}.log").start()
        try:
            seconds = proc.wait_ready(timeout)
            recovered_peak = peak_rss_bytes(proc.pid)
        finally:
            proc.stop()
        out["recovery"][store] = {"seconds": round(seconds, 1), "keys": total + emitted,
                                  "facts": total, "scorecard_updates": emitted,
                                  "peak_rss_mib": round(recovered_peak / MIB, 1)}
        say(f"  {store} store: ready again after {seconds:.1f} s")
    return out
