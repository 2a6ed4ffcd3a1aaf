"""The in-process state part of the benchmark: the memory part's history through the stage."""

from __future__ import annotations

from sales_scorecard.cli.bench.report import rows
from sales_scorecard.cli.bench.state import digested_stage, measure_traced
from sales_scorecard.core.labels import is_month


def test_the_history_is_digested_and_every_rep_month_published() -> None:
    stage, digest = digested_stage(reps=4, months=2)
    digest()
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


def test_the_report_lists_the_state_figures() -> None:
    result = {"state": {"reps": 2000, "months": 13, "rep_periods": 26000,
                        "rss": {"peak_bytes_per_rep_period": 6577, "end_bytes_per_rep_period": 6500},
                        "traced": {"peak_bytes_per_rep_period": 6130, "held_bytes_per_rep_period": 6105,
                                   "held_without_tables": 3519, "engine_bytes_per_rep_period": 2513,
                                   "parts": {"board cache": 931}}}}
    got = dict(rows(result))
    what = "state in process, 2,000 reps x 13 months"
    assert got[f"{what}: peak / final RSS above the start, per rep-period (dict tables counted)"] == "6,577 / 6,500 B"
    assert got[f"{what}: traced peak / held / held without the tables, per rep-period"] == "6,130 / 6,105 / 3,519 B"
    assert got[f"{what}: held by board cache"] == "931 B"
