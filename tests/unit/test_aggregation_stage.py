"""The aggregation stage over dict tables: fact writes, duplicates, publishing, rebuilds, payroll."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from sales_scorecard.core.dirty_keys import DirtyKeys
from sales_scorecard.core.disputes import AdjustmentLink
from sales_scorecard.core.engine import scorecard_key
from sales_scorecard.core.labels import period_kind
from sales_scorecard.streams import aggregation
from sales_scorecard.streams.aggregation import MONTHS_FIRST_KEYS, AggregationStage, StageOutputs, StageTables
from sales_scorecard.streams.fact_batches import Batch
from sales_scorecard.streams.fact_log import stored_facts
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.render_budget import RenderBudget
from sales_scorecard.streams.settings import Settings
from tests import factories as f
from tests.unit.test_payroll import TEAM_PLANS, late_roster


class Outputs:
    """Records every send per topic, in order."""

    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[str, Any]]] = {
            "scorecards": [], "payroll": [], "leaderboards": [], "alerts": []}
        #: (dispute_id, adjustment_id) of every link sent to the dispute stage
        self.links: list[tuple[str, str]] = []

    def stage_outputs(self) -> StageOutputs:
        def sender(name: str):
            async def send(key: bytes, value: bytes | None) -> None:
                self.sent[name].append((key.decode(), None if value is None else orjson.loads(value)))
            return send

        async def drain() -> None:
            return None

        async def link(link: AdjustmentLink) -> None:
            self.links.append((link.dispute_id, link.adjustment_id))

        return StageOutputs(sender("scorecards"), sender("payroll"), sender("leaderboards"), sender("alerts"), drain,
                            link)


def new_tables() -> StageTables:
    return StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})


def stage_over(tables: StageTables, outputs: Outputs, commission_plan: str = "") -> tuple[AggregationStage, Metrics]:
    metrics = Metrics()
    # coalesce 0: every message flushes; the leaderboard interval 0: every flush publishes boards;
    # no clock refresh (its re-renders) within a test: the figures come from the facts alone.
    settings = Settings(coalesce_ms=0, leaderboard_ms=0, store="memory", clock_refresh_seconds=10**9,
                        commission_plan=commission_plan)
    ticks = iter(range(0, 10**9, 10))  # a clock that moves 10 s per reading: every flush is due
    return AggregationStage(settings, tables, outputs.stage_outputs(), metrics, monotonic=lambda: next(ticks)), metrics


def run(coro) -> Any:
    return asyncio.run(coro)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


NOVEMBER = [
    f.roster("r1", "t1", event_id="roster-r1"),
    f.target("rep", "r1", "2026-11", "100000.00"),
    f.deal("d1", "r1", "c1", "10000.00", event_id="deal-d1-v1"),
]


def test_a_batch_writes_its_new_facts_as_one_row_and_publishes_its_scorecards() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, metrics = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    assert len(tables.facts) == 1
    assert set(stored_facts(tables.facts)) == {"roster:roster-r1", "target:rep:r1:2026-11", "deal:d1"}
    month = {k: v for k, v in outputs.sent["scorecards"] if k == "rep:r1:2026-11"}
    assert month["rep:r1:2026-11"]["kpis"]["revenue"] == "10000.00"
    assert month["rep:r1:2026-11"]["revision"] == 1
    assert month["rep:r1:2026-11"]["event_id"] == "scorecard:rep:r1:2026-11:1"
    assert any(k.startswith("company:2026-11:") for k, _ in outputs.sent["leaderboards"])


def test_a_repeated_batch_is_counted_as_duplicates_and_publishes_nothing() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, metrics = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    rows_before, sent_before = dict(tables.facts), len(outputs.sent["scorecards"])
    run(stage.on_batch(Batch(NOVEMBER), offset=1))
    # written again (see the next test), but the same facts: nothing to publish
    assert stored_facts(tables.facts) == stored_facts(rows_before)
    assert len(outputs.sent["scorecards"]) == sent_before
    assert sample(metrics, "scorecard_duplicates_skipped_total", topic="sales.deals") == 1
    assert sample(metrics, "scorecard_duplicates_skipped_total", topic="sales.roster") == 1


def test_a_redelivered_message_stores_its_facts_again_for_a_worker_that_lost_the_first_row() -> None:
    # After a kill -9, a restarted worker's local store can keep a row whose changelog
    # record never reached Kafka; its rebuilt engine then takes the re-delivered message
    # for duplicates. The row written on the re-delivery is what the next owner, restoring
    # from the changelog alone, rebuilds those facts from.
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    first = dict(tables.facts)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # the same message again
    again = {k: v for k, v in tables.facts.items() if k not in first}
    assert set(stored_facts(again)) == {"roster:roster-r1", "target:rep:r1:2026-11", "deal:d1"}
    # a new owner with only the changelog's rows (the first one lost) has every fact
    other = new_tables()
    other.facts.update(again)
    next_owner, _ = stage_over(other, Outputs())
    run(next_owner.on_batch(Batch(), offset=1))
    assert next_owner.engine is not None and stage.engine is not None
    assert next_owner.engine.render("rep", "r1", "2026-11") == stage.engine.render("rep", "r1", "2026-11")


def test_a_second_close_of_a_closed_month_is_not_stored_over_the_first() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    close = f.close_period("2026-11")
    run(stage.on_batch(Batch([*NOVEMBER, close]), offset=0))
    later = {**close, "event_id": "close-again", "occurred_at": "2026-12-05T10:00:00+08:00"}
    run(stage.on_batch(Batch([later]), offset=1))
    assert stored_facts(tables.facts)["close:2026-11"]["occurred_at"] == close["occurred_at"]
    run(stage.on_batch(Batch([close]), offset=2))  # the applied close again: stored again
    assert sum(1 for row in tables.facts.values() for key, _ in row if key == "close:2026-11") == 2


def test_a_newer_deal_version_restates_with_the_next_revision() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    run(stage.on_batch(Batch([f.deal("d1", "r1", "c1", "12500.00", version=2)]), offset=1))
    updates = [v for k, v in outputs.sent["scorecards"] if k == "rep:r1:2026-11"]
    assert [(u["revision"], u["kpis"]["revenue"]) for u in updates] == [(1, "10000.00"), (2, "12500.00")]


def test_a_rebuilt_stage_resends_unchanged_keys_with_the_same_revision() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    first = {k: v for k, v in outputs.sent["scorecards"]}
    again = Outputs()
    rebuilt, _ = stage_over(tables, again)
    run(rebuilt.on_batch(Batch(), offset=1))  # a tick: rebuild from the tables, first flush
    resent = {k: v for k, v in again.sent["scorecards"]}
    assert resent.keys() == first.keys()
    for key, value in resent.items():
        assert (value["revision"], value["event_id"], value["kpis"]) == (
            first[key]["revision"], first[key]["event_id"], first[key]["kpis"])


def test_a_rep_whose_only_fact_moved_away_is_withdrawn() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch([f.roster("r1", "t1"), f.roster("r2", "t1"),
                              f.deal("d9", "r2", "c1", "500.00")]), offset=0))
    run(stage.on_batch(Batch([f.deal("d9", "r1", "c1", "500.00", version=2)]), offset=1))
    last = {}
    for key, value in outputs.sent["scorecards"]:
        last[key] = value
    assert last["rep:r2:2026-11"] is None  # tombstone
    assert last["rep:r1:2026-11"]["kpis"]["revenue"] == "500.00"
    assert tables.emitted["rep:r2:2026-11"][1] is None


def test_a_close_in_a_batch_pays_what_came_before_it_and_adjusts_what_came_after() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    # 5 % below target (default plan): 10,000.00 -> 500.00 at the close; a second deal of
    # 20,000.00 after the close in the same batch -> an adjustment of 1,000.00.
    run(stage.on_batch(Batch(NOVEMBER + [f.close_period("2026-11"),
                                         f.deal("d2", "r1", "c2", "20000.00", closed_at="2026-11-20T10:00:00+08:00")]),
                       offset=0))
    payroll = [v for _, v in outputs.sent["payroll"]]
    kinds = [p["type"] for p in payroll]
    assert kinds == ["payroll.statement", "payroll.adjustment"]
    assert Decimal(payroll[0]["commission"]) == Decimal("500.00")
    assert Decimal(payroll[1]["delta_commission"]) == Decimal("1000.00")
    assert tables.payroll_state["r1:2026-11"]["paid_commission"] == "1500.00"


def test_a_late_roster_entry_adjusts_a_closed_month_once_through_replays_and_a_rebuild(tmp_path) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text(TEAM_PLANS)  # 5 % by default, 10 % in team t9
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs, str(plans))
    run(stage.on_batch(Batch([f.roster("r1", "t1"), f.deal("d1", "r1", "c1", "1000.00"),
                              f.close_period("2026-11")]), offset=0))
    move = late_roster("r1", "t9", "2026-11-20T00:00:00+08:00", "late-1")
    run(stage.on_batch(Batch([move]), offset=1))
    # In t9 at November's end: 10 % of 1,000.00 = 100.00 against the 50.00 of the statement.
    payroll = [v for _, v in outputs.sent["payroll"]]
    assert [(p["type"], p.get("commission"), p.get("delta_commission"), p.get("reason")) for p in payroll] == [
        ("payroll.statement", "50.00", None, None), ("payroll.adjustment", None, "50.00", "roster_change")]
    assert tables.payroll_state["r1:2026-11"]["paid_commission"] == "100.00"
    # The entry redelivered, then a rebuild from the tables (every fact's month is a change
    # then): nothing more is paid.
    run(stage.on_batch(Batch([move]), offset=2))
    again = Outputs()
    run(stage_over(tables, again, str(plans))[0].on_batch(Batch(), offset=3))
    assert len(outputs.sent["payroll"]) == 2 and again.sent["payroll"] == []


class DeliveryCheckedState(dict):
    """A payroll state table that fails a write whose key has a payroll event still queued:
    a kill -9 after such a write would keep a paid state whose event never left."""

    def __init__(self, outputs: Outputs) -> None:
        super().__init__()
        self.outputs = outputs
        self.delivered = 0  # how many payroll sends a drain has seen through

    def __setitem__(self, key: str, value: Any) -> None:
        queued = [k for k, _ in self.outputs.sent["payroll"][self.delivered:]]
        assert key not in queued, f"paid state of {key} recorded before its event was delivered"
        super().__setitem__(key, value)


def test_a_paid_state_is_recorded_only_after_the_broker_has_its_event() -> None:
    outputs = Outputs()
    state = DeliveryCheckedState(outputs)
    tables = StageTables(facts={}, emitted={}, payroll_state=state, boards_emitted={}, alert_state={})
    stage_outputs = outputs.stage_outputs()

    async def drain() -> None:
        state.delivered = len(outputs.sent["payroll"])

    stage_outputs.drain = drain
    stage = AggregationStage(Settings(coalesce_ms=0, leaderboard_ms=0, store="memory", clock_refresh_seconds=10**9),
                             tables, stage_outputs, Metrics(), monotonic=iter(range(0, 10**9, 10)).__next__)
    run(stage.on_batch(Batch(NOVEMBER + [f.close_period("2026-11"),
                                         f.deal("d2", "r1", "c2", "20000.00", closed_at="2026-11-20T10:00:00+08:00")]),
                       offset=0))
    assert [v["type"] for _, v in outputs.sent["payroll"]] == ["payroll.statement", "payroll.adjustment"]
    assert state["r1:2026-11"]["paid_commission"] == "1500.00"


def test_tick_due_until_the_first_rebuild_then_only_with_pending_work() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    assert stage.tick_due()  # nothing loaded yet
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    assert not stage.tick_due()
    stage.on_revoked()
    assert stage.engine is None and stage.tick_due()


def test_a_fact_that_fails_is_counted_and_the_rest_of_the_batch_applies() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, metrics = stage_over(tables, outputs)
    broken = f.deal("d5", "r1", "c1", "1.00")
    broken["closed_at"] = "not a timestamp"  # validated input never holds this
    run(stage.on_batch(Batch([broken] + NOVEMBER), offset=0))
    assert sample(metrics, "scorecard_processing_errors_total", stage="aggregate") == 1
    stored = stored_facts(tables.facts)
    assert "deal:d1" in stored and "deal:d5" not in stored


def test_a_flush_that_moves_a_board_notifies_the_live_page_once() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)

    async def scenario() -> tuple[bool, bool, int]:
        seen = stage.boards_changed.version
        waiter = asyncio.create_task(stage.boards_changed.wait(seen, timeout=5))
        await stage.on_batch(Batch(NOVEMBER), offset=0)
        woke = await waiter
        seen = stage.boards_changed.version
        # the same facts again move nothing: no notification within the timeout
        await stage.on_batch(Batch(NOVEMBER), offset=1)
        quiet = await stage.boards_changed.wait(seen, timeout=0.05)
        return woke, quiet, seen

    woke, quiet, version = run(scenario())
    assert woke and not quiet and version >= 1


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_months_follow_the_short_interval_and_longer_periods_the_long_one() -> None:
    tables, outputs, clock = new_tables(), Outputs(), ManualClock()
    settings = Settings(coalesce_ms=500, coalesce_long_ms=2000, leaderboard_ms=0, store="memory")
    stage = AggregationStage(settings, tables, outputs.stage_outputs(), Metrics(), monotonic=clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # the first flush after a rebuild renders everything

    def revenue(key: str) -> str:
        return [v for k, v in outputs.sent["scorecards"] if k == key][-1]["kpis"]["revenue"]

    assert revenue("rep:r1:2026-11") == revenue("rep:r1:2026-Q4") == "10000.00"
    clock.now += 0.6  # past the short interval only
    run(stage.on_batch(Batch([f.deal("d2", "r1", "c2", "5000.00")]), offset=1))
    assert revenue("rep:r1:2026-11") == "15000.00"
    assert revenue("rep:r1:2026-Q4") == revenue("rep:r1:2026") == "10000.00"  # not yet
    assert ("rep", "r1", "2026-Q4") in stage.engine.dirty  # still marked, nothing lost
    clock.now += 2.0  # past the long interval: a tick flushes the rest
    run(stage.on_batch(Batch([]), offset=2))
    assert revenue("rep:r1:2026-Q4") == revenue("rep:r1:2026") == revenue("rep:r1:R30D") == "15000.00"
    assert not stage.engine.dirty


def test_a_drained_stage_still_renders_longer_periods_once_per_long_interval() -> None:
    """Facts a second apart leave the stage drained between them; each may not render the
    quarters and years again (the company's cost half a second at 10,000 reps)."""
    tables, outputs, clock = new_tables(), Outputs(), ManualClock()
    settings = Settings(coalesce_ms=500, coalesce_long_ms=2000, leaderboard_ms=0, store="memory",
                        clock_refresh_seconds=10**9)
    stage = AggregationStage(settings, tables, outputs.stage_outputs(), Metrics(), monotonic=clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # renders every key

    def revenue(key: str) -> str:
        return [v for k, v in outputs.sent["scorecards"] if k == key][-1]["kpis"]["revenue"]

    clock.now += 0.6
    run(stage.on_batch(Batch([f.deal("d2", "r1", "c2", "5000.00")]), offset=1))
    clock.now += 0.6  # no fact for a short interval: drained
    run(stage.on_batch(Batch([]), offset=None))
    assert stage.drained(clock.now)
    assert revenue("rep:r1:2026-11") == "15000.00"
    assert revenue("rep:r1:2026-Q4") == revenue("rep:r1:2026") == "10000.00"  # the long interval has not passed
    clock.now += 1.0  # 2.2 s after the first flush
    run(stage.on_batch(Batch([]), offset=None))
    assert revenue("rep:r1:2026-Q4") == revenue("rep:r1:2026") == "15000.00"


def test_keys_a_budget_set_aside_go_out_after_what_the_flush_took_not_after_the_interval(monkeypatch: Any) -> None:
    # 10,000 reps with a 10 s interval once waited minutes: each flush rendered 150 ms of
    # longer periods, then waited the whole interval before the next 150 ms.
    monkeypatch.setattr(aggregation, "LONG_PERIODS_BUDGET_SECONDS", 0.0)  # one longer period per flush
    tables, outputs, clock = new_tables(), Outputs(), ManualClock()
    settings = Settings(coalesce_ms=10_000, coalesce_long_ms=10_000, leaderboard_ms=0, store="memory")
    stage = AggregationStage(settings, tables, outputs.stage_outputs(), Metrics(), monotonic=clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # the first flush after a rebuild sends everything
    clock.now += 10.0
    outputs.sent["scorecards"].clear()
    run(stage.on_batch(Batch([f.deal("d2", "r1", "c2", "5000.00", event_id="deal-d2-v1")]), offset=1))
    set_aside = list(stage.set_aside)
    # rep, team and company: quarter, year, R30D and R90D each; one went out with the months
    assert len(set_aside) == 11 and all(period_kind(k[2]) != "month" for k in set_aside)
    sent_months = {k for k, v in outputs.sent["scorecards"] if period_kind(v["period"]) == "month"}
    assert sent_months == {"rep:r1:2026-11", "team:t1:2026-11", "company:*:2026-11"}

    # A month made dirty meanwhile waits its interval; the set-aside keys do not.
    run(stage.on_batch(Batch([f.deal("d3", "r1", "c3", "1000.00", event_id="deal-d3-v1")]), offset=2))
    ticks = 0
    while stage.set_aside:  # no clock move: the flushes took no time
        run(stage.on_batch(Batch(), offset=None))
        ticks += 1
        assert ticks <= len(set_aside)
    sent = [k for k, _ in outputs.sent["scorecards"]]
    # the three months and the one longer period let through by the budget, then the rest
    assert sent[3] == "rep:r1:2026-Q4" and ("rep", "r1", "2026-Q4") not in set_aside
    assert not stage.set_aside and len(sent) == 4 + len(set_aside)
    assert sorted(sent[4:]) == sorted(scorecard_key(*k) for k in set_aside)
    # Each went out once and reflects both deals (rendered after the second one).
    rep_year = [v for k, v in outputs.sent["scorecards"] if k == "rep:r1:2026"]
    assert len(rep_year) == 1 and rep_year[0]["kpis"]["revenue"] == "16000.00"
    assert ("rep", "r1", "2026-11") in stage.engine.dirty  # the month: not before its interval
    clock.now += 10.0
    run(stage.on_batch(Batch(), offset=None))
    assert [v for k, v in outputs.sent["scorecards"] if k == "rep:r1:2026-11"][-1]["kpis"]["revenue"] == "16000.00"


def slow_flush(monkeypatch: Any, seconds_per_render: float) -> tuple[AggregationStage, ManualClock]:
    """A stage (one longer period per flush) whose flush of a new deal took
    ``seconds_per_render`` of its clock per key rendered; renders are quick again after."""
    monkeypatch.setattr(aggregation, "LONG_PERIODS_BUDGET_SECONDS", 0.0)  # one longer period per flush
    tables, outputs, clock = new_tables(), Outputs(), ManualClock()
    # no clock refresh meanwhile: its re-rendered months would go first
    settings = Settings(coalesce_ms=500, coalesce_long_ms=500, leaderboard_ms=0, store="memory",
                        clock_refresh_seconds=10**9)
    stage = AggregationStage(settings, tables, outputs.stage_outputs(), Metrics(), monotonic=clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    clock.now += 1.0
    render = stage.engine.render

    def slow_render(*key: str) -> Any:
        clock.now += seconds_per_render
        return render(*key)

    monkeypatch.setattr(stage.engine, "render", slow_render)
    run(stage.on_batch(Batch([f.deal("d2", "r1", "c2", "5000.00", event_id="deal-d2-v1")]), offset=1))
    monkeypatch.setattr(stage.engine, "render", render)
    return stage, clock


def test_a_very_long_flush_holds_the_next_ones_back_by_at_most_the_spacing_cap(monkeypatch: Any) -> None:
    stage, clock = slow_flush(monkeypatch, 100.0)  # as if every month of 10,000 reps were rendered
    left = len(stage.set_aside)
    assert left > 1
    # facts keep coming (a duplicate: nothing to render), so the stage is not drained
    again = Batch([f.deal("d2", "r1", "c2", "5000.00", event_id="deal-d2-v1")])
    clock.now += aggregation.MAX_SPACING_SECONDS - 0.01
    run(stage.on_batch(again, offset=2))
    assert len(stage.set_aside) == left  # the cap has not passed yet
    clock.now += 0.02
    run(stage.on_batch(again, offset=3))
    assert len(stage.set_aside) == left - 1  # not 100 s per rendered key later


def test_once_the_facts_stop_what_a_budget_set_aside_goes_out_without_spacing(monkeypatch: Any) -> None:
    stage, clock = slow_flush(monkeypatch, 0.3)  # the flush takes about 2 s of the stage's clock
    assert stage.pacing.last_took > 1.0
    left = len(stage.set_aside)
    assert left > 2
    # While facts come (a duplicate: nothing to render), the next flush of the keys set
    # aside waits what the last one took.
    again = Batch([f.deal("d2", "r1", "c2", "5000.00", event_id="deal-d2-v1")])
    clock.now += 0.1
    run(stage.on_batch(again, offset=2))
    assert len(stage.set_aside) == left
    # No fact for a short interval: the stage is drained, and each tick renders the next
    # keys set aside at once, though the last flush took far longer than the tick's wait.
    clock.now += 0.45
    run(stage.on_batch(Batch(), offset=None))
    assert len(stage.set_aside) == left  # 0.45 s without facts: not drained yet
    clock.now += 0.1
    run(stage.on_batch(Batch(), offset=None))
    assert len(stage.set_aside) == left - 1
    clock.now += 0.01
    run(stage.on_batch(Batch(), offset=None))
    assert len(stage.set_aside) == left - 2


def test_the_timer_asks_a_leading_edge_stage_five_times_per_interval_and_at_least_every_tenth_second() -> None:
    def tick(coalesce_ms: int, stage_class: type[AggregationStage] = AggregationStage) -> float:
        settings = Settings(coalesce_ms=coalesce_ms, store="memory")
        return stage_class(settings, new_tables(), Outputs().stage_outputs(), Metrics()).tick_seconds()

    assert tick(500) == 0.1 and tick(250) == 0.05
    assert tick(10_000) == 0.1  # not every 2 s: set-aside keys go out a tick at a time once the facts stop
    assert tick(0) == 0.02

    class Cadence(AggregationStage):
        leading_edge = False

    assert tick(500, Cadence) == 0.5 and tick(10_000, Cadence) == 10.0


class TimedOutputs(Outputs):
    """Also records the stage clock's time of every scorecard send."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.sent_at: list[tuple[str, float]] = []

    def stage_outputs(self) -> StageOutputs:
        outputs = super().stage_outputs()
        record = outputs.scorecards

        async def scorecards(key: bytes, value: bytes | None) -> None:
            self.sent_at.append((key.decode(), self.clock.now))
            await record(key, value)

        outputs.scorecards = scorecards
        return outputs


def paced_stage(outputs: Outputs, clock: ManualClock) -> AggregationStage:
    settings = Settings(coalesce_ms=500, coalesce_long_ms=2000, leaderboard_ms=0, store="memory")
    return AggregationStage(settings, new_tables(), outputs.stage_outputs(), Metrics(), monotonic=clock)


def paced_after_november() -> tuple[AggregationStage, ManualClock, TimedOutputs]:
    """A paced stage 0.1 s after its first flush (NOVEMBER applied and rendered at t=100)."""
    clock = ManualClock()
    outputs = TimedOutputs(clock)
    stage = paced_stage(outputs, clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    clock.now += 0.1
    return stage, clock, outputs


def new_rep_with_a_deal(rep: str, deal: str, customer: str, amount: str) -> list[dict[str, Any]]:
    """A rep's roster entry (team t1) and one won deal of theirs."""
    return [f.roster(rep, "t1", event_id=f"roster-{rep}"),
            f.deal(deal, rep, customer, amount, event_id=f"deal-{deal}-v1")]


def test_a_month_not_rendered_within_the_interval_goes_out_after_the_message_that_changed_it() -> None:
    clock = ManualClock()
    outputs = TimedOutputs(clock)
    stage = paced_stage(outputs, clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # t=100: the first flush renders everything
    clock.now += 0.1  # the short interval has not passed since that flush
    r2 = new_rep_with_a_deal("r2", "d2", "c2", "700.00")
    run(stage.on_batch(Batch(r2), offset=1))
    after_r2 = {k for k, at in outputs.sent_at if at == clock.now}
    # r2's month had never been rendered: it goes out now; the team's and company's
    # months were rendered 0.1 s ago and wait for their interval; so do the longer periods.
    assert after_r2 == {"rep:r2:2026-11"}
    assert ("team", "t1", "2026-11") in stage.engine.dirty and ("company", "*", "2026-11") in stage.engine.dirty
    clock.now += 0.3  # 0.4 s after the first flush: still within the team month's interval
    run(stage.on_batch(Batch(), offset=None))
    assert not [k for k, at in outputs.sent_at if at == clock.now]
    clock.now += 0.15  # 0.55 s: its interval passed
    run(stage.on_batch(Batch(), offset=None))
    team = [v for k, v in outputs.sent["scorecards"] if k == "team:t1:2026-11"]
    assert [t["kpis"]["revenue"] for t in team] == ["10000.00", "10700.00"]


def test_a_slow_regular_flush_does_not_hold_the_single_stages_leading_edge_back(monkeypatch: Any) -> None:
    # The single stage has its loop to itself and no render budget: a loaded machine makes
    # every flush slow, and counting its regular ones paused the leading edge most of the time.
    clock = ManualClock()
    outputs = TimedOutputs(clock)
    stage = paced_stage(outputs, clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # t=100
    render = stage.engine.render

    def slow_render(*key: str) -> Any:
        clock.now += 0.3
        return render(*key)

    monkeypatch.setattr(stage.engine, "render", slow_render)
    clock.now = 100.6  # the cadence: a regular flush of r1's, t1's and the company's months
    run(stage.on_batch(Batch([f.deal("d2", "r1", "c2", "500.00", event_id="deal-d2-v1")]), offset=1))
    monkeypatch.setattr(stage.engine, "render", render)
    assert clock.now == pytest.approx(101.5)  # three months of 0.3 s
    clock.now += 0.01  # r2's month was never rendered: it goes out after its message
    r2 = new_rep_with_a_deal("r2", "d3", "c3", "700.00")
    run(stage.on_batch(Batch(r2), offset=2))
    assert {k for k, at in outputs.sent_at if at == clock.now} == {"rep:r2:2026-11"}


def test_behind_by_more_than_the_interval_months_wait_for_the_cadence() -> None:
    stage, clock, outputs = paced_after_november()
    r2 = new_rep_with_a_deal("r2", "d2", "c2", "700.00")
    run(stage.on_batch(Batch(r2), offset=1, lag=0.6))  # sent 0.6 s ago: a backlog
    assert not [k for k, at in outputs.sent_at if at == clock.now]  # no leading-edge flush
    clock.now += 0.2
    run(stage.on_batch(Batch(), offset=None, lag=0.0))  # a fresh tick: facts may still be waiting
    assert not [k for k, at in outputs.sent_at if at == clock.now]
    clock.now += 0.25  # the cadence: the interval since the last flush has passed
    run(stage.on_batch(Batch(), offset=None))
    assert "rep:r2:2026-11" in {k for k, at in outputs.sent_at if at == clock.now}
    assert stage.behind
    clock.now += 0.6  # no facts for more than an interval: nothing is waiting any more
    run(stage.on_batch(Batch(), offset=None, lag=0.0))
    assert not stage.behind
    run(stage.on_batch(Batch([f.activity("r2", "call")]), offset=2, lag=0.6))  # late facts again
    assert stage.behind
    clock.now += 0.1
    r3 = new_rep_with_a_deal("r3", "d3", "c3", "100.00")
    run(stage.on_batch(Batch(r3), offset=3, lag=0.05))  # on time again: the leading edge is back
    assert "rep:r3:2026-11" in {k for k, at in outputs.sent_at if at == clock.now}


@pytest.mark.parametrize("seed", range(6))
def test_leading_edge_never_sends_a_key_twice_within_its_interval_and_ends_with_the_latest_state(seed: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock()
    outputs = TimedOutputs(clock)
    stage = paced_stage(outputs, clock)
    reps = [f"r{n}" for n in range(4)]
    facts = f.deals_and_calls(rng, reps, 120)
    position = 0
    while position < len(facts):
        size = rng.randint(0, 4)  # 0: a tick
        run(stage.on_batch(Batch(facts[position:position + size]), offset=position))
        position += size
        clock.now += rng.choice([0.0, 0.01, 0.05, 0.2, 0.45, 0.6])
    for _ in range(8):  # the timer goes on until nothing is pending
        clock.now += 0.5
        run(stage.on_batch(Batch(), offset=None))
    assert not stage.engine.dirty and not stage.set_aside

    last: dict[str, float] = {}
    for key, at in outputs.sent_at:
        assert key not in last or at - last[key] >= 0.5, (key, last.get(key), at)
        last[key] = at
    # The last update of every key is what one flush of every fact at once publishes.
    whole = Outputs()
    oracle, _ = stage_over(new_tables(), whole)
    run(oracle.on_batch(Batch(facts), offset=0))
    expected = {k: v for k, v in whole.sent["scorecards"]}
    got = {k: v for k, v in outputs.sent["scorecards"]}
    assert sorted(got) == sorted(expected)
    volatile = {"as_of": None, "emitted_at": None, "revision": None, "event_id": None}  # when, and how many before
    for key, value in expected.items():
        assert {**got[key], **volatile} == {**value, **volatile}, key


class DrainCounting(Outputs):
    """Also records, at each drain, how many scorecards had been sent and of which kinds."""

    def __init__(self) -> None:
        super().__init__()
        self.drains: list[set[str]] = []

    def stage_outputs(self) -> StageOutputs:
        outputs = super().stage_outputs()

        async def drain() -> None:
            self.drains.append({period_kind(v["period"]) for _, v in self.sent["scorecards"] if v})

        outputs.drain = drain
        return outputs


def test_only_a_large_flush_waits_for_the_broker_between_months_and_longer_periods() -> None:
    small, large = DrainCounting(), DrainCounting()
    stage, _ = stage_over(new_tables(), small)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # a handful of keys
    assert small.sent["scorecards"] and small.drains == []

    reps = [f"r{n:03d}" for n in range(MONTHS_FIRST_KEYS // 4)]  # 5 keys each, with the team and company
    facts = [f.roster(r, "t1", event_id=f"roster-{r}") for r in reps]
    facts += [f.deal(f"D-{r}", r, "c1", "1000.00") for r in reps]
    stage, _ = stage_over(new_tables(), large)
    run(stage.on_batch(Batch(facts), offset=0))
    assert large.drains and large.drains[0] == {"month"}  # the months were delivered first


def test_a_flush_out_of_budget_leaves_the_longer_periods_to_the_next_flushes(monkeypatch: Any) -> None:
    monkeypatch.setattr(aggregation, "LONG_PERIODS_BUDGET_SECONDS", 0.0)  # one longer period per flush
    later_deal = f.deal("d2", "r1", "c2", "5000.00", event_id="deal-d2-v1")

    def stage_after_november(outputs: Outputs) -> tuple[AggregationStage, Metrics]:
        stage, metrics = stage_over(new_tables(), outputs)
        run(stage.on_batch(Batch(NOVEMBER), offset=0))  # the first flush after a rebuild sends everything
        outputs.sent["scorecards"].clear()
        return stage, metrics

    outputs = Outputs()
    stage, metrics = stage_after_november(outputs)
    run(stage.on_batch(Batch([later_deal]), offset=1))
    sent = [v for _, v in outputs.sent["scorecards"] if v]
    assert {(v["scope"], v["period"]) for v in sent if period_kind(v["period"]) == "month"} == {
        ("rep", "2026-11"), ("team", "2026-11"), ("company", "2026-11")}
    assert len([v for v in sent if period_kind(v["period"]) != "month"]) == 1
    left = len(stage.set_aside)
    assert left > 0 and not stage.engine.dirty
    assert sample(metrics, "scorecard_pending_updates") == left and stage.tick_due()
    ticks = 0
    while stage.set_aside:  # each tick's flush goes on, one key at a time, without waiting for the long interval
        run(stage.on_batch(Batch(), offset=None))
        ticks += 1
        assert ticks <= left
    assert ticks == left and sample(metrics, "scorecard_pending_updates") == 0

    # A flush takes only a chunk of what waits (taking all of it cost as much as rendering).
    monkeypatch.setattr(aggregation, "SET_ASIDE_CHUNK", 2)
    chunked = Outputs()
    stage, _ = stage_after_november(chunked)
    run(stage.on_batch(Batch([later_deal]), offset=1))
    taken: list[int] = []
    discard_all = DirtyKeys.discard_all

    def counted(dirty: DirtyKeys, keys: list[Any]) -> None:
        taken.append(len(keys))
        discard_all(dirty, keys)

    monkeypatch.setattr(DirtyKeys, "discard_all", counted)
    while stage.set_aside:
        run(stage.on_batch(Batch(), offset=None))
    assert taken and max(taken) <= 2
    assert sorted(k for k, _ in chunked.sent["scorecards"]) == sorted(k for k, _ in outputs.sent["scorecards"])

    monkeypatch.setattr(aggregation, "LONG_PERIODS_BUDGET_SECONDS", 60.0)
    whole = Outputs()
    other, _ = stage_after_november(whole)
    run(other.on_batch(Batch([later_deal]), offset=1))
    assert sorted(k for k, _ in outputs.sent["scorecards"]) == sorted(k for k, _ in whole.sent["scorecards"])


def appeal_fact(dispute_id: str, amount: str, rep_id: str = "r1", month: str = "2026-11") -> dict[str, Any]:
    """The fact the dispute stage sends for an upheld decision (agents/disputes.py)."""
    return {"type": "appeal_adjustment", "adjustment_id": f"adj:appeal:{dispute_id}", "dispute_id": dispute_id,
            "rep_id": rep_id, "original_period": month, "delta_commission": amount, "reason": "appeal"}


def test_an_appeal_waits_for_its_month_pays_once_after_the_statement_and_survives_a_rebuild() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER + [appeal_fact("D-1", "120.00")]), offset=0))
    assert outputs.sent["payroll"] == []  # November is open: the request waits
    assert "appeal:D-1" in stored_facts(tables.facts)
    # A restart before the close: the rebuilt ledger gets the request from the facts.
    again = Outputs()
    rebuilt, _ = stage_over(tables, again)
    run(rebuilt.on_batch(Batch([f.close_period("2026-11")]), offset=1))
    payroll = [v for _, v in again.sent["payroll"]]
    assert [p["type"] for p in payroll] == ["payroll.statement", "payroll.adjustment"]
    adjustment = payroll[1]
    assert (adjustment["adjustment_id"], adjustment["dispute_id"], adjustment["reason"]) == (
        "adj:appeal:D-1", "D-1", "appeal")
    # 500.00 by the formula (10,000.00 at 5 %), the appeal's 120.00 beside it, paid next month.
    assert (adjustment["delta_commission"], adjustment["delta_revenue"], adjustment["apply_in_period"]) == (
        "120.00", "0.00", "2026-12")
    assert again.links == [("D-1", "adj:appeal:D-1")]
    # The same request again (a redelivered decision), and another rebuild: nothing more is paid.
    run(rebuilt.on_batch(Batch([appeal_fact("D-1", "120.00")]), offset=2))
    third = Outputs()
    run(stage_over(tables, third)[0].on_batch(Batch(), offset=3))
    assert len(again.sent["payroll"]) == 2 and third.sent["payroll"] == []


def test_an_adjustment_of_a_correction_naming_a_dispute_is_linked_back() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER + [f.close_period("2026-11")]), offset=0))
    fix = f.deal("d1", "r1", "c1", "30000.00", version=2)
    run(stage.on_batch(Batch([{**fix, "dispute_id": "D-7"}]), offset=1))
    adjustment = [v for _, v in outputs.sent["payroll"]][-1]
    assert (adjustment["reason"], adjustment["dispute_id"]) == ("appeal", "D-7")
    assert outputs.links == [("D-7", adjustment["adjustment_id"])]


def rendering_slowly(monkeypatch: Any, seconds_per_key: float) -> tuple[AggregationStage, ManualClock,
                                                                         TimedOutputs, Callable[[], None]]:
    """A paced stage a second after its first flush (every kind rendered), each render now
    taking ``seconds_per_key`` of its clock; the callable makes renders instant again."""
    clock = ManualClock()
    outputs = TimedOutputs(clock)
    stage = paced_stage(outputs, clock)  # short interval 0.5 s, long 2 s
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    clock.now += 1.0
    render = stage.engine.render

    def slow_render(*key: str) -> Any:
        clock.now += seconds_per_key
        return render(*key)

    monkeypatch.setattr(stage.engine, "render", slow_render)
    return stage, clock, outputs, lambda: monkeypatch.setattr(stage.engine, "render", render)


def test_behind_the_next_flush_waits_several_times_what_the_last_one_took(monkeypatch: Any) -> None:
    stage, clock, outputs, instant = rendering_slowly(monkeypatch, 0.01)
    # three seconds behind, six short intervals: the cadence flush, then a gap of six times what it took
    run(stage.on_batch(Batch([f.activity("r1", "call")]), offset=1, lag=3.0))
    took = stage.pacing.last_took
    assert took > 0.02
    instant()
    flushed_at = clock.now
    clock.now = flushed_at + 0.5 + 6 * took - 0.001
    run(stage.on_batch(Batch([f.activity("r1", "visit")]), offset=2, lag=3.0))  # still behind
    assert not [k for k, at in outputs.sent_at if at > flushed_at]  # the gap has not passed yet
    clock.now += 0.002
    run(stage.on_batch(Batch([f.activity("r1", "email")]), offset=3, lag=3.0))
    assert "rep:r1:2026-11" in {k for k, at in outputs.sent_at if at > flushed_at}


def sharing_with(stage: AggregationStage, clock: ManualClock, others: tuple[str, ...]) -> None:
    """Give ``stage`` a worker's budget on which the ``others`` (stage names) just flushed."""
    stage.budget = RenderBudget()
    for other in others:
        stage.budget.spend(0.0, ended=clock.now, stage=other)


def test_behind_a_stage_waits_as_many_times_longer_as_stages_flush_on_its_worker(monkeypatch: Any) -> None:
    stage, clock, outputs, instant = rendering_slowly(monkeypatch, 0.01)
    sharing_with(stage, clock, ("rep:1", "rep:2"))  # three stages flush on this worker
    run(stage.on_batch(Batch([f.activity("r1", "call")]), offset=1, lag=3.0))  # six intervals behind
    took = stage.pacing.flush_took
    assert took > 0.02
    instant()
    flushed_at = clock.now
    # alone it would flush again after 0.5 + 6 x took; three stages: 0.5 + 3 x 6 x took
    clock.now = flushed_at + 0.5 + 18 * took - 0.001
    run(stage.on_batch(Batch([f.activity("r1", "visit")]), offset=2, lag=3.0))
    assert not [k for k, at in outputs.sent_at if at > flushed_at]
    clock.now += 0.002
    run(stage.on_batch(Batch([f.activity("r1", "email")]), offset=3, lag=3.0))
    assert "rep:r1:2026-11" in {k for k, at in outputs.sent_at if at > flushed_at}


def test_on_time_the_stages_flushing_on_a_worker_do_not_space_a_stage_out(monkeypatch: Any) -> None:
    stage, clock, outputs, instant = rendering_slowly(monkeypatch, 0.01)
    stage.leading_edge = False  # regular flushes only: the cadence is what is checked
    sharing_with(stage, clock, ("rep:1", "rep:2"))
    run(stage.on_batch(Batch([f.activity("r1", "call")]), offset=1))
    took = stage.pacing.flush_took
    assert took > 0.02
    instant()
    flushed_at = clock.now
    clock.now = flushed_at + 0.5 + took + 0.001  # the interval and once what it took, as alone
    run(stage.on_batch(Batch([f.activity("r1", "visit")]), offset=2))
    assert "rep:r1:2026-11" in {k for k, at in outputs.sent_at if at > flushed_at}


def test_behind_the_wait_stays_at_most_eighteen_seconds_however_many_stages_flush() -> None:
    stage, clock, _ = paced_after_november()
    sharing_with(stage, clock, tuple(f"rep:{p}" for p in range(11)))  # with itself, twelve stages flush there
    stage.lag = 60.0
    assert stage._gap(2.0) == 18.0  # not 2 s x 9 x 12
    assert stage._gap(0.01) == pytest.approx(0.01 * 9 * 12)


def test_behind_a_flush_waits_longer_the_further_behind_the_stage_is() -> None:
    # the short interval is 0.5 s: up to one interval behind a flush waits once what the
    # last one took, then the lag in intervals, at most nine times (a tenth of the time renders)
    assert [aggregation.spacing_factor(lag, 0.5) for lag in (0.0, 0.4, 0.5, 1.0, 2.25, 4.5, 60.0)] == \
        [1.0, 1.0, 1.0, 2.0, 4.5, 9.0, 9.0]
    # coalescing off (no short interval): on time once, any lag at most
    assert [aggregation.spacing_factor(lag, 0.0) for lag in (0.0, 0.1)] == [1.0, 9.0]


def test_old_input_is_a_backlog_only_while_a_message_waits_or_once_it_is_seconds_old() -> None:
    # input sent 0.6 s ago, nothing behind it on the partition: the delay was upstream
    assert aggregation.backlog_lag(0.6, waiting=False) == 0.0
    # the same with a later message already waiting: a backlog, paced by its age
    assert aggregation.backlog_lag(0.6, waiting=True) == 0.6
    assert aggregation.backlog_lag(0.1, waiting=True) == 0.1  # on time all the same (below the interval)
    # more than two seconds old: the ingest on the same worker is behind, waiting or not
    assert aggregation.backlog_lag(2.5, waiting=False) == 2.5
    assert aggregation.backlog_lag(aggregation.UPSTREAM_BACKLOG_SECONDS, waiting=False) == 0.0


def test_input_late_from_upstream_with_nothing_waiting_keeps_the_leading_edge() -> None:
    stage, clock, outputs = paced_after_november()
    r2 = new_rep_with_a_deal("r2", "d2", "c2", "700.00")
    run(stage.on_batch(Batch(r2), offset=1, lag=aggregation.backlog_lag(0.6, waiting=False)))
    assert not stage.behind
    assert "rep:r2:2026-11" in {k for k, at in outputs.sent_at if at == clock.now}  # right after its message
    clock.now += 0.1
    r3 = new_rep_with_a_deal("r3", "d3", "c3", "100.00")
    run(stage.on_batch(Batch(r3), offset=2, lag=aggregation.backlog_lag(0.6, waiting=True)))
    assert stage.behind  # the same age with a message waiting: months wait for the cadence
    assert not [k for k, at in outputs.sent_at if at == clock.now]


def test_once_the_facts_stop_a_flush_held_back_by_a_backlog_waits_as_on_time(monkeypatch: Any) -> None:
    stage, clock, outputs, instant = rendering_slowly(monkeypatch, 0.1)
    first = clock.now - 1.0  # when every kind was rendered
    run(stage.on_batch(Batch([f.activity("r1", "call")]), offset=1, lag=3.0))  # six intervals behind: months
    took = stage.pacing.last_took
    instant()
    flushed_at = clock.now
    clock.now += 0.01
    run(stage.on_batch(Batch([f.activity("r1", "visit")]), offset=2, lag=3.0))  # the backlog's last fact
    assert not [k for k, at in outputs.sent_at if at > flushed_at]
    # More than an interval without facts, the long interval passed, and the next flush due
    # as on time (the interval and once what the last one took), not yet as six intervals
    # behind: a tick renders the quarter the backlog left.
    clock.now = max(first + 2.0, flushed_at + 0.5 + took) + 0.05
    assert clock.now < flushed_at + 0.5 + 6 * took
    run(stage.on_batch(Batch(), offset=3))
    assert not stage.behind
    assert "rep:r1:2026-Q4" in {k for k, at in outputs.sent_at if at > flushed_at}


def test_just_behind_the_next_flush_waits_about_as_long_as_on_time(monkeypatch: Any) -> None:
    stage, clock, outputs, instant = rendering_slowly(monkeypatch, 0.01)
    run(stage.on_batch(Batch([f.activity("r1", "call")]), offset=1, lag=0.6))  # 0.6 s behind: 1.2 intervals
    took = stage.pacing.last_took
    instant()
    flushed_at = clock.now
    clock.now = flushed_at + 0.5 + 1.2 * took + 0.001  # four times what it took would still hold it
    run(stage.on_batch(Batch([f.activity("r1", "visit")]), offset=2, lag=0.6))
    assert "rep:r1:2026-11" in {k for k, at in outputs.sent_at if at > flushed_at}


def slow_boards(monkeypatch: Any) -> tuple[AggregationStage, ManualClock, Outputs, float]:
    """A paced stage (boards every second) whose board rows take 10 ms of its clock per
    board: NOVEMBER applied and its boards published; with what that publication took."""
    clock, outputs = ManualClock(), Outputs()
    settings = Settings(coalesce_ms=500, coalesce_long_ms=2000, leaderboard_ms=1000, store="memory")
    stage = AggregationStage(settings, new_tables(), outputs.stage_outputs(), Metrics(), monotonic=clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    board = stage.boards.board

    def slow_board(*args: Any, **kwargs: Any) -> Any:
        clock.now += 0.01
        return board(*args, **kwargs)

    monkeypatch.setattr(stage.boards, "board", slow_board)
    clock.now += 1.0
    run(stage.on_batch(Batch([f.deal("d2", "r1", "c2", "500.00")]), offset=1))  # moves r1 on November's boards
    assert outputs.sent["leaderboards"] and not stage.boards_pending
    took = stage.pacing.boards_took
    assert took >= 0.04  # a board per metric at least
    return stage, clock, outputs, took


def published_boards_at(stage: AggregationStage, clock: ManualClock, outputs: Outputs, at: float, offset: int,
                        lag: float) -> bool:
    """Whether a deal that moves r1's boards, handed to ``stage`` at ``at`` (its clock),
    and its flush publish the boards then."""
    sent = len(outputs.sent["leaderboards"])
    clock.now = at
    run(stage.on_batch(Batch([f.deal(f"d{offset + 10}", "r1", "c3", "100.00")]), offset=offset, lag=lag))
    return len(outputs.sent["leaderboards"]) > sent


def test_on_time_boards_wait_the_board_interval_and_once_what_the_last_publication_took(monkeypatch: Any) -> None:
    stage, clock, outputs, took = slow_boards(monkeypatch)
    last = stage.pacing.last_boards
    assert not published_boards_at(stage, clock, outputs, last + 1.0 + took - 0.001, offset=2, lag=0.0)
    assert stage.boards_pending  # moved, waiting for the gap
    assert published_boards_at(stage, clock, outputs, last + 1.0 + took + 0.002, offset=3, lag=0.0)


def test_behind_boards_wait_as_many_times_what_the_last_publication_took_as_flushes_do(monkeypatch: Any) -> None:
    stage, clock, outputs, took = slow_boards(monkeypatch)
    last = stage.pacing.last_boards
    # three seconds behind with a short interval of 0.5 s: six times what it took, as a flush
    assert not published_boards_at(stage, clock, outputs, last + 1.0 + 6 * took - 0.001, offset=2, lag=3.0)
    assert stage.boards_pending
    assert published_boards_at(stage, clock, outputs, last + 1.0 + 6 * took + 0.002, offset=3, lag=3.0)


def test_the_board_cache_is_whole_only_after_the_first_flush_after_a_rebuild() -> None:
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))
    assert stage.boards_ready and stage.boards.ranked("company", "2026-11") == 1
    stage.on_revoked()
    assert not stage.boards_ready  # the cache is empty again: /api/leaderboard answers 503

    async def rebuilt_then_flushed() -> tuple[bool, int, bool, int]:
        await stage.rebuild()  # the engine is back, its boards not yet
        before = stage.boards_ready, stage.boards.ranked("company", "2026-11")
        await stage.on_batch(Batch([]), offset=1)  # the next message (a tick) flushes every key
        return (*before, stage.boards_ready, stage.boards.ranked("company", "2026-11"))

    assert run(rebuilt_then_flushed()) == (False, 0, True, 1)


def test_a_leading_edge_flush_right_after_a_rebuild_does_not_call_a_partial_board_cache_whole() -> None:
    # A rebalance gives the stage back to the same worker within the short interval: months
    # rendered just before are still "recent" and a new rep's month makes a leading-edge
    # flush due. The board cache must hold every rep period before /api/leaderboard answers
    # from it (boards_ready), the quarter's and r1's month included.
    clock = ManualClock()
    outputs = TimedOutputs(clock)
    stage = paced_stage(outputs, clock)
    run(stage.on_batch(Batch(NOVEMBER), offset=0))  # t=100: the first flush renders everything
    assert stage.boards.ranked("company", "2026-Q4") == 1
    stage.on_revoked()
    clock.now += 0.1

    async def rebuilt_then_a_new_rep() -> None:
        await stage.rebuild()
        r2 = new_rep_with_a_deal("r2", "d2", "c2", "700.00")
        await stage.on_batch(Batch(r2), offset=1)

    run(rebuilt_then_a_new_rep())
    assert stage.boards_ready  # what /api/leaderboard and /api/stream then answer from
    assert stage.boards.ranked("company", "2026-11") == 2
    assert stage.boards.ranked("company", "2026-Q4") == 2
    assert stage.boards.ranked("company", "2026") == 2
    # and the rebuild's re-send of every key (r1's unchanged quarter included) went out
    assert {"rep:r1:2026-11", "rep:r1:2026-Q4", "rep:r2:2026-Q4"} <= {k for k, at in outputs.sent_at if at == clock.now}


def test_a_stage_with_nothing_to_render_has_a_whole_empty_board_cache() -> None:
    # No fact yet (a new deployment): no scorecard to render, so no flush and no tick ever
    # comes; the empty board is the whole board (not 503 "loading" forever).
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    run(stage.on_batch(Batch([]), offset=None))  # a tick: the engine is rebuilt from no fact
    assert stage.engine is not None and not stage.engine.known and not stage.tick_due()
    assert stage.boards_ready
    assert stage.boards.ranked("company", "2026-11") == 0


def test_a_published_board_names_each_rep_as_the_roster_did_at_the_periods_end() -> None:
    # Ann sells in November and is renamed "Ann Later" from 3 December; a late November
    # deal moves November's board after the rename. /api/leaderboard names her by the
    # roster at the period's end, and so must the published snapshots: Ann on November's
    # board, Ann Later on December's.
    tables, outputs = new_tables(), Outputs()
    stage, _ = stage_over(tables, outputs)
    ann = {**f.roster("r1", "t1", event_id="roster-r1"), "name": "Ann"}
    run(stage.on_batch(Batch([ann, f.deal("d1", "r1", "c1", "100.00")]), offset=0))
    renamed = {**f.roster("r1", "t1", effective_at="2026-12-03T00:00:00+08:00", event_id="roster-r1-dec"),
               "name": "Ann Later"}
    december = f.deal("d2", "r1", "c2", "50.00", closed_at="2026-12-05T10:00:00+08:00")
    late = f.deal("d3", "r1", "c3", "25.00", closed_at="2026-11-20T10:00:00+08:00")
    run(stage.on_batch(Batch([renamed, december, late]), offset=1))
    last = {key: value for key, value in outputs.sent["leaderboards"]}
    november, december_board = last["company:2026-11:revenue"], last["company:2026-12:revenue"]
    assert [(r["name"], r["revenue"]) for r in november["rows"]] == [("Ann", "125.00")]
    assert [(r["name"], r["revenue"]) for r in december_board["rows"]] == [("Ann Later", "50.00")]
