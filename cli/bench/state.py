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

import abc
import argparse
import asyncio
import gc
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
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


class Shape(abc.ABC):
    """A shape's stages fed the memory part's history as the worker's messages. ``groups``
    names the stages whose parts are counted together: the single stage alone (no name), or
    the org stage and the rep partitions."""

    groups: list[tuple[str, list[Any]]]

    def stages(self) -> list[Any]:
        """Every stage of the shape."""
        return [stage for _, stages in self.groups for stage in stages]

    def waiting(self) -> bool:
        """Whether a scorecard or a board is still to publish."""
        return any(stage.pending() or stage.boards_pending for stage in self.stages())

    def digest(self) -> None:
        """Digest the whole history, then publish everything pending."""
        asyncio.run(self._digest())

    @abc.abstractmethod
    async def _digest(self) -> None:
        """Feed every batch of the history, then tick until nothing waits."""


def _history(reps: int, months: int, currency: str) -> Iterator[list[dict[str, Any]]]:
    """The memory part's history, validated, in batches of ``BATCH_FACTS``."""
    from sales_scorecard.cli.bench.load import state_events, validated

    batch: list[dict[str, Any]] = []
    for fact in validated(state_events(reps, months), currency):
        batch.append(fact)
        if len(batch) == BATCH_FACTS:
            yield batch
            batch = []
    if batch:
        yield batch


def _settings(stages: str, partitions: int) -> Any:
    from sales_scorecard.streams.settings import Settings

    from .memory import STATE_COALESCE_MS, STATE_LEADERBOARD_MS

    return Settings(store="memory", coalesce_ms=STATE_COALESCE_MS, leaderboard_ms=STATE_LEADERBOARD_MS,
                    stages=stages, partitions=partitions)


def _tables() -> Any:
    from sales_scorecard.streams.aggregation import StageTables

    return StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})


class SingleShape(Shape):
    """The single stage (``AggregationStage``), fed the history as ``sales.facts`` messages."""

    def __init__(self, reps: int, months: int) -> None:
        from sales_scorecard.streams.aggregation import AggregationStage
        from sales_scorecard.streams.metrics import Metrics

        self.reps, self.months = reps, months
        self.settings = _settings("single", 1)
        stage = AggregationStage(self.settings, _tables(), CountingOutputs().stage_outputs(), Metrics(),
                                 monotonic=_clock())
        self.groups = [("", [stage])]

    async def _digest(self) -> None:
        from sales_scorecard.streams.fact_batches import Batch

        [stage] = self.stages()
        for offset, batch in enumerate(_history(self.reps, self.months, self.settings.currency)):
            await stage.on_batch(Batch(batch), offset=offset)
        # Ticks until every scorecard and board is out (the clock moves on each reading).
        while self.waiting():
            await stage.on_batch(Batch())


@dataclass
class StageCost:
    """What a group of stages was handed and took: messages, facts and CPU seconds."""

    messages: int = 0
    facts: int = 0
    cpu_seconds: float = 0.0


class PartitionedShape(Shape):
    """The partitioned stages of one worker holding every partition: the org stage fed the
    history, each of its messages to a rep or team partition delivered in order, and theirs
    back. The stages share one render budget, as a worker's do. Without ``team_stage`` the
    org stage keeps the teams (no team partition), as without ``SCORECARD_TEAM_STAGE``.
    What each group was handed and the CPU it took, decoding its messages included, are
    counted (``org_cost``, ``rep_cost``, ``team_cost``); every message is given ``lag``
    (``AggregationStage.on_batch``)."""

    def __init__(self, reps: int, months: int, partitions: int, *, team_stage: bool = True,
                 settings: Any = None, monotonic: Callable[[], float] | None = None, lag: float = 0.0) -> None:
        from sales_scorecard.streams.metrics import Metrics
        from sales_scorecard.streams.org_stage import OrgStage
        from sales_scorecard.streams.render_budget import RenderBudget
        from sales_scorecard.streams.rep_stage import RepStages
        from sales_scorecard.streams.team_stage import TeamStages

        self.reps, self.months, self.lag = reps, months, lag
        self.settings = settings if settings is not None else _settings("partitioned", partitions)
        self.to_rep: list[tuple[int, bytes]] = []
        self.to_team: list[tuple[int, bytes]] = []
        self.to_org: list[bytes] = []
        self.org_cost, self.rep_cost, self.team_cost = StageCost(), StageCost(), StageCost()
        clock, budget = monotonic if monotonic is not None else _clock(), RenderBudget()
        #: the worker's metrics, every stage's
        self.metrics = metrics = Metrics()
        self.org = OrgStage(self.settings, _tables(), CountingOutputs().stage_outputs(), metrics, self._send_to_rep,
                            {}, monotonic=clock, budget=budget,
                            send_to_team=self._send_to_team if team_stage else None, team_values={})
        rep_partitions = RepStages(self.settings, _tables(), CountingOutputs().stage_outputs(), metrics,
                                   self._send_to_org, monotonic=clock, budget=budget)
        self.rep_stages = [rep_partitions.stage(p) for p in range(partitions)]
        self.team_stages: list[Any] = []
        if team_stage:
            teams = TeamStages(self.settings, _tables(), CountingOutputs().stage_outputs(), metrics,
                               self._send_to_org, monotonic=clock, budget=budget)
            self.team_stages = [teams.stage(p) for p in range(partitions)]
        self.groups = [("org stage", [self.org]), ("rep stages", self.rep_stages)]
        if team_stage:
            self.groups.append(("team stages", self.team_stages))

    async def _send_to_rep(self, partition: int, value: bytes) -> None:
        self.to_rep.append((partition, value))

    async def _send_to_team(self, partition: int, value: bytes) -> None:
        self.to_team.append((partition, value))

    async def _send_to_org(self, key: bytes, value: bytes | None) -> None:
        if value is not None:
            self.to_org.append(value)

    async def _handed(self, cost: StageCost, stage: Any, message: Any) -> None:
        """``stage.on_batch`` of ``message`` (a ``Batch``, or an encoded one, decoded as the
        receiving agent does), counted in ``cost``."""
        from sales_scorecard.streams.fact_batches import decode_batch

        started = time.process_time()
        batch = decode_batch(message) if isinstance(message, bytes) else message
        await stage.on_batch(batch, lag=self.lag)
        cost.cpu_seconds += time.process_time() - started
        cost.messages += 1
        cost.facts += len(batch.facts)

    async def _deliver(self) -> None:
        while self.to_rep or self.to_team or self.to_org:
            while self.to_rep:
                partition, value = self.to_rep.pop(0)
                await self._handed(self.rep_cost, self.rep_stages[partition], value)
            while self.to_team:
                partition, value = self.to_team.pop(0)
                await self._handed(self.team_cost, self.team_stages[partition], value)
            while self.to_org:
                await self._handed(self.org_cost, self.org, self.to_org.pop(0))

    async def feed(self, batches: Iterable[list[dict[str, Any]]]) -> None:
        """Hand the org stage each batch of facts as a ``sales.facts`` message, and deliver
        every message the stages send on."""
        from sales_scorecard.streams.fact_batches import Batch

        for batch in batches:
            await self._handed(self.org_cost, self.org, Batch(batch))
            await self._deliver()

    async def _digest(self) -> None:
        from sales_scorecard.streams.fact_batches import Batch

        await self.feed(_history(self.reps, self.months, self.settings.currency))
        while self.waiting():
            await self.org.on_batch(Batch())
            for stage in [*self.rep_stages, *self.team_stages]:
                await stage.on_batch(Batch())
            await self._deliver()


def shape_of(reps: int, months: int, stages: str, partitions: int) -> Shape:
    """The stages of ``stages`` (``SCORECARD_STAGES``), to be fed the memory part's history."""
    if stages == "partitioned":
        return PartitionedShape(reps, months, partitions)
    return SingleShape(reps, months)


def measure_rss(reps: int, months: int, stages: str = "single", partitions: int = 4) -> dict[str, Any]:
    """Peak and final resident set above the process's before the first fact."""
    shape = shape_of(reps, months, stages, partitions)
    gc.collect()
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    shape.digest()
    seconds = time.perf_counter() - started
    gc.collect()
    peak, end = _status_kib("VmHWM"), _status_kib("VmRSS")
    n = reps * months
    return {"before_kib": before, "peak_kib": peak, "end_kib": end, "digest_s": round(seconds, 1),
            "peak_bytes_per_rep_period": round((peak - before) * 1024 / n),
            "end_bytes_per_rep_period": round((end - before) * 1024 / n),
            "scorecard_keys": sum(len(stage.tables.emitted) for stage in shape.stages())}


def measure_traced(reps: int, months: int, stages: str = "single", partitions: int = 4) -> dict[str, Any]:
    """tracemalloc's peak and what the stages hold at the end, part by part (bytes per
    rep-period); with the partitioned stages each part is named by its group (``org stage:
    engine.buckets``), the rep partitions' counted together."""
    import tracemalloc

    from sales_scorecard.core.boards import BoardCache
    from sales_scorecard.core.payroll import PayrollLedger

    shape = shape_of(reps, months, stages, partitions)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    shape.digest()
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

    groups = shape.groups
    del shape  # the groups alone hold the stages now: each is dropped part by part
    for group, members in groups:
        prefix = f"{group}: " if group else ""
        for stage in members:
            for table in vars(stage.tables).values():
                table.clear()
            if hasattr(stage, "board_rows"):  # the org stage's rows from the rep stage
                stage.board_rows.clear()
        dropped(f"{prefix}tables (RocksDB in the worker)")
        for stage in members:
            stage.boards = BoardCache()
        dropped(f"{prefix}board cache")
        for stage in members:
            stage.ledger = PayrollLedger()
        dropped(f"{prefix}payroll ledger")
        engines = [stage.engine for stage in members]
        for stage in members:
            stage.engine = None
        for attr in ENGINE_PARTS:
            for engine in engines:
                delattr(engine, attr)
            dropped(f"{prefix}engine.{attr}")
        del engines
        dropped(f"{prefix}engine: the rest")
        members.clear()
        dropped(f"{prefix}stage: the rest")
    tracemalloc.stop()
    engine_total = sum(v for k, v in parts.items() if _unprefixed(k, groups).startswith("engine"))
    tables = sum(v for k, v in parts.items() if _unprefixed(k, groups) == "tables (RocksDB in the worker)")
    held_per = round((held - base) / n)
    return {"peak_bytes_per_rep_period": round((peak - base) / n), "held_bytes_per_rep_period": held_per,
            "held_without_tables": held_per - tables, "engine_bytes_per_rep_period": engine_total, "parts": parts}


def _unprefixed(part: str, groups: list[tuple[str, list[Any]]]) -> str:
    """A part's name without its group's."""
    for group, _ in groups:
        if group and part.startswith(f"{group}: "):
            return part[len(group) + 2:]
    return part


def measure(reps: int, months: int, say: Callable[[str], None], stages: str = "single",
            partitions: int = 4) -> dict[str, Any]:
    """Both figures, each from a child process of its own."""
    out: dict[str, Any] = {"reps": reps, "months": months, "rep_periods": reps * months, "stages": stages}
    shape = ["--stages", stages, "--partitions", str(partitions)]
    for name, flag in (("rss", []), ("traced", ["--traced"])):
        say(f"  state in process ({name}): {reps:,} reps x {months} months")
        child = subprocess.run([sys.executable, "-m", __name__, str(reps), str(months), *shape, *flag],
                               check=True, capture_output=True)
        out[name] = orjson.loads(child.stdout)
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m sales_scorecard.cli.bench.state")
    parser.add_argument("reps", type=int)
    parser.add_argument("months", type=int)
    parser.add_argument("--stages", choices=("single", "partitioned"), default="single")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--traced", action="store_true")
    args = parser.parse_args(argv)
    measure_one = measure_traced if args.traced else measure_rss
    result = measure_one(args.reps, args.months, args.stages, args.partitions)
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main(sys.argv[1:])
