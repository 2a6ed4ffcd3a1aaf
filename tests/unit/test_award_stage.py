"""Awards decided by the aggregation stage at a close (contract §11), over dict tables."""

from __future__ import annotations

from pathlib import Path

import orjson

from sales_scorecard.core.award_figures import closed_period, periods_closed_by, periods_due
from sales_scorecard.core.awards import decide, load_awards
from sales_scorecard.streams.aggregation import AggregationStage, StageOutputs, StageTables
from sales_scorecard.streams.fact_batches import Batch
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.settings import Settings
from tests import factories as f
from tests.unit.test_aggregation_stage import Outputs, run

NOVEMBER = [
    f.roster("r1", "t1", event_id="roster-r1"),
    f.roster("r2", "t1", event_id="roster-r2"),
    f.target("rep", "r1", "2026-11", "100000.00"),
    f.target("rep", "r2", "2026-11", "100000.00"),
    f.deal("d1", "r1", "c1", "120000.00", event_id="deal-d1"),
    f.deal("d2", "r2", "c2", "50000.00", event_id="deal-d2"),
]
BONUS_PLAN = """awards:
  - {award: star_rep, rule: top_rep_score, period: month, min_attainment: "1.0", bonus: "2000.00"}
"""


class AwardOutputs(Outputs):
    """``Outputs`` with the ``sales.awards`` sender."""

    def __init__(self) -> None:
        super().__init__()
        self.sent["awards"] = []

    def stage_outputs(self) -> StageOutputs:
        outputs = super().stage_outputs()

        async def send(key: bytes, value: bytes | None) -> None:
            self.sent["awards"].append((key.decode(), None if value is None else orjson.loads(value)))

        outputs.awards = send
        return outputs


def new_tables() -> StageTables:
    return StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={}, awards={})


def stage_over(tables: StageTables, outputs: Outputs, award_plan: str = "") -> AggregationStage:
    settings = Settings(coalesce_ms=0, leaderboard_ms=0, store="memory", award_plan=award_plan)
    ticks = iter(range(0, 10**9, 10))
    return AggregationStage(settings, tables, outputs.stage_outputs(), Metrics(), monotonic=lambda: next(ticks))


def award_ids(outputs: Outputs) -> list[str]:
    return [key for key, _ in outputs.sent["awards"]]


def test_a_month_close_emits_its_awards_once_keyed_by_event_id() -> None:
    tables, outputs = new_tables(), AwardOutputs()
    stage = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    assert outputs.sent["awards"] == []  # nothing before the close
    run(stage.on_batch(Batch([f.close_period("2026-11")]), offset=1))
    assert "award:star_rep:2026-11:r1" in award_ids(outputs)
    assert all(key == event["event_id"] for key, event in outputs.sent["awards"])
    # What the stage sent is what core/awards.py decides over the closed month's figures.
    assert stage.engine is not None
    offline = decide(stage.award_plan, closed_period(stage.engine, "2026-11"), "at")
    assert award_ids(outputs) == [e["event_id"] for e in offline.events]
    assert [e["event_id"] for e in tables.awards["2026-11"]] == award_ids(outputs)
    # A second close of the month emits nothing.
    run(stage.on_batch(Batch([f.close_period("2026-11")]), offset=2))
    assert award_ids(outputs) == [e["event_id"] for e in offline.events]


def test_december_decides_the_month_the_quarter_and_the_year_and_november_not_again() -> None:
    tables, outputs = new_tables(), AwardOutputs()
    stage = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    november = award_ids(outputs)
    run(stage.on_batch(Batch([f.close_period("2026-12")]), offset=1))
    assert set(tables.awards) == {"2026-11", "2026-12", "2026-Q4", "2026"}
    later = award_ids(outputs)[len(november):]
    assert not any(":2026-11:" in key for key in later)
    assert any(key.startswith("award:top_10_percent:2026:") for key in later)


def test_a_rebuilt_stage_resends_the_recorded_awards_unchanged_and_decides_none_again() -> None:
    tables, outputs = new_tables(), AwardOutputs()
    run(stage_over(tables, outputs).on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    assert award_ids(outputs) == ["award:star_rep:2026-11:r1"]
    again = AwardOutputs()
    rebuilt = stage_over(tables, again)
    # a tick: rebuild from the tables; the recorded events go out again (a killed worker can
    # leave the record without its sends), the same ids with the same content
    run(rebuilt.on_batch(Batch(), offset=1))
    assert again.sent["awards"] == outputs.sent["awards"]
    run(rebuilt.on_batch(Batch([f.close_period("2026-11")]), offset=2))  # the close redelivered
    assert again.sent["awards"] == outputs.sent["awards"]  # nothing decided again


def test_a_crash_before_the_record_resends_the_same_ids_and_pays_no_bonus_twice(tmp_path: Path) -> None:
    plan = tmp_path / "awards.yaml"
    plan.write_text(BONUS_PLAN)
    tables, outputs = new_tables(), AwardOutputs()
    run(stage_over(tables, outputs, str(plan)).on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    del tables.awards["2026-11"]  # sent and paid, then the worker died before recording the period
    again = AwardOutputs()
    run(stage_over(tables, again, str(plan)).on_batch(Batch(), offset=1))
    assert award_ids(again) == award_ids(outputs) == ["award:star_rep:2026-11:r1"]
    assert again.sent["awards"] == outputs.sent["awards"]  # the same events: emitted_at is the close's
    assert outputs.sent["awards"][0][1]["emitted_at"] == "2026-11-30T16:00:00.000Z"
    # the bonus is in the paid state: its adjustment is sent again (its send may be what the
    # crash lost), the same id and figures, and not paid again
    assert bonus_adjustments(again) == bonus_adjustments(outputs) == [R1_BONUS]
    assert tables.payroll_state["r1:2026-11"]["appeal_ids"] == ["adj:award:star_rep:2026-11:r1"]
    assert tables.payroll_state["r1:2026-11"]["appeal_commission"] == "2000.00"


def test_a_bonus_posts_one_award_adjustment_in_the_first_open_month(tmp_path: Path) -> None:
    plan = tmp_path / "awards.yaml"
    plan.write_text(BONUS_PLAN)
    tables, outputs = new_tables(), AwardOutputs()
    stage = stage_over(tables, outputs, str(plan))
    run(stage.on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    assert award_ids(outputs) == ["award:star_rep:2026-11:r1"]
    assert outputs.sent["awards"][0][1]["bonus"] == "2000.00"
    adjustments = [v for _, v in outputs.sent["payroll"] if v["type"] == "payroll.adjustment"]
    assert [(a["adjustment_id"], a["reason"], a["rep_id"], a["original_period"], a["apply_in_period"],
             a["delta_commission"], a["delta_revenue"], a["dispute_id"]) for a in adjustments] == [
        ("adj:award:star_rep:2026-11:r1", "award", "r1", "2026-11", "2026-12", "2000.00", "0.00", None)]
    assert tables.payroll_state["r1:2026-11"]["appeal_ids"] == ["adj:award:star_rep:2026-11:r1"]
    assert outputs.links == []
    # A second close and a rebuild pay nothing more.
    run(stage.on_batch(Batch([f.close_period("2026-11")]), offset=1))
    again = AwardOutputs()
    run(stage_over(tables, again, str(plan)).on_batch(Batch(), offset=2))
    assert len(adjustments) == len([v for _, v in outputs.sent["payroll"] if v["type"] == "payroll.adjustment"])
    # the rebuild sends the recorded award and its adjustment again, unchanged, and pays nothing more
    assert again.sent["awards"] == outputs.sent["awards"]
    assert [(k, {**v, "posted_at": None, "emitted_at": None}) for k, v in again.sent["payroll"]] == \
        [(k, {**v, "posted_at": None, "emitted_at": None}) for k, v in outputs.sent["payroll"]
         if v["type"] == "payroll.adjustment"]
    assert tables.payroll_state["r1:2026-11"]["appeal_commission"] == "2000.00"


def test_without_an_awards_output_the_stage_decides_nothing() -> None:
    tables, outputs = new_tables(), Outputs()
    stage = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    assert tables.awards == {}


def test_periods_closed_by_a_month() -> None:
    assert periods_closed_by("2026-11") == ("2026-11",)
    assert periods_closed_by("2026-09") == ("2026-09", "2026-Q3")
    assert periods_closed_by("2026-12") == ("2026-12", "2026-Q4", "2026")
    assert periods_due({"2026-12", "2026-11"}, ["2026-11"]) == ["2026-12", "2026-Q4", "2026"]


def test_the_default_plan_loads() -> None:
    assert [a.award for a in load_awards(None)] == ["star_rep", "star_manager", "most_improved", "top_10_percent"]


def test_the_awards_route_takes_a_month_a_quarter_or_a_year() -> None:
    from sales_scorecard.streams.web import AWARD_PERIOD

    assert [p for p in ("2026", "2026-Q4", "2026-11", "2026-13", "2026-Q5", "R30D", "2026-11-01", "")
            if AWARD_PERIOD.match(p)] == ["2026", "2026-Q4", "2026-11"]


def bonus_adjustments(outputs: Outputs) -> list[tuple]:
    """(id, rep, original month, statement, delta revenue, delta commission, reason) of every award adjustment sent."""
    return [(v["adjustment_id"], v["rep_id"], v["original_period"], v["original_statement_id"], v["delta_revenue"],
             v["delta_commission"], v["reason"])
            for _, v in outputs.sent["payroll"] if v["type"] == "payroll.adjustment" and v["reason"] == "award"]


R1_BONUS = ("adj:award:star_rep:2026-11:r1", "r1", "2026-11", "stmt:r1:2026-11", "0.00", "2000.00", "award")


def test_a_rebuild_sends_a_recorded_bonus_again_with_the_same_id_and_figures(tmp_path: Path) -> None:
    # a kill -9 kept the period's record and the paid state, and lost the adjustment's send
    plan = tmp_path / "awards.yaml"
    plan.write_text(BONUS_PLAN)
    tables, outputs = new_tables(), AwardOutputs()
    run(stage_over(tables, outputs, str(plan)).on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    assert bonus_adjustments(outputs) == [R1_BONUS]
    again = AwardOutputs()
    run(stage_over(tables, again, str(plan)).on_batch(Batch(), offset=1))
    assert bonus_adjustments(again) == [R1_BONUS]
    assert [a["apply_in_period"] for _, a in again.sent["payroll"]] == ["2026-12"]
    assert tables.payroll_state["r1:2026-11"]["appeal_ids"] == ["adj:award:star_rep:2026-11:r1"]  # paid once
    assert tables.payroll_state["r1:2026-11"]["appeal_commission"] == "2000.00"


def test_a_rebuild_posts_a_recorded_bonus_whose_paid_state_was_lost(tmp_path: Path) -> None:
    # a kill -9 kept the period's record and lost the paid state written with the bonus
    plan = tmp_path / "awards.yaml"
    plan.write_text(BONUS_PLAN)
    tables, outputs = new_tables(), AwardOutputs()
    run(stage_over(tables, outputs, str(plan)).on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    tables.payroll_state["r1:2026-11"] = {**tables.payroll_state["r1:2026-11"], "appeal_ids": [],
                                          "appeal_commission": "0"}
    again = AwardOutputs()
    run(stage_over(tables, again, str(plan)).on_batch(Batch(), offset=1))
    assert bonus_adjustments(again) == [R1_BONUS]
    assert tables.payroll_state["r1:2026-11"]["appeal_ids"] == ["adj:award:star_rep:2026-11:r1"]


def test_a_recorded_bonus_whose_close_was_lost_is_posted_when_the_close_is_read_again(tmp_path: Path) -> None:
    # a kill -9 kept the period's record, and lost the paid state and the stored close
    # (its input is read again): the bonus goes out once the close is applied again
    plan = tmp_path / "awards.yaml"
    plan.write_text(BONUS_PLAN)
    closed, outputs = new_tables(), AwardOutputs()
    run(stage_over(closed, outputs, str(plan)).on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    before_close = new_tables()
    run(stage_over(before_close, AwardOutputs(), str(plan)).on_batch(Batch(NOVEMBER), offset=0))
    tables = StageTables(facts=before_close.facts, emitted={}, payroll_state={}, boards_emitted={}, alert_state={},
                         awards=closed.awards)
    again = AwardOutputs()
    stage = stage_over(tables, again, str(plan))
    run(stage.on_batch(Batch(), offset=1))  # the rebuild: November is not closed yet
    assert again.sent["awards"] == outputs.sent["awards"] and bonus_adjustments(again) == []
    run(stage.on_batch(Batch([f.close_period("2026-11")]), offset=2))  # the close, read again
    assert bonus_adjustments(again) == [R1_BONUS]
    assert again.sent["awards"] == outputs.sent["awards"]  # decided nothing again
    run(stage.on_batch(Batch([f.close_period("2026-11")]), offset=3))
    assert bonus_adjustments(again) == [R1_BONUS]  # owed once
