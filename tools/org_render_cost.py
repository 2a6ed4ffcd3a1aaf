"""What grows with the organisation on the org stage: the CPU of one render per scope and
period kind, and of one leaderboard publication of every board, at N reps (a measurement,
not a test; docs/benchmarks.md, 2026-12-04 night).

    .venv/bin/python tools/org_render_cost.py --reps 200 --reps 2000

Per size: simulates two months (``cli.simulation``, seed 7, 50 reps a team), applies them
to a whole engine, renders every team and company key and a tenth of the rep keys once,
timing each render (process CPU), and prints the median and the largest per scope and
period kind. Then fills a ``BoardCache`` from the rep scorecards, as flushes do, and times
what the stage's leaderboard publication does for every board and period that holds a
rep: rows of each metric (the first ``SCORECARD_LEADERBOARD_ROWS``, names as of the
period's end) and the content digest that decides whether it changed.
"""

from __future__ import annotations

import argparse
import statistics
import time
import zlib
from collections import defaultdict

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.boards import METRICS, BoardCache, RosterNames
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.labels import period_kind
from sales_scorecard.core.publishing import content_digest
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.settings import Settings


def measure(reps: int) -> None:
    events = simulate(SimulationConfig(seed=7, reps=reps, teams=max(reps // 50, 2), months=2,
                                       start_month="2026-10", reviews=False))
    engine = ScorecardEngine("Asia/Shanghai")
    for event in events:
        engine.apply(record_from_event(event))
    cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    cache, boards = BoardCache(), set()
    for scope, id, label in sorted(engine.all_keys()):
        if scope == "rep":
            content = engine.render(scope, id, label)
            if content is not None:
                boards |= cache.update(content)
            if zlib.crc32(f"{id}:{label}".encode()) % 10:
                continue
        started = time.process_time()
        engine.render(scope, id, label)
        cpu[(scope, period_kind(label))].append(time.process_time() - started)
    print(f"{reps:,} reps, {len(events):,} events: CPU of one render, median / largest")
    for (scope, kind), values in sorted(cpu.items()):
        print(f"  {scope:<8} {kind:<8} {len(values):>5} keys  {1000 * statistics.median(values):7.2f} / "
              f"{1000 * max(values):7.2f} ms")
    limit = Settings().leaderboard_rows
    started, rows = time.process_time(), 0
    for board, period in sorted(boards):
        ranked = cache.ranked(board, period)
        window = engine.period(period)
        names = RosterNames(engine.roster, window.end if window is not None else None)
        for metric in METRICS:
            board_rows = cache.board(board, period, metric, names, limit=limit)
            content_digest({"type": "leaderboard", "schema_version": 1, "board": board, "period": period,
                            "metric": metric, "ranked": ranked, "rows": board_rows})
            rows += len(board_rows)
    took = time.process_time() - started
    print(f"  every board's snapshot: {len(boards)} boards x periods, {rows:,} rows, {1000 * took:.0f} ms CPU "
          f"({1e6 * took / max(rows, 1):.1f} us a row)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, action="append", help="reps to simulate (repeatable)")
    args = parser.parse_args()
    for reps in args.reps or [2000]:
        measure(reps)


if __name__ == "__main__":
    main()
