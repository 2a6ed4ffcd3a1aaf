"""The org engine's apply CPU and state, this tree against another checkout (a measurement,
not a test; docs/benchmarks.md, 2026-12-04 late evening).

    .venv/bin/python tools/org_engine_cost.py BEFORE_CHECKOUT [--reps 200] [--months 5] [--rounds 3]

Simulates a history (``cli.simulation``, seed 7), then runs child processes in turn,
before / after, ``--rounds`` times each (interleaved, so a busy machine slows both alike):
each imports ``sales_scorecard`` from its checkout, decodes the events to records and
applies them to a ``ScorecardEngine`` with the ``ORG`` role, timing only the applies
(process CPU). One more child per checkout measures the engine's state with
``tracemalloc`` (what the engine holds after the last apply, the records excluded).
Prints the best CPU of each side, events/s and the state, as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: the checkout folders that make up the ``sales_scorecard`` package (pyproject's package-dir)
PACKAGE_DIRS = {"core": "core", "cli": "cli", "streams": "streams", "agents": "agents", "schemas": "schemas",
                "localkafka": "deploy/local"}


def package_root(checkout: Path, into: Path) -> Path:
    """A folder holding ``sales_scorecard`` laid out from ``checkout`` (symlinks), for PYTHONPATH."""
    package = into / "sales_scorecard"
    package.mkdir(parents=True)
    (package / "__init__.py").symlink_to(checkout / "package" / "__init__.py")
    for name, folder in PACKAGE_DIRS.items():
        (package / name).symlink_to(checkout / folder)
    return into


def child(events_file: Path, traced: bool) -> dict[str, float | str]:
    """Apply the events to an ORG engine of the imported checkout; CPU seconds or bytes held."""
    from sales_scorecard.core import engine as engine_module
    from sales_scorecard.core.engine import ORG, ScorecardEngine
    from sales_scorecard.schemas.records import record_from_event

    records = [record_from_event(e) for e in json.loads(events_file.read_bytes())]
    gc.collect()
    if traced:
        import tracemalloc

        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        engine = ScorecardEngine("Asia/Shanghai", role=ORG)
        for record in records:
            engine.apply(record)
        gc.collect()
        return {"state_bytes": tracemalloc.get_traced_memory()[0] - base, "events": len(records),
                "engine": str(Path(engine_module.__file__ or "").resolve())}
    engine = ScorecardEngine("Asia/Shanghai", role=ORG)
    start = time.process_time()
    for record in records:
        engine.apply(record)
    return {"cpu_seconds": time.process_time() - start, "events": len(records)}


def run_child(root: Path, events_file: Path, traced: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    args = [sys.executable, __file__, "--child", str(events_file)] + (["--traced"] if traced else [])
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, nargs="?", help="the checkout to compare with (e.g. a git worktree)")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--months", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.traced)))
        return
    if args.before is None:
        parser.error("give the checkout to compare with")
    from sales_scorecard.cli.simulation import SimulationConfig, simulate

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        events_file = work / "events.json"
        events = simulate(SimulationConfig(reps=args.reps, months=args.months))
        events_file.write_text(json.dumps(events, default=str))
        roots = {"before": package_root(args.before.resolve(), work / "before"),
                 "after": package_root(Path(__file__).resolve().parent.parent, work / "after")}
        cpu: dict[str, list[float]] = {side: [] for side in roots}
        for _ in range(args.rounds):
            for side, root in roots.items():
                cpu[side].append(run_child(root, events_file, traced=False)["cpu_seconds"])
        traced = {side: run_child(root, events_file, traced=True) for side, root in roots.items()}
    best = {side: min(runs) for side, runs in cpu.items()}
    print(json.dumps({
        "events": len(events), "cpu_seconds": cpu, "best_cpu_seconds": best,
        "events_per_cpu_second": {side: round(len(events) / s) for side, s in best.items()},
        "cpu_saved": round(1 - best["after"] / best["before"], 3),
        "state_mib": {side: round(t["state_bytes"] / 2**20, 1) for side, t in traced.items()},
        "engine_module": {side: t["engine"] for side, t in traced.items()},
    }, indent=1))


if __name__ == "__main__":
    main()
