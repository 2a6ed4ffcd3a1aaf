"""The single stage's rebuild after a restart, in process: dict tables, no Kafka.

The memory part's thin history (``load.state_events``) is digested by an
``AggregationStage`` over dict tables (every key rendered and published once, at the
end), then a second stage over the same tables rebuilds from them the way a restarted
worker does: ``rebuild`` (the facts replayed into a new engine: what ``/readyz`` waits
for) and ``first_flush`` (what the rebuilt stage renders and sends before it is
settled). Faust's table recovery and the broker are not in the figures.

    python -m sales_scorecard.cli.bench.rebuild --reps 2000 --months 13 [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
from collections.abc import Iterator
from typing import Any

from sales_scorecard.cli.bench.load import state_events
from sales_scorecard.cli.bench.state import ManualClock
from sales_scorecard.streams.aggregation import AggregationStage, StageOutputs, StageTables
from sales_scorecard.streams.fact_batches import Batch
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.settings import Settings

#: Facts per digested message (the ingest stage forwards at most this many per batch).
BATCH = 1000


class _Counted:
    """Outputs that count what is sent per topic and keep nothing else."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}

    def outputs(self) -> StageOutputs:
        def sender(name: str) -> Any:
            async def send(key: bytes, value: bytes | None) -> None:
                self.sent[name] = self.sent.get(name, 0) + 1
            return send

        async def drain() -> None:
            return None

        async def link(_: Any) -> None:
            return None

        return StageOutputs(sender("scorecards"), sender("payroll"), sender("leaderboards"), sender("alerts"),
                            drain, link, awards=sender("awards"))


def _stage(tables: StageTables, outputs: _Counted, clock: ManualClock) -> AggregationStage:
    # Long intervals: nothing flushes until the clock is moved past them.
    settings = Settings(coalesce_ms=10**9, leaderboard_ms=10**9, store="memory", clock_refresh_seconds=10**12)
    return AggregationStage(settings, tables, outputs.outputs(), Metrics(), monotonic=clock)


def _batches(reps: int, months: int) -> Iterator[Batch]:
    facts: list[dict[str, Any]] = []
    for event in state_events(reps, months):
        facts.append(event)
        if len(facts) == BATCH:
            yield Batch(facts)
            facts = []
    if facts:
        yield Batch(facts)


async def digest(reps: int, months: int) -> StageTables:
    """Tables after the history was applied and every key published once."""
    tables = StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})
    clock = ManualClock()
    stage = _stage(tables, _Counted(), clock)
    for offset, batch in enumerate(_batches(reps, months)):
        await stage.on_batch(batch, offset)
    clock.now = 10.0**10  # every interval passed: one flush of every key
    await stage.on_batch(Batch([]))
    while stage.pending():
        clock.now += 10.0**10
        await stage.on_batch(Batch([]))
    return tables


async def rebuild(tables: StageTables, profile: str | None = None) -> dict[str, Any]:
    """Seconds (wall and CPU) of a new stage's rebuild and of its first flush; with
    ``profile``, cProfile stats of each step go to ``{profile}.{step}.prof``."""
    clock, outputs = ManualClock(), _Counted()
    stage = _stage(tables, outputs, clock)
    out: dict[str, Any] = {}
    steps = (("rebuild", stage.rebuild), ("first_flush", lambda: stage.on_batch(Batch([]))))
    for step, call in steps:
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        await call()
        out[step] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
        if profiler:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{step}.prof")
        clock.now += 10.0**10
    out["sent"] = dict(outputs.sent)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=1, help="rebuild this many times (the least time is the figure)")
    parser.add_argument("--profile", help="cProfile each step into PROFILE.rebuild.prof, PROFILE.first_flush.prof")
    args = parser.parse_args()
    started = time.perf_counter()
    tables = asyncio.run(digest(args.reps, args.months))
    print(f"digested {args.reps} reps x {args.months} months in {time.perf_counter() - started:.1f} s: "
          f"{len(tables.facts)} rows, {len(tables.emitted)} published keys")
    for _ in range(args.repeat):
        print(asyncio.run(rebuild(tables, args.profile)))


if __name__ == "__main__":
    main()
