"""CPU time of one ``/api/leaderboard`` answer at N reps, before and after it came from the
board cache (docs/benchmarks.md, 2026-12-04 late evening). Not a test.

Before: every rep of the board rendered with ``engine.render`` and ranked per request (the
code of main at 83f8a23, kept below as it was). After: ``core.boards.leaderboard`` over the
stage's ``BoardCache``, filled here as a flush fills it. Both answers are encoded with
orjson, as the view does, and compared (same rows) before timing.

    .venv/bin/python tools/leaderboard_request_cpu.py --reps 2000 --reps 10000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import orjson

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.boards import BoardCache, check_period, leaderboard, shown_value, team_summary
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.leaderboard import percentile, rank
from sales_scorecard.core.periods import TRAILING_DAYS
from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.schemas.records import record_from_event


def _old_board_reps(engine: ScorecardEngine, board: str, period: str) -> list[str]:
    reps = sorted(id for (scope, id), labels in engine.known.items()
                  if scope == "rep" and (period in labels or (period in TRAILING_DAYS and labels)))
    if board == "company":
        return reps
    team = board[5:]
    p = engine.period(period)
    if p is None:
        return []
    out = []
    for rep in reps:
        entry = engine.roster.entry_before(rep, p.end)
        if (entry.team_id if entry else UNASSIGNED) == team:
            out.append(rep)
    return out


def old_leaderboard(engine: ScorecardEngine, board: str, period: str, metric: str,
                    limit: int | None = None) -> dict[str, Any]:
    """``core.boards.leaderboard`` before the board cache (83f8a23), validation left out."""
    check_period(engine, period)
    contents = {}
    for rep in _old_board_reps(engine, board, period):
        content = engine.render("rep", rep, period)
        if content is not None:
            contents[rep] = content

    def value(c: dict[str, Any]) -> Decimal | None:
        raw = c["score"] if metric == "score" else c["kpis"][metric]
        return None if raw is None else Decimal(str(raw))

    ranked = rank((rep, value(c)) for rep, c in contents.items())
    window = engine.period(period)
    rows = []
    for row in ranked[: limit if limit else None]:
        c = contents[row.rep_id]
        entry = engine.roster.entry_before(row.rep_id, window.end) if window is not None else None
        rows.append({"rank": row.rank, "rep_id": row.rep_id,
                     "name": entry.name if entry and entry.name else row.rep_id, "team_id": c["team_id"],
                     "value": shown_value(row.value, metric), "revenue": c["kpis"]["revenue"],
                     "attainment": c["kpis"]["attainment"], "score": c["score"],
                     **percentile(row.rank, len(ranked))})
    as_of = engine.clock()
    out: dict[str, Any] = {"board": board, "period": period, "metric": metric, "rows": rows,
                           "as_of": None if as_of is None else as_of.isoformat()}
    if board.startswith("team:"):
        out["team"] = team_summary(engine, board[5:], period)
    return out


def cpu(answer: Callable[[], dict[str, Any]], repeats: int) -> float:
    """Best CPU seconds (``time.process_time``) of ``repeats`` answers, JSON-encoded."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        orjson.dumps(answer())
        best = min(best, time.process_time() - started)
    return best


def measure(reps: int, repeats: int) -> None:
    events = simulate(SimulationConfig(seed=7, reps=reps, teams=max(reps // 50, 2), months=2,
                                       start_month="2026-10", reviews=False))
    engine = ScorecardEngine("Asia/Shanghai")
    for event in events:
        engine.apply(record_from_event(event))
    cache = BoardCache()
    for scope, id, period in engine.all_keys():
        if scope == "rep":
            content = engine.render(scope, id, period)
            if content is not None:
                cache.update(content)
    team = sorted(id for scope, id in engine.known if scope == "team")[0]
    ranked = cache.ranked("company", "2026-11")
    print(f"{reps} reps ({ranked} on the company board, {len(events)} events)")
    for board, metric, limit in [("company", "score", None), ("company", "revenue", 100),
                                 (f"team:{team}", "score", None)]:
        old = old_leaderboard(engine, board, "2026-11", metric, limit)
        new = leaderboard(cache, engine, board, "2026-11", metric, limit)
        assert old["rows"] == new["rows"], (board, metric)
        before = cpu(partial(old_leaderboard, engine, board, "2026-11", metric, limit), repeats)
        after = cpu(partial(leaderboard, cache, engine, board, "2026-11", metric, limit), repeats)
        print(f"  {board:<12} {metric:<8} limit={limit!s:<5} rows={len(new['rows']):>6}  "
              f"before {before * 1000:9.1f} ms   after {after * 1000:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, action="append", help="reps to simulate (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="calls per figure; the best is shown")
    args = parser.parse_args()
    for reps in args.reps or [2000]:
        measure(reps, args.repeats)


if __name__ == "__main__":
    main()
