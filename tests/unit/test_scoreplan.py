"""The weighted scorecard (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from sales_scorecard.core.scoreplan import ScorePlanError, achievement, evaluate, load_scorecard_plan, parse_plan

PLAN = load_scorecard_plan(None)


def test_default_plan_is_spec_table() -> None:
    assert [(c.kpi, c.dimension, c.weight) for c in PLAN.components] == [
        ("weighted_attainment", "financial", 40), ("win_rate", "process", 10), ("new_customers", "customer", 10),
        ("csat", "customer", 10), ("complaint_rate", "customer", 10), ("contact_coverage", "process", 10),
        ("training_hours", "learning", 10)]


def test_score_over_non_null_components() -> None:
    kpis = {"weighted_attainment": D("0.5"), "win_rate": D("0.6"), "new_customers": 1, "csat": None,
            "complaint_rate": D("0.1"), "contact_coverage": None, "training_hours": D("2")}
    result = evaluate(PLAN, kpis, months=1, targets={"new_customers": None})
    # achievements: 0.5, 1 (capped), 1/2, -, 0.05/0.1 = 0.5, -, 2/4 = 0.5 ; weights 40,10,10,10,10
    expected = D(100) * (40 * D("0.5") + 10 * 1 + 10 * D("0.5") + 10 * D("0.5") + 10 * D("0.5")) / 80
    assert result.score == expected
    by_kpi = {c.kpi: c for c in result.components}
    assert by_kpi["csat"].achievement is None and by_kpi["new_customers"].goal == 2


def test_goals_scale_with_months_and_targets() -> None:
    result = evaluate(PLAN, {"new_customers": 3, "training_hours": D("12")}, months=3, targets={"new_customers": D("3")})
    by_kpi = {c.kpi: c for c in result.components}
    assert by_kpi["new_customers"].goal == 3 and by_kpi["new_customers"].achievement == 1
    assert by_kpi["training_hours"].goal == 12
    assert result.score == 100


@pytest.mark.parametrize("value,goal,direction,expected", [
    ("0", "0.05", "lower", "1.0"), ("0.1", "0.05", "lower", "0.5"), ("2", "1", "higher", "1.0"), ("-1", "1", "higher", "0")])
def test_achievement(value: str, goal: str, direction: str, expected: str) -> None:
    assert achievement(D(value), D(goal), direction, D("1.0")) == D(expected)


def test_all_null_is_null_and_bad_plan_is_an_error() -> None:
    assert evaluate(PLAN, {}, 1, {}).score is None
    with pytest.raises(ScorePlanError, match="dimension"):
        parse_plan({"components": [{"kpi": "x", "weight": "1", "goal": "1", "dimension": "luck"}]})
