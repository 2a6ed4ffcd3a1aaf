"""Pure pieces of the benchmark: percentiles, report rows, the state history."""

from __future__ import annotations

from collections import Counter

from sales_scorecard.cli.bench.latency import percentile
from sales_scorecard.cli.bench.load import state_events
from sales_scorecard.cli.bench.report import markdown, rows
from sales_scorecard.cli.bench.throughput import pipeline_ceiling


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_state_history_makes_one_scorecard_per_rep_and_month() -> None:
    events = list(state_events(reps=12, months=3, start="2025-11"))
    kinds = Counter(e["type"] for e in events)
    assert kinds == {"roster": 12, "deal": 36, "activity": 36}
    months = {(e["rep_id"], e["closed_at"][:7]) for e in events if e["type"] == "deal"}
    assert len(months) == 36 and {m for _, m in months} == {"2025-11", "2025-12", "2026-01"}
    assert len({e["event_id"] for e in events}) == len(events)


def test_report_lists_ratios_and_targets() -> None:
    result = {
        "when": "x", "machine": "m", "cpus": 2, "python": "3.11", "parameters": {"events": 10},
        "throughput": {"ceiling": {"events_per_s": 1000}, "baseline": {"events_per_s": 100},
                       "faust_floor": {"events_per_s": 200},
                       "pipeline": {"events_per_s": 50}, "c_over_a": 0.05, "c_over_b": 0.5, "c_over_floor": 0.25},
    }
    got = dict(rows(result))
    assert got["c/b"] == "0.5"
    assert got["c/floor (target >= 0.5)"] == "0.25"
    assert got["throughput a: bare aiokafka decode"] == "1,000 ev/s"
    assert "| c/a | 0.05 |" in markdown(result)
    assert not any(name.startswith("upper bound") for name in got)  # needs the engine part


def test_report_bounds_c_over_b_by_the_offline_python_work() -> None:
    result = {
        "throughput": {"ceiling": {"events_per_s": 1000}, "baseline": {"events_per_s": 2500},
                       "pipeline": {"events_per_s": 700}, "c_over_a": 0.7, "c_over_b": 0.28},
        "engine": {"apply_events_per_s": 8000, "render_keys_per_s": 3000, "python_bound_events_per_s": 5500},
    }
    got = dict(rows(result))
    assert got["upper bound of c/b without any Kafka or Faust cost"] == "2.2"
    assert got["engine: validate + decode + apply, the pipeline's upper bound (offline)"] == "5,500 ev/s"


def test_pipeline_ceiling_adds_per_event_costs() -> None:
    # 100 µs per Faust pass twice + 100 µs of Python work = 300 µs: 3,333 ev/s at best.
    assert round(pipeline_ceiling(10_000, 10_000)) == 3333
    assert round(pipeline_ceiling(10_000, 10_000, passes=1)) == 5000


def test_report_bounds_c_over_b_with_two_faust_passes_at_the_floor() -> None:
    result = {
        "throughput": {"ceiling": {"events_per_s": 100_000}, "baseline": {"events_per_s": 2_000},
                       "faust_floor": {"events_per_s": 10_000},
                       "pipeline": {"events_per_s": 700}, "c_over_a": 0.007, "c_over_b": 0.35},
        "engine": {"apply_events_per_s": 12_000, "render_keys_per_s": 3000, "python_bound_events_per_s": 10_000},
    }
    got = dict(rows(result))
    assert got["Faust floor: the same agent, no table write"] == "10,000 ev/s"
    assert got["upper bound of c/b without any Kafka or Faust cost"] == "5.0"
    bound = "upper bound of c/b with {} at the floor's cost (no forward, changelog or render)"
    assert got[bound.format("two Faust passes per event")] == "1.67"  # 3,333 / 2,000
    assert got[bound.format("one Faust pass per event (this design)")] == "2.5"  # 5,000 / 2,000
