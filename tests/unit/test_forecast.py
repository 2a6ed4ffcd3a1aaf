"""The pipeline forecast of contract §13, worked by hand: forecast_revenue and
forecast_attainment per scope and period, the team at as_of, ended periods, next_band,
and the stage-probability file. Time zone Asia/Shanghai (UTC+8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core.commission import Condition, load_plans
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.forecast import (
    PIPELINE_STAGES,
    ForecastPlanError,
    NextBand,
    OpenDeal,
    Pipeline,
    forecast_window,
    load_stage_probabilities,
    next_band,
)
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.aggregation import new_engine
from sales_scorecard.streams.settings import Settings
from tests.factories import deal, roster, target

CST = "+08:00"
AS_OF = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)  # 10 November 2026, 00:00 local


def build(*events: dict[str, Any], clock: datetime = AS_OF) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in events:
        engine.apply(record_from_event(ev))
    engine.wall_clock = clock
    return engine


def kpis(engine: ScorecardEngine, scope: str, id: str, period: str) -> dict[str, Any]:
    rendered = engine.render(scope, id, period)
    assert rendered is not None, (scope, id, period)
    return rendered["kpis"]


def pipe(deal_id: str, rep: str, amount: str, stage: str, expected: str, version: int = 1) -> dict[str, Any]:
    return deal(deal_id, rep, "c-" + deal_id, amount, stage="open", closed_at=None, version=version,
                pipeline_stage=stage, expected_close_at=expected)


#: r1 in t1, r2 in t2; r1's November target 10,000.00; r1 won 1,000.00 on 5 November and
#: 500.00 on 15 October; r2 won 300.00 on 6 November.
FACTS = (
    roster("r1", "t1"), roster("r2", "t2"),
    target("rep", "r1", "2026-11", "10000.00"),
    deal("w1", "r1", "c1", "1000.00", closed_at=f"2026-11-05T10:00:00{CST}"),
    deal("w0", "r1", "c2", "500.00", closed_at=f"2026-10-15T10:00:00{CST}"),
    deal("w2", "r2", "c3", "300.00", closed_at=f"2026-11-06T10:00:00{CST}"),
)
#: r1's open pipeline: one deal at each stage expected in the rest of November, one in
#: December, one whose expected close (2 November) is already behind the clock.
PIPELINE = (
    pipe("p1", "r1", "1000.00", "prospect", f"2026-11-20T10:00:00{CST}"),     # 1000 × 0.10 = 100
    pipe("p2", "r1", "1000.00", "qualified", f"2026-11-21T10:00:00{CST}"),    # 1000 × 0.25 = 250
    pipe("p3", "r1", "1000.00", "proposal", f"2026-11-22T10:00:00{CST}"),     # 1000 × 0.50 = 500
    pipe("p4", "r1", "1000.00", "negotiation", f"2026-11-23T10:00:00{CST}"),  # 1000 × 0.75 = 750
    pipe("p5", "r1", "4000.00", "negotiation", f"2026-12-05T10:00:00{CST}"),  # December: 3000
    pipe("p6", "r1", "2000.00", "negotiation", f"2026-11-02T10:00:00{CST}"),  # before as_of: out
)


def test_forecast_adds_each_stage_at_its_probability_inside_the_window() -> None:
    e = build(*FACTS, *PIPELINE)
    nov = kpis(e, "rep", "r1", "2026-11")
    # 1000 + 100 + 250 + 500 + 750; p5 closes in December, p6 before as_of
    assert nov["forecast_revenue"] == "2600.00"
    assert nov["forecast_attainment"] == 0.26  # 2600 / 10000
    q4 = kpis(e, "rep", "r1", "2026-Q4")
    # window [as_of, 1 Jan): 1500 revenue (Oct + Nov) + 1600 + p5's 3000
    assert q4["forecast_revenue"] == "6100.00"
    assert q4["target"] is None and q4["forecast_attainment"] is None  # no Q4 target: attainment null
    assert kpis(e, "rep", "r1", "2026")["forecast_revenue"] == "6100.00"
    assert kpis(e, "team", "t1", "2026-11")["forecast_revenue"] == "2600.00"
    assert kpis(e, "team", "t2", "2026-11")["forecast_revenue"] == "300.00"  # r2 has no pipeline
    assert kpis(e, "company", "*", "2026-11")["forecast_revenue"] == "2900.00"  # 1300 + 1600
    # trailing windows carry no forecast
    assert kpis(e, "rep", "r1", "R30D")["forecast_revenue"] is None


def test_an_ended_period_forecasts_its_revenue() -> None:
    e = build(*FACTS, *PIPELINE,
              pipe("p7", "r1", "800.00", "negotiation", f"2026-10-20T10:00:00{CST}"))  # an October close
    assert kpis(e, "rep", "r1", "2026-10")["forecast_revenue"] == "500.00"  # October ended: revenue
    # at the clock's month end November has ended too
    e.wall_clock = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December 00:00 local
    assert kpis(e, "rep", "r1", "2026-11")["forecast_revenue"] == "1000.00"


def test_no_clock_no_forecast() -> None:
    e = ScorecardEngine("Asia/Shanghai")
    assert e.render("rep", "r1", "2026-11") is None  # nothing yet
    e.apply(record_from_event(target("rep", "r1", "2026-11", "10.00")))
    e.as_of = None
    assert kpis(e, "rep", "r1", "2026-11")["forecast_revenue"] is None


def test_a_won_deal_leaves_the_pipeline_and_a_won_deals_pipeline_fields_are_ignored() -> None:
    e = build(*FACTS, *PIPELINE)
    e.apply(record_from_event(deal("p4", "r1", "c-p4", "1000.00", version=2,
                                   closed_at=f"2026-11-09T10:00:00{CST}", pipeline_stage="negotiation",
                                   expected_close_at=f"2026-11-23T10:00:00{CST}")))
    # revenue 2000, pipeline 100 + 250 + 500
    assert kpis(e, "rep", "r1", "2026-11")["forecast_revenue"] == "2850.00"
    e.apply(record_from_event(pipe("p3", "r1", "1000.00", "negotiation", f"2026-11-22T10:00:00{CST}", 2)))
    assert kpis(e, "rep", "r1", "2026-11")["forecast_revenue"] == "3100.00"  # p3 now at 0.75


def test_the_team_at_as_of_gets_the_pipeline_after_a_transfer() -> None:
    # r1 moves to t2 on 8 November (before as_of): the pipeline goes with r1 to t2, while
    # w1 (closed 5 November, in t1) stays t1's revenue.
    transfer = roster("r1", "t2", effective_at=f"2026-11-08T00:00:00{CST}")
    e = build(*FACTS, *PIPELINE, transfer)
    assert kpis(e, "team", "t1", "2026-11")["forecast_revenue"] == "1000.00"
    assert kpis(e, "team", "t2", "2026-11")["forecast_revenue"] == "1900.00"  # 300 + 1600
    assert kpis(e, "company", "*", "2026-11")["forecast_revenue"] == "2900.00"


def test_the_clock_passing_a_transfer_moves_the_team_forecast() -> None:
    transfer = roster("r1", "t2", effective_at=f"2026-11-15T00:00:00{CST}")  # after as_of
    december = [target("team", t, "2026-12", "5000.00") for t in ("t1", "t2")]  # the keys exist
    e = build(*FACTS, *PIPELINE, transfer, *december)
    e.touch_clock()
    e.take_dirty()
    assert kpis(e, "team", "t1", "2026-11")["forecast_revenue"] == "2600.00"
    assert kpis(e, "team", "t1", "2026-12")["forecast_revenue"] == "3000.00"  # p5: 4000 × 0.75
    e.wall_clock = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # 16 November local, transfer in force
    e.touch_clock()
    dirty = e.take_dirty()
    # December is not a current period: its team forecasts move because r1's team at as_of did
    assert {("team", "t1", "2026-12"), ("team", "t2", "2026-12"), ("team", "t2", "2026-11")} <= set(dirty)
    assert kpis(e, "team", "t1", "2026-11")["forecast_revenue"] == "1000.00"
    assert kpis(e, "team", "t2", "2026-11")["forecast_revenue"] == "1900.00"
    assert kpis(e, "team", "t1", "2026-12")["forecast_revenue"] == "0.00"
    assert kpis(e, "team", "t2", "2026-12")["forecast_revenue"] == "3000.00"
    assert kpis(e, "team", "t2", "2026-12")["forecast_attainment"] == 0.6  # 3000 / 5000


def test_a_pipeline_change_marks_the_periods_of_its_expected_close() -> None:
    e = build(*FACTS)
    e.take_dirty()
    e.apply(record_from_event(pipe("p5", "r1", "4000.00", "negotiation", f"2026-11-25T10:00:00{CST}")))
    dirty = set(e.take_dirty())
    for scope, id in (("rep", "r1"), ("team", "t1"), ("company", "*")):
        assert {(scope, id, "2026-11"), (scope, id, "2026-Q4"), (scope, id, "2026")} <= dirty
    assert ("rep", "r2", "2026-11") not in dirty


def test_the_clock_passing_an_expected_close_drops_the_deal() -> None:
    e = build(*FACTS, *PIPELINE)
    e.wall_clock = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)  # 22 November 00:00 local: p1, p2 behind
    assert kpis(e, "rep", "r1", "2026-11")["forecast_revenue"] == "2250.00"  # 1000 + 500 + 750


# -- next_band --------------------------------------------------------------------------------
THREE_BANDS = """
default:
  plan_id: three
  tiers:
    - {from: "0", to: "0.5", rate: "0.02"}
    - {from: "0.5", to: "1.0", rate: "0.05"}
    - from: "1.0"
      to: null
      rate: "0.08"
      requires: [{kpi: csat, op: ">=", value: "4.5", when_missing: pass}]
"""


@pytest.fixture()
def three_bands(tmp_path: Path) -> Any:
    path = tmp_path / "plan.yaml"
    path.write_text(THREE_BANDS)
    return load_plans(str(path)).default


def test_next_band_from_the_first_band_between_bands_on_a_threshold_and_at_the_top(three_bands: Any) -> None:
    t = Decimal("10000.00")
    gate = three_bands.tiers[2].requires
    # nothing sold yet: inside the first band, the second starts at 0.5 × 10000
    assert next_band(three_bands, Decimal(0), t) == NextBand(Decimal("0.05"), Decimal("5000.00"))
    assert next_band(three_bands, Decimal("1234.56"), t) == NextBand(Decimal("0.05"), Decimal("3765.44"))
    # between bands: 1.0 × 10000 − 6000; the gate is shown, not applied
    assert next_band(three_bands, Decimal("6000.00"), t) == NextBand(Decimal("0.08"), Decimal("4000.00"), gate)
    # exactly on 0.5: already in the second band
    assert next_band(three_bands, Decimal("5000.00"), t) == NextBand(Decimal("0.08"), Decimal("5000.00"), gate)
    # exactly on 1.0 and above: the top band, nothing next
    assert next_band(three_bands, Decimal("10000.00"), t) is None
    assert next_band(three_bands, Decimal("12000.00"), t) is None
    assert next_band(three_bands, Decimal("100.00"), None) is None  # no target: no bands to enter
    # 0.5 × 12345.67 = 6172.835: 6172.84 is needed (6172.83 would leave attainment below 0.5)
    assert next_band(three_bands, Decimal(0), Decimal("12345.67")) == NextBand(Decimal("0.05"), Decimal("6172.84"))


def test_next_band_on_rep_months_only_with_the_gate_shown() -> None:
    e = build(*FACTS, *PIPELINE)
    # default plan: 5 % to 100 %, 8 % above with csat >= 4.5 (contract §7)
    assert kpis(e, "rep", "r1", "2026-11")["next_band"] == {
        "rate": 0.08, "revenue_needed": "9000.00",
        "requires": [{"kpi": "csat", "op": ">=", "value": 4.5, "when_missing": "pass"}],
    }
    assert kpis(e, "rep", "r1", "2026-10")["next_band"] is None  # no October target
    assert kpis(e, "rep", "r1", "2026-Q4")["next_band"] is None
    assert kpis(e, "team", "t1", "2026-11")["next_band"] is None


# -- pure pieces -------------------------------------------------------------------------------
def test_window_starts_at_the_later_of_clock_and_period_start() -> None:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    assert forecast_window(start, end, datetime(2026, 10, 1, tzinfo=UTC)) == (start, end)
    mid = datetime(2026, 11, 10, tzinfo=UTC)
    assert forecast_window(start, end, mid) == (mid, end)
    assert forecast_window(start, end, end) is None


def test_pipeline_weighs_only_deals_in_the_window() -> None:
    probabilities = load_stage_probabilities(None)
    p = Pipeline()
    at = datetime(2026, 11, 10, tzinfo=UTC)
    p.put("r1", "a", OpenDeal(Decimal("100.00"), "proposal", at))
    p.put("r1", "b", OpenDeal(Decimal("100.00"), "prospect", datetime(2026, 12, 10, tzinfo=UTC)))
    assert p.weighted(["r1"], at, datetime(2026, 12, 1, tzinfo=UTC), probabilities) == Decimal("50.00")
    assert p.weighted(["r2"], at, datetime(2026, 12, 1, tzinfo=UTC), probabilities) == 0
    assert p.remove("r1", "a") is not None and p.remove("r1", "a") is None


# -- the company's forecast from the closing days ---------------------------------------------
#: Expected closes every 6 hours over three days from 8 November 2026 (UTC), in three
#: offsets: days hold several deals, and the windows' bounds cut days or fall on their
#: first instant.
CLOSES = st.builds(lambda quarter_days, hours: (datetime(2026, 11, 8, tzinfo=UTC) + timedelta(hours=6 * quarter_days))
                   .astimezone(timezone(timedelta(hours=hours))),
                   st.integers(0, 12), st.sampled_from([-5, 0, 8]))
OPEN_DEALS = st.builds(OpenDeal, st.sampled_from([Decimal("100.00"), Decimal("0.10"), Decimal("7"), Decimal("12.345")]),
                       st.sampled_from(PIPELINE_STAGES), CLOSES)
#: (rep, deal, the deal's new open version or None: it leaves the pipeline)
CHANGES = st.lists(st.tuples(st.sampled_from(["r1", "r2", "r3"]), st.sampled_from(["a", "b", "c", "d"]),
                             st.none() | OPEN_DEALS), max_size=40)


@settings(max_examples=300)
@given(CHANGES, st.lists(st.tuples(CLOSES, CLOSES), min_size=1, max_size=6))
def test_the_company_forecast_weighs_every_open_deal_in_the_window_as_a_sum_per_deal_does(
        changes: list[tuple[str, str, OpenDeal | None]], windows: list[tuple[datetime, datetime]]) -> None:
    probabilities = load_stage_probabilities(None)
    pipeline, held = Pipeline(), dict[str, tuple[str, OpenDeal]]()
    for rep, deal_id, version in changes:
        # a deal is one rep's at a time: a new version of it for another rep replaces it there
        if deal_id in held:
            pipeline.remove(held.pop(deal_id)[0], deal_id)
        if version is not None:
            pipeline.put(rep, deal_id, version)
            held[deal_id] = (rep, version)
        for lo, hi in windows:
            expected = sum((deal.amount * probabilities.of(deal.stage) for _, deal in held.values()
                            if lo <= deal.expected_close_at < hi), Decimal(0))
            assert pipeline.weighted_all(lo, hi, probabilities) == expected
            assert pipeline.weighted(pipeline.reps(), lo, hi, probabilities) == expected


def test_a_version_that_moves_its_expected_close_leaves_its_old_day() -> None:
    probabilities = load_stage_probabilities(None)
    p = Pipeline()
    nov_10, nov_20 = datetime(2026, 11, 10, 3, tzinfo=UTC), datetime(2026, 11, 20, 3, tzinfo=UTC)
    p.put("r1", "a", OpenDeal(Decimal("100.00"), "proposal", nov_10))
    p.put("r1", "a", OpenDeal(Decimal("100.00"), "negotiation", nov_20))  # the next version
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    assert p.weighted_all(start, end, probabilities) == Decimal("75.00")  # once, at its new stage
    assert p.weighted_all(start, nov_20, probabilities) == 0
    p.remove("r1", "a")
    assert p.weighted_all(start, end, probabilities) == 0


# -- the stage-probability file ------------------------------------------------------------------
def test_default_probabilities() -> None:
    p = load_stage_probabilities(None)
    assert [p.of(s) for s in ("prospect", "qualified", "proposal", "negotiation")] == [
        Decimal("0.10"), Decimal("0.25"), Decimal("0.50"), Decimal("0.75")]


@pytest.mark.parametrize("text,where", [
    ("stages: {prospect: '0.1', qualified: '0.2', proposal: '0.3'}", "stages.negotiation"),
    ("stages: {prospect: '1.5', qualified: '0.2', proposal: '0.3', negotiation: '0.4'}", "stages.prospect"),
    ("stages: {prospect: 'x', qualified: '0.2', proposal: '0.3', negotiation: '0.4'}", "stages.prospect"),
    ("stages: {prospect: '0.1', qualified: '0.2', proposal: '0.3', negotiation: '0.4', won: '1'}", "stages.won"),
    ("stage: {}", "stage"),
    ("[]", "forecast plan"),
])
def test_bad_probability_files_name_the_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "forecast.yaml"
    path.write_text(text)
    with pytest.raises(ForecastPlanError) as raised:
        load_stage_probabilities(str(path))
    assert str(raised.value).startswith(where), raised.value


def test_the_setting_points_the_engine_to_another_file(tmp_path: Path) -> None:
    path = tmp_path / "forecast.yaml"
    path.write_text("plan_id: flat\nstages: {prospect: '0.5', qualified: '0.5', proposal: '0.5', negotiation: '0.5'}\n")
    settings = Settings.from_env({"SCORECARD_FORECAST_PLAN": str(path)})
    engine = new_engine(settings)
    assert engine.stage_probabilities.plan_id == "flat"
    for ev in (*FACTS, *PIPELINE):
        engine.apply(record_from_event(ev))
    engine.wall_clock = AS_OF
    assert kpis(engine, "rep", "r1", "2026-11")["forecast_revenue"] == "3000.00"  # 1000 + 4 × 500


def test_gate_condition_type_is_shown_as_is() -> None:
    c = Condition("csat", ">=", Decimal("4.5"), "pass")
    assert NextBand(Decimal("0.08"), Decimal("1.005"), (c,)).to_json() == {
        "rate": 0.08, "revenue_needed": "1.01",
        "requires": [{"kpi": "csat", "op": ">=", "value": 4.5, "when_missing": "pass"}]}
