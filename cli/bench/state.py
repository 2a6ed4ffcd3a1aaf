"""The state a stage holds per rep-period, in process: no Kafka, dict tables.

The memory part's history (``load.state_events``: ``reps`` x ``months`` rep-periods) is
validated as the ingest agents do and handed to the single ``AggregationStage`` in
batches, as the worker's ``sales.facts`` messages; then every pending scorecard and
board is published. Two child processes run it, so each figure has a process of its
own:

- **RSS**: the peak resident set (``VmHWM``) and the resident set at the end, above the
  process's before the first fact, per rep-period. The dict tables are counted here
  (in the worker they are RocksDB's, outside Python), so this bounds the worker's figure
  from above for the Python side.
- **traced**: ``tracemalloc``'s peak and the memory the stage still holds at the end,
  and what each part of it retains, found by dropping the parts one at a time (tables,
  board cache, payroll ledger, then the engine's attributes one by one): the order
  matters only for objects two parts share (interned strings), which count with the
  last to drop them.

Run by ``scorecard bench --only state`` (``--state-reps``, ``--months``), or alone:
``python -m sales_scorecard.cli.bench.state REPS MONTHS [--traced]`` prints the JSON of one
child.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

#: Facts per ``sales.facts`` message, as the ingest agents forward them (``INGEST_BATCH``).
BATCH_FACTS = 1000
#: Engine attributes dropped one by one for the breakdown; the rest of the engine is
#: counted together. An object two parts hold counts with the last dropped: the kept
#: deals (held by the customers' wins and the reps' facts too) with ``deals``; the kept
#: activities' times with ``_rep_facts``, their shared figures with ``_activity_figures``.
#: ``_derived`` and ``targets`` hold bounded memos of renders (at most 16,384 entries
#: each), not state that grows with the facts.
ENGINE_PARTS = ("_customer_wins", "_rep_facts", "_activity_figures", "deals", "activities", "buckets", "_days",
                "_trailing", "known", "_scope_wins", "_books", "_acquisitions", "roster", "_derived", "targets",
                "dirty", "payroll_changes")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class CountingOutputs:
    """Senders that drop what they are given (counted)."""

    def __init__(self) -> None:
        self.sent = 0

    def stage_outputs(self) -> Any:
        from sales_scorecard.streams.aggregation import StageOutputs

        async def send(key: bytes, value: bytes | None) -> None:
            self.sent += 1

        async def drain() -> None:
            return None

        async def link(link: object) -> None:
            return None

        return StageOutputs(send, send, send, send, drain, link)


class ManualClock:
    """A monotonic clock a measurement moves by hand (``now``)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _clock() -> Callable[[], float]:
    """A monotonic clock that moves one second per reading: flushes and boards fall due
    every few messages, as in a worker digesting a backlog, the same way every run."""
    ticks = iter(range(10**12))
    return lambda: float(next(ticks))


def digested_stage(reps: int, months: int) -> tuple[Any, Callable[[], None]]:
    """The stage built and a function that digests the history into it and publishes
    everything pending."""
    from sales_scorecard.cli.bench.load import state_events, validated
    from sales_scorecard.streams.aggregation import AggregationStage, StageTables
    from sales_scorecard.streams.fact_batches import Batch
    from sales_scorecard.streams.metrics import Metrics
    from sales_scorecard.streams.settings import Settings

    from .memory import STATE_COALESCE_MS, STATE_LEADERBOARD_MS

    settings = Settings(store="memory", coalesce_ms=STATE_COALESCE_MS, leaderboard_ms=STATE_LEADERBOARD_MS)
    tables = StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})
    stage = AggregationStage(settings, tables, CountingOutputs().stage_outputs(), Metrics(), monotonic=_clock())
    async def digest() -> None:
        batch: list[dict[str, Any]] = []
        offset = 0
        for fact in validated(state_events(reps, months), settings.currency):
            batch.append(fact)
            if len(batch) == BATCH_FACTS:
                await stage.on_batch(Batch(batch), offset=offset)
                batch, offset = [], offset + 1
        if batch:
            await stage.on_batch(Batch(batch), offset=offset)
        # Ticks until every scorecard and board is out (the clock moves on each reading).
        while stage.pending() or stage.boards_pending:
            await stage.on_batch(Batch())

    return stage, lambda: asyncio.run(digest())


def measure_rss(reps: int, months: int) -> dict[str, Any]:
    """Peak and final resident set above the process's before the first fact."""
    stage, digest = digested_stage(reps, months)
    gc.collect()
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    digest()
    seconds = time.perf_counter() - started
    gc.collect()
    peak, end = _status_kib("VmHWM"), _status_kib("VmRSS")
    n = reps * months
    return {"before_kib": before, "peak_kib": peak, "end_kib": end, "digest_s": round(seconds, 1),
            "peak_bytes_per_rep_period": round((peak - before) * 1024 / n),
            "end_bytes_per_rep_period": round((end - before) * 1024 / n), "scorecard_keys": len(stage.tables.emitted)}


def measure_traced(reps: int, months: int) -> dict[str, Any]:
    """tracemalloc's peak and what the stage holds at the end, part by part (bytes per
    rep-period)."""
    import tracemalloc

    from sales_scorecard.core.boards import BoardCache
    from sales_scorecard.core.payroll import PayrollLedger

    stage, digest = digested_stage(reps, months)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    digest()
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    n = reps * months
    parts: dict[str, int] = {}
    last = held

    def dropped(name: str) -> None:
        nonlocal last
        gc.collect()
        now = tracemalloc.get_traced_memory()[0]
        parts[name] = round((last - now) / n)
        last = now

    for table in vars(stage.tables).values():
        table.clear()
    dropped("tables (RocksDB in the worker)")
    stage.boards = BoardCache()
    dropped("board cache")
    stage.ledger = PayrollLedger()
    dropped("payroll ledger")
    engine = stage.engine
    stage.engine = None
    for attr in ENGINE_PARTS:
        delattr(engine, attr)
        dropped(f"engine.{attr}")
    del engine
    dropped("engine: the rest")
    del stage
    dropped("stage: the rest")
    tracemalloc.stop()
    engine_total = sum(v for k, v in parts.items() if k.startswith("engine"))
    held_per = round((held - base) / n)
    return {"peak_bytes_per_rep_period": round((peak - base) / n), "held_bytes_per_rep_period": held_per,
            "held_without_tables": held_per - parts["tables (RocksDB in the worker)"],
            "engine_bytes_per_rep_period": engine_total, "parts": parts}


def measure(reps: int, months: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Both figures, each from a child process of its own."""
    out: dict[str, Any] = {"reps": reps, "months": months, "rep_periods": reps * months}
    for name, flag in (("rss", []), ("traced", ["--traced"])):
        say(f"  state in process ({name}): {reps:,} reps x {months} months")
        child = subprocess.run([sys.executable, "-m", __name__, str(reps), str(months), *flag],
                               check=True, capture_output=True)
        out[name] = orjson.loads(child.stdout)
    return out


def main(argv: list[str]) -> None:
    reps, months = int(argv[0]), int(argv[1])
    result = measure_traced(reps, months) if "--traced" in argv[2:] else measure_rss(reps, months)
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main(sys.argv[1:])
