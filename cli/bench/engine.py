"""The engine offline: apply and render speed on the simulator's realistic mix, against
decoding the same JSON lines into typed records (work every consumer has to do)."""

from __future__ import annotations

import time

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
