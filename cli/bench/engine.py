"""The engine offline: apply and render speed on the simulator's realistic mix, against
decoding the same JSON lines into typed records (work every consumer has to do).

Validation, typed records and apply are the Python work the pipeline does for every
event before any Kafka or Faust cost; their sum bounds its throughput from above
(``python_bound_events_per_s``), whatever the plumbing around them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import orjson


def measure_engine(events: list[dict[str, Any]]) -> dict:
    """Validation, decoding, engine apply and a full render over ``events`` (the
    throughput part's events, so the bound applies to that run)."""
    from sales_scorecard.core.engine import ScorecardEngine
    from sales_scorecard.schemas.records import record_from_event
    from sales_scorecard.schemas.validation import EventValidator
    from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

    lines = [orjson.dumps(e) for e in events]
    topics = [TOPIC_FOR_TYPE[e["type"]].name for e in events]
    validator = EventValidator()
    started = time.perf_counter()
    for topic, line in zip(topics, lines, strict=True):
        validator.validate(topic, line)
    validate = time.perf_counter() - started
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
    # A clock refresh one day later: what the worker renders when only the clock moved
    # (the current periods and every trailing window), after a render of every key.
    as_of = engine.clock()
    assert as_of is not None  # events were applied
    engine.wall_clock = as_of + timedelta(days=1)
    engine.touch_clock()
    refreshed = engine.take_dirty()
    started = time.perf_counter()
    for key in refreshed:
        engine.render(*key)
    refresh = time.perf_counter() - started
    return {
        "events": len(lines),
        "scorecard_keys": len(keys),
        "validate_events_per_s": round(len(lines) / validate),
        "decode_events_per_s": round(len(lines) / decode),
        "python_bound_events_per_s": round(len(lines) / (validate + decode + apply)),
        "apply_events_per_s": round(len(lines) / apply),
        "render_keys_per_s": round(len(keys) / render),
        "refresh_keys": len(refreshed),
        "refresh_render_keys_per_s": round(len(refreshed) / refresh),
        "apply_vs_decode": round(decode / apply, 3),
    }
