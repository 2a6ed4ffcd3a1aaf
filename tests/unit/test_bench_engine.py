"""The engine part's measure of the single stage on time (``cli/bench/engine.py``) and the
latency part's load it uses (``cli/bench/latency.py``)."""

from __future__ import annotations

from collections import Counter

from sales_scorecard.cli.bench.engine import measure_stage_on_time
from sales_scorecard.cli.bench.latency import roster, steady_history


def test_the_latency_parts_reps_are_in_teams_of_ten() -> None:
    assert Counter(e["team_id"] for e in roster(200)) == {f"t{n:02d}": 10 for n in range(20)}
    assert len({e["team_id"] for e in roster(10_000)}) == 1_000
    assert len({e["team_id"] for e in roster(5)}) == 1
    history = steady_history(100, 2, 40)
    assert [e["type"] for e in history[:40]] == ["roster"] * 40 and len(history) == 240


def test_on_time_the_stage_reports_its_cpu_the_loop_it_held_and_its_boards_without_the_roster() -> None:
    got = measure_stage_on_time(200, seconds=2, reps=40)
    assert (got["on_time_rate"], got["on_time_reps"]) == (200, 40)
    assert got["on_time_stage_cpu_us_per_event"] > 0 and got["on_time_updates_sent"] > 0
    assert 0 < got["on_time_held_ms_p99"] <= got["on_time_held_ms_max"]
    # every won deal moves a board, and each publication is timed
    assert 0 < got["on_time_boards_share"] < 1
