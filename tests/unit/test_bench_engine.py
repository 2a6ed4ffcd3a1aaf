"""The engine part's measures of the stages in process (``cli/bench/engine.py``): the single
stage on time, with the latency part's load it uses (``cli/bench/latency.py``), and the
partitioned stages' cost per stage."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

from sales_scorecard.cli.bench.engine import measure_engine, measure_partitioned_stages, measure_stage_on_time
from sales_scorecard.cli.bench.latency import roster, steady_history
from sales_scorecard.cli.bench.load import realistic_events, validated
from sales_scorecard.cli.bench.report import rows
from sales_scorecard.cli.bench.state import PartitionedShape


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


def test_the_partitioned_stages_cost_is_counted_per_stage_from_what_each_was_handed() -> None:
    events = realistic_events(3000)
    with_teams = measure_partitioned_stages(events, partitions=3, team_stage=True)
    assert with_teams["org_facts_per_event"] == 1.0  # every fact reaches the org stage, once
    # nearly every fact names a rep (team and company targets do not); won deals go to more partitions
    assert with_teams["rep_facts_per_event"] > 0.9 and with_teams["team_facts_per_event"] > 0.5
    parts = [with_teams[f"{name}_cpu_us_per_event"] for name in ("org", "rep", "team")]
    assert min(parts) > 0 and abs(sum(parts) - with_teams["cpu_us_per_event"]) <= 0.2  # rounding of each part
    assert abs(with_teams["org_ceiling_events_per_s"] * with_teams["org_cpu_us_per_event"] / 1e6 - 1) < 0.01
    assert 0 < with_teams["org_boards_share"] < 1  # the org stage publishes the boards, from the partitions' rows
    without = measure_partitioned_stages(events, partitions=3, team_stage=False)
    assert "team_cpu_us_per_event" not in without and "team_facts_per_event" not in without
    # what the rep partitions are sent does not depend on the team stage
    assert without["rep_facts_per_event"] == with_teams["rep_facts_per_event"]


def test_the_report_names_each_partitioned_stage_and_the_ratio_to_the_single_stage() -> None:
    split = {"partitions": 4, "team_stage": True, "cpu_us_per_event": 206.8, "cpu_over_single": 3.76,
             "org_cpu_us_per_event": 77.6, "org_facts_per_event": 1.0, "rep_cpu_us_per_event": 70.8,
             "rep_facts_per_event": 1.163, "team_cpu_us_per_event": 58.4, "team_facts_per_event": 1.15,
             "org_ceiling_events_per_s": 12889, "org_boards_share": 0.0456}
    shown = dict(rows({"engine": {"apply_events_per_s": 1, "render_keys_per_s": 1, "partitioned": split}}))
    assert shown["engine: the partitioned stages (4 partitions, team stage) digesting the events as a backlog, "
                 "CPU per event, summed (offline)"] == "206.8 us"
    assert shown["engine: the org stage (one partition), CPU per event"] == "77.6 us"
    assert shown["engine: the team partitions, facts handed per event"] == "1.15"
    assert shown["engine: the org stage's ceiling on one core (events/s its CPU per event allows)"] == "12,889 ev/s"
    assert shown["engine: the org stage's share of its time in leaderboard snapshots"] == "4.6 %"
    del split["team_cpu_us_per_event"], split["team_facts_per_event"]
    split["team_stage"] = False
    shown = dict(rows({"engine": {"apply_events_per_s": 1, "render_keys_per_s": 1, "partitioned": split}}))
    assert not any("team partitions" in name for name in shown)
    assert "engine: the partitioned stages (4 partitions) digesting the events as a backlog, CPU per event, " \
           "summed (offline)" in shown


def test_the_engine_part_puts_the_partitioned_stages_beside_the_single_stage_in_the_same_run() -> None:
    got = measure_engine(realistic_events(1500), partitions=2, team_stage=False)
    assert 0 < got["stage_boards_share"] < 1
    partitioned = got["partitioned"]
    assert partitioned["partitions"] == 2 and partitioned["team_stage"] is False
    assert partitioned["cpu_over_single"] == round(partitioned["cpu_us_per_event"] / got["stage_cpu_us_per_event"], 3)
    assert "partitioned" not in measure_engine(realistic_events(200))


def test_each_stage_is_charged_its_own_cpu_and_every_message_carries_the_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    from sales_scorecard.streams.rep_stage import RepPartitionStage

    apply = RepPartitionStage._apply

    async def slow_apply(self: RepPartitionStage, engine: Any, payload: dict[str, Any]) -> bool:
        spin_until = time.process_time() + 0.002  # 2 ms of CPU per fact a rep partition applies
        while time.process_time() < spin_until:
            pass
        return await apply(self, engine, payload)

    monkeypatch.setattr(RepPartitionStage, "_apply", slow_apply)
    got = measure_partitioned_stages(realistic_events(300), partitions=2, team_stage=True)
    assert got["rep_cpu_us_per_event"] >= 2000 * got["rep_facts_per_event"]
    assert got["org_cpu_us_per_event"] < 1000 and got["team_cpu_us_per_event"] < 1000


def test_the_shape_hands_every_stage_the_lag_it_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from sales_scorecard.streams.aggregation import AggregationStage

    handed: list[tuple[str, float]] = []
    on_batch = AggregationStage.on_batch

    async def spy(self: AggregationStage, batch: Any, offset: int | None = None, lag: float = 0.0) -> None:
        handed.append((type(self).__name__, lag))
        await on_batch(self, batch, offset, lag)

    monkeypatch.setattr(AggregationStage, "on_batch", spy)
    shape = PartitionedShape(reps=4, months=1, partitions=2, lag=7.5)
    asyncio.run(shape.feed([list(validated(realistic_events(200), "CNY"))]))
    assert {name for name, _ in handed} == {"OrgStage", "RepPartitionStage", "TeamPartitionStage"}
    assert {lag for _, lag in handed} == {7.5}
