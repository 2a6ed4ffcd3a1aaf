"""The what-if's load of stored facts (core/whatif_loader.py) against the engine's own
``apply`` of each fact's record: the same rep figures of every calendar period, the same
outcome of every fact, the same clock (contract §4, §5, §13)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.aggregates import Bucket
from sales_scorecard.core.engine import Outcome, ScorecardEngine, rep_partition
from sales_scorecard.core.whatif import recompute, rep_engine
from sales_scorecard.core.whatif_loader import StoredFactLoader
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, deal, roster, target
from tests.unit.test_whatif import CURRENT, six_nine


def by_apply(engine: ScorecardEngine, facts: list[dict[str, Any]]) -> list[Outcome]:
    return [engine.apply(record_from_event(fact)) for fact in facts]


def by_loader(engine: ScorecardEngine, facts: list[dict[str, Any]]) -> list[Outcome]:
    loader = StoredFactLoader(engine)
    outcomes = [loader.apply(fact) for fact in facts]
    loader.finish()
    return outcomes


def rep_figures(engine: ScorecardEngine) -> dict[tuple[str, str], Any]:
    """(rep, calendar label) -> the exact KPIs and score of every rep scorecard that exists."""
    return {(id, label): engine.scored(scope, id, label) for (scope, id), labels in engine.known.items()
            if scope == "rep" for label in labels}


@pytest.fixture(scope="module")
def simulated() -> list[dict[str, Any]]:
    # duplicates, out-of-order versions, amendments, reassignments, reversals, hires,
    # departures, reviews and a team whose target is split down to its reps
    return simulate(SimulationConfig(seed=3, reps=30, teams=3, months=4, start_month="2026-08", split_targets=True))


def rep_stage_engine() -> ScorecardEngine:
    """The rep stage's engine owning every rep, as the worker runs it (marking, paying)."""
    return ScorecardEngine("Asia/Shanghai", CURRENT.scorecard, CURRENT.commission, rep_partition(lambda rep: True))


def test_a_simulated_history_gives_every_rep_figure_apply_gives(simulated: list[dict[str, Any]], tmp_path) -> None:
    # the worker's way (every fact's record applied) against the what-if's engine and load
    applied, loaded = rep_stage_engine(), rep_engine("Asia/Shanghai", CURRENT)
    outcomes = by_apply(applied, simulated)
    assert by_loader(loaded, simulated) == outcomes
    counts = Counter(outcomes)
    assert counts[Outcome.DUPLICATE] > 0 and counts[Outcome.STALE] > 0  # the history exercises both
    assert loaded.clock() == applied.clock()
    assert {k: sorted(v) for k, v in loaded.known.items()} == {k: sorted(v) for k, v in applied.known.items()}
    want = rep_figures(applied)
    assert len(want) > 100 and rep_figures(loaded) == want
    # and so the what-if's report, under both plans; it is the whole engine's too, whose
    # split shares were computed fact by fact, as the worker's org stage computes them
    candidate = six_nine(tmp_path)
    whole = ScorecardEngine("Asia/Shanghai", CURRENT.scorecard, CURRENT.commission)
    by_apply(whole, simulated)
    assert whole.splits.shares and not loaded.splits.shares
    report = recompute(loaded, candidate, "2026-08", "2026-11")
    assert loaded.splits.shares == whole.splits.shares
    assert report == recompute(applied, candidate, "2026-08", "2026-11") == \
        recompute(whole, candidate, "2026-08", "2026-11")


def test_a_partition_gets_the_figures_of_its_own_reps(simulated: list[dict[str, Any]]) -> None:
    def owns(rep: str) -> bool:
        return rep < "r015"

    applied = ScorecardEngine("Asia/Shanghai", CURRENT.scorecard, CURRENT.commission, rep_partition(owns))
    loaded = ScorecardEngine("Asia/Shanghai", CURRENT.scorecard, CURRENT.commission, rep_partition(owns))
    assert by_loader(loaded, simulated) == by_apply(applied, simulated)
    # facts count for the reps it owns only (a target alone makes another rep's key exist)
    assert {id for _, id in applied.buckets.scopes} == {id for _, id in loaded.buckets.scopes} == \
        {f"r{n:03d}" for n in range(1, 15)}
    assert rep_figures(loaded) == rep_figures(applied)


def test_versions_and_copies_get_the_outcomes_apply_gives() -> None:
    facts = [
        roster("r1", "t1"),
        target("rep", "r1", "2026-11", "100.00"),
        deal("d1", "r1", "c1", "10.00", stage="open", version=1, event_id="e1", closed_at=None),
        deal("d1", "r1", "c1", "10.00", stage="open", version=1, event_id="e1", closed_at=None),  # the same event
        deal("d1", "r1", "c1", "30.00", version=3, event_id="e3"),
        deal("d1", "r1", "c1", "20.00", version=2, event_id="e2"),  # older than the version applied
        deal("d1", "r1", "c1", "99.00", version=3, event_id="e3b"),  # the same version again
    ]
    call = activity("r1", "call", customer_id="c1", effective=True)
    facts += [call, dict(call)]
    assert by_loader(rep_engine("Asia/Shanghai", CURRENT), facts) == [
        Outcome.APPLIED, Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED, Outcome.STALE,
        Outcome.STALE, Outcome.APPLIED, Outcome.DUPLICATE]
    engine = rep_engine("Asia/Shanghai", CURRENT)
    by_loader(engine, facts)
    # version 3 (30.00) is the one kept; one call counted once
    assert engine.rep_month_revenue("r1", "2026-11") == 30
    assert engine.buckets.get(("rep", "r1", "2026-11")).activities == {"call": 1}  # type: ignore[union-attr]


def test_an_activity_moves_the_clock_and_is_counted_in_its_month_only() -> None:
    engine = rep_engine("Asia/Shanghai", CURRENT)
    # 2026-11-30T23:30 in Shanghai is 15:30 UTC: November there, whatever the UTC date
    facts = [roster("r1", "t1"), activity("r1", "training", "2026-11-30T15:30:00Z", duration_minutes=90),
             activity("r1", "survey", "2026-12-01T00:30:00+08:00", customer_id="c1", score=5)]
    by_loader(engine, facts)
    assert engine.clock() == record_from_event(facts[2]).occurred_at
    november = engine.buckets.get(("rep", "r1", "2026-11"))
    december = engine.buckets.get(("rep", "r1", "2026-12"))
    assert november is not None and (november.training_minutes, november.survey_count) == (90, 0)
    assert december is not None and (december.survey_count, december.survey_sum, december.training_minutes) == (1, 5, 0)
    # the quarter and the year read their months (none of them keeps a bucket)
    assert engine._calendar_bucket("rep", "r1", "2026-Q4").training_minutes == 90
    assert engine._calendar_bucket("rep", "r1", "2026").survey_count == 1


@pytest.mark.parametrize("broken", [
    {"kind": None}, {"rep_id": None}, {"occurred_at": "2026-11-05 09:00"}, {"occurred_at": "yesterday"},
])
def test_an_unreadable_activity_changes_nothing(broken: dict[str, Any]) -> None:
    engine = rep_engine("Asia/Shanghai", CURRENT)
    loader = StoredFactLoader(engine)
    fact = {**activity("r1", "call", "2026-11-05T09:00:00+08:00"), **broken}
    with pytest.raises((KeyError, TypeError, ValueError)):
        loader.apply(fact)
    loader.finish()
    assert engine.clock() is None and not engine.known


def test_a_whole_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="rep-stage engine"):
        StoredFactLoader(ScorecardEngine("Asia/Shanghai"))


def test_the_engine_takes_a_summed_month_of_activities_only() -> None:
    engine = rep_engine("Asia/Shanghai", CURRENT)
    won = Bucket()
    won.apply((("revenue", (100, 0)), ("won", 1)), +1)
    with pytest.raises(ValueError):
        engine.add_rep_month("r1", "2026-11", won)
    with pytest.raises(ValueError):
        engine.add_rep_month("r1", "2026-11", Bucket())
    calls = Bucket()
    calls.apply((("activity", "call"),), +1)
    calls.apply((("activity", "call"),), +1)
    engine.add_rep_month("r1", "2026-11", calls)
    assert sorted(engine.known[("rep", "r1")]) == ["2026", "2026-11", "2026-Q4"]
    assert [engine._calendar_bucket("rep", "r1", label).activities for label in ("2026-11", "2026-Q4", "2026")] \
        == [{"call": 2}] * 3


def test_the_what_if_engine_marks_nothing_and_collects_no_pay_change(simulated: list[dict[str, Any]]) -> None:
    worker, what_if = rep_stage_engine(), rep_engine("Asia/Shanghai", CURRENT)
    by_apply(worker, simulated[:500])
    by_apply(what_if, simulated[:500])
    assert worker.take_dirty() and worker.take_payroll_changes()  # what the worker publishes and pays
    assert what_if.take_dirty() == [] and what_if.take_payroll_changes() == {}
    assert rep_figures(what_if) == rep_figures(worker)


def test_given_the_months_read_their_rep_months_are_exact(simulated: list[dict[str, Any]], tmp_path) -> None:
    applied, loaded = rep_stage_engine(), rep_engine("Asia/Shanghai", CURRENT)
    outcomes = by_apply(applied, simulated)
    loader = StoredFactLoader(loaded, {"2026-09", "2026-10"})
    assert [loader.apply(fact) for fact in simulated] == outcomes
    loader.finish()
    assert loaded.clock() == applied.clock()  # moved over the activities of every month
    want = {key: figures for key, figures in rep_figures(applied).items() if key[1] in ("2026-09", "2026-10")}
    assert len(want) > 40 and {key: rep_figures(loaded).get(key) for key in want} == want
    # the activities of the other months were not counted
    august = [key for key in applied.buckets if key[2] == "2026-08" and applied.buckets[key].activities]
    assert august and not any(key in loaded.buckets and loaded.buckets[key].activities for key in august)
    candidate = six_nine(tmp_path)
    assert recompute(loaded, candidate, "2026-09", "2026-10") == recompute(applied, candidate, "2026-09", "2026-10")
