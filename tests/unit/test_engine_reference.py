"""The engine against the independent reference model (tests/reference/) on a simulated
history with reviews, engagement surveys and one team's split targets (contract §12):
every calendar key's KPIs and score, key by key, as the real-broker comparisons do."""

from __future__ import annotations

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.schemas.records import record_from_event
from tests.integration.compare import assert_kpis_equal, assert_score_equal
from tests.reference.model import built_model


def test_every_calendar_key_matches_the_reference_kpis_and_score() -> None:
    events = simulate(SimulationConfig(seed=11, reps=40, teams=4, months=4, start_month="2026-07",
                                       split_targets=True))
    engine = ScorecardEngine("Asia/Shanghai")
    for event in events:
        engine.apply(record_from_event(event))
    model = built_model(events)
    known = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    keys = {k for k in known if k[2] not in ("R30D", "R90D")}
    assert keys == {k for k in engine.all_keys() if k[2] not in ("R30D", "R90D")}
    seen: dict[str, set[bool]] = {"review_score": set(), "self_rating": set(), "team_engagement": set(),
                                  "review_coverage": set()}
    for key in sorted(keys):
        content = engine.render(*key)
        assert content is not None, key
        want = model.kpis(*key)
        assert_kpis_equal(key, content["kpis"], want)
        assert_score_equal(key, content["score"], want["score"])
        for name in seen:
            if name in want:
                seen[name].add(want[name] is None)
    # The history exercises every review KPI both null and not (engagement below 3
    # respondents, a rep with only two peers or a self-rating), and split shares.
    assert all(v == {True, False} for v in seen.values()), seen
    assert any(model.target_source(id, period) == "split" for scope, id, period in keys if scope == "rep")
    # 4 teams, unassigned and the company over 4 months, 2 quarters and a year, under the managers' plan
    assert sum(1 for k in keys if k[0] != "rep" and model.kpis(*k)["score"] is not None) >= 30
