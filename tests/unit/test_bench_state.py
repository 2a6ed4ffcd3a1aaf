"""The in-process state part of the benchmark: the memory part's history through the stage."""

from __future__ import annotations

import pytest

from sales_scorecard.cli.bench.report import rows
from sales_scorecard.cli.bench.state import PartitionedShape, SingleShape, measure_traced
from sales_scorecard.core.labels import is_month
from sales_scorecard.streams.fact_routes import partition_of


def test_the_history_is_digested_and_every_rep_month_published() -> None:
    shape = SingleShape(reps=4, months=2)
    shape.digest()
    [stage] = shape.stages()
    assert stage.pending() == 0 and not stage.boards_pending
    months = {key for key in stage.tables.emitted if key.startswith("rep:") and is_month(key.rsplit(":", 1)[1])}
    assert months == {f"rep:r{r:05d}:{m}" for r in range(4) for m in ("2025-11", "2025-12")}
    assert len(stage.tables.facts) >= 1  # the rows of facts the worker would write to RocksDB


def test_the_traced_figures_split_what_the_stage_holds_into_its_parts() -> None:
    got = measure_traced(reps=3, months=2)
    parts = got["parts"]
    assert parts["tables (RocksDB in the worker)"] > 0 and parts["board cache"] > 0 and parts["engine.buckets"] > 0
    assert got["engine_bytes_per_rep_period"] == sum(v for k, v in parts.items() if k.startswith("engine"))
    assert got["held_without_tables"] == got["held_bytes_per_rep_period"] - parts["tables (RocksDB in the worker)"]


def test_the_partitioned_stages_publish_every_rep_month_in_the_partition_of_its_rep() -> None:
    shape = PartitionedShape(reps=6, months=2, partitions=3)
    shape.digest()
    (_, [org]), (_, reps), (_, teams) = shape.groups
    assert not any(stage.pending() or stage.boards_pending for stage in shape.stages())
    for partition, stage in enumerate(reps):
        emitted = stage.tables.emitted
        months = {key for key in emitted if key.startswith("rep:") and is_month(key.rsplit(":", 1)[1])}
        assert months == {f"rep:r{r:05d}:{m}" for r in range(6) if partition_of(f"r{r:05d}", 3) == partition
                          for m in ("2025-11", "2025-12")}
    assert {key.split(":")[0] for key in org.tables.emitted} == {"company"}  # no rep, no team
    assert {key.split(":")[0] for stage in teams for key in stage.tables.emitted} == {"team"}


def test_the_partitioned_parts_are_named_by_their_stage_and_sum_to_the_totals() -> None:
    got = measure_traced(reps=6, months=2, stages="partitioned", partitions=3)
    parts = got["parts"]
    groups = ("org stage", "rep stages", "team stages")
    for group in groups:
        assert parts[f"{group}: tables (RocksDB in the worker)"] > 0 and parts[f"{group}: engine.buckets"] > 0
        assert parts[f"{group}: engine.deals"] > 0  # the facts three times
    assert got["engine_bytes_per_rep_period"] == sum(v for k, v in parts.items() if ": engine" in k)
    tables = sum(parts[f"{group}: tables (RocksDB in the worker)"] for group in groups)
    assert got["held_without_tables"] == got["held_bytes_per_rep_period"] - tables


@pytest.mark.parametrize(("stages", "title", "part"), [
    (None, "state in process, 2,000 reps x 13 months", "board cache"),  # a report from before the shapes
    ("single", "state in process, 2,000 reps x 13 months", "board cache"),
    ("partitioned", "state in process, partitioned stages, 2,000 reps x 13 months", "rep stages: engine._derived"),
])
def test_the_report_lists_the_state_figures_under_their_shape(stages: str | None, title: str, part: str) -> None:
    result = {"state": {"reps": 2000, "months": 13, "rep_periods": 26000,
                        **({"stages": stages} if stages else {}),
                        "rss": {"peak_bytes_per_rep_period": 6577, "end_bytes_per_rep_period": 6500},
                        "traced": {"peak_bytes_per_rep_period": 6130, "held_bytes_per_rep_period": 6105,
                                   "held_without_tables": 3519, "engine_bytes_per_rep_period": 2513,
                                   "parts": {part: 931}}}}
    got = dict(rows(result))
    assert got[f"{title}: peak / final RSS above the start, per rep-period (dict tables counted)"] == "6,577 / 6,500 B"
    assert got[f"{title}: traced peak / held / held without the tables, per rep-period"] == "6,130 / 6,105 / 3,519 B"
    assert got[f"{title}: held by {part}"] == "931 B"


def test_without_a_team_stage_the_org_stage_publishes_the_teams_and_each_group_is_counted() -> None:
    shape = PartitionedShape(reps=6, months=2, partitions=3, team_stage=False)
    shape.digest()
    assert [name for name, _ in shape.groups] == ["org stage", "rep stages"]
    (_, [org]), _ = shape.groups
    assert {key.split(":")[0] for key in org.tables.emitted} == {"company", "team"}
    assert shape.team_cost.messages == 0 and shape.rep_cost.facts >= shape.org_cost.facts > 0
    assert shape.org_cost.cpu_seconds > 0 and shape.rep_cost.cpu_seconds > 0
