"""``scorecard bench``: measured figures, written to ``bench/results/``.

This first part measures the pure engine offline on the simulator's realistic mix,
against a baseline measured in the same run on the same events: decoding the JSON
lines into typed records (work every consumer of these events has to do). Figures are
ratios against that baseline because these machines are noisy. The broker-based
throughput, latency, memory and recovery benchmarks of issue #8 come on top of it.
"""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import click
import orjson

from sales_scorecard.cli.simulation import SimulationConfig, simulate


def measure_engine(seed: int, reps: int, months: int) -> dict:
    """Decode baseline, engine apply and full render, on one simulated history."""
    from sales_scorecard.core.engine import ScorecardEngine
    from sales_scorecard.schemas.records import record_from_event

    lines = [orjson.dumps(e) for e in simulate(SimulationConfig(seed=seed, reps=reps, months=months))]
    started = time.perf_counter()
    records = [record_from_event(orjson.loads(line)) for line in lines]
    decode = time.perf_counter() - started
    engine = ScorecardEngine()
    started = time.perf_counter()
    for record in records:
        engine.apply(record)
    apply = time.perf_counter() - started
    keys = engine.take_dirty()
    started = time.perf_counter()
    for key in keys:
        engine.render(*key)
    render = time.perf_counter() - started
    return {
        "events": len(lines),
        "scorecard_keys": len(keys),
        "decode_events_per_s": round(len(lines) / decode),
        "apply_events_per_s": round(len(lines) / apply),
        "render_keys_per_s": round(len(keys) / render),
        "apply_vs_decode": round(decode / apply, 3),
    }


@click.command("bench")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--reps", type=int, default=100, show_default=True)
@click.option("--months", type=int, default=5, show_default=True)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("bench/results"),
              show_default=True)
def command(seed: int, reps: int, months: int, out_dir: Path) -> None:
    """Measure the engine against a decode baseline; print a table, write JSON and Markdown."""
    figures = measure_engine(seed, reps, months)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    result = {"when": stamp, "machine": platform.platform(), "python": platform.python_version(),
              "seed": seed, "reps": reps, "months": months, "engine": figures}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"engine-{stamp}.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    rows = "\n".join(f"| {k} | {v} |" for k, v in figures.items())
    table = f"| figure | value |\n|---|---|\n{rows}\n"
    (out_dir / f"engine-{stamp}.md").write_text(f"# Engine benchmark {stamp}\n\n{table}")
    click.echo(table)
