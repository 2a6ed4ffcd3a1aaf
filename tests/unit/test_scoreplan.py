"""The weighted scorecard (contract §6) and its plan files."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.money import CONTEXT
from sales_scorecard.core.scoreplan import (
    ScorePlanError,
    achievement,
    check_kpis,
    evaluate,
    load_scorecard_plan,
    parse_plan,
)

PLAN = load_scorecard_plan(None).rep
NO_TARGETS: dict[str, D | None] = {"new_customers": None}


def by_kpi(kpis: dict[str, Any], months: int = 1, targets: dict[str, D | None] = NO_TARGETS) -> dict[str, Any]:
    return {c.kpi: c for c in evaluate(PLAN, kpis, months, targets).components}


def test_default_plan_is_spec_table() -> None:
    assert [(c.kpi, c.dimension, c.weight, c.direction, c.cap) for c in PLAN.components] == [
        ("weighted_attainment", "financial", 40, "higher", 1), ("win_rate", "process", 10, "higher", 1),
        ("new_customers", "customer", 10, "higher", 1), ("csat", "customer", 10, "higher", 1),
        ("complaint_rate", "customer", 10, "lower", 1), ("contact_coverage", "process", 10, "higher", 1),
        ("training_hours", "learning", 10, "higher", 1), ("review_score", "learning", 10, "higher", 1)]
    goals = {c.kpi: c.goal.resolve(1, NO_TARGETS) for c in PLAN.components}
    assert goals == {"weighted_attainment": D("1.0"), "win_rate": D("0.30"), "new_customers": 2, "csat": D("4.5"),
                     "complaint_rate": D("0.05"), "contact_coverage": D("1.0"), "training_hours": 4,
                     "review_score": D("4.0")}


@pytest.mark.parametrize("period,months,new_customers_goal,training_goal", [
    ("month", 1, 2, 4), ("quarter", 3, 6, 12), ("year", 12, 24, 48), ("R30D", 1, 2, 4), ("R90D", 3, 6, 12)])
def test_per_month_goals_scale(period: str, months: int, new_customers_goal: int, training_goal: int) -> None:
    components = by_kpi({"new_customers": 1, "training_hours": D(1)}, months)
    assert components["new_customers"].goal == new_customers_goal
    assert components["training_hours"].goal == training_goal
    assert components["win_rate"].goal == D("0.30")  # fixed goals do not scale


def test_score_over_non_null_components() -> None:
    kpis = {"weighted_attainment": D("0.5"), "win_rate": D("0.6"), "new_customers": 1, "csat": None,
            "complaint_rate": D("0.1"), "contact_coverage": None, "training_hours": D("2")}
    result = evaluate(PLAN, kpis, months=1, targets=NO_TARGETS)
    # achievements: 0.5, 1 (capped from 2), 1/2, -, 0.05/0.1 = 0.5, -, 2/4 = 0.5 ; weights 40+10+10+10+10 = 80
    # score = 100 × (20 + 10 + 5 + 5 + 5) / 80 = 56.25
    assert result.score == D("56.25")
    components = {c.kpi: c for c in result.components}
    assert [components[k].achievement for k in ("weighted_attainment", "win_rate", "new_customers", "complaint_rate",
                                                  "training_hours")] == [D("0.5"), 1, D("0.5"), D("0.5"), D("0.5")]
    assert components["csat"].achievement is None and components["csat"].value is None
    assert components["csat"].goal == D("4.5")  # the goal is still shown for explanation
    assert len(result.components) == 8  # review_score (contract §12) is null here too


def test_new_customers_goal_from_target() -> None:
    c = by_kpi({"new_customers": 4}, 3, {"new_customers": D(5)})["new_customers"]
    assert (c.goal, c.achievement) == (5, D("0.8"))
    # A target of 0 new customers gives no ratio: the component is left out, not divided by 0.
    result = evaluate(PLAN, {"new_customers": 4, "win_rate": D("0.15")}, 1, {"new_customers": D(0)})
    assert result.components[2].achievement is None and result.score == D(50)


def test_lower_is_better() -> None:
    assert by_kpi({"complaint_rate": D(0)})["complaint_rate"].achievement == 1  # 0 complaints: full achievement
    assert by_kpi({"complaint_rate": D("0.025")})["complaint_rate"].achievement == 1  # better than goal: capped
    assert by_kpi({"complaint_rate": D("0.2")})["complaint_rate"].achievement == D("0.25")


def test_all_null_is_null() -> None:
    assert evaluate(PLAN, {}, 1, {}).score is None
    assert evaluate(PLAN, {k.kpi: None for k in PLAN.components}, 1, NO_TARGETS).score is None


def test_score_is_exact() -> None:
    result = evaluate(PLAN, {"weighted_attainment": D(1), "win_rate": D("0.1")}, 1, NO_TARGETS)
    # 100 × (40 + 10/3) / 50 = 86.666…
    assert result.score == CONTEXT.divide(D(100) * (40 + CONTEXT.divide(D(10), D(3))), D(50))


@pytest.mark.parametrize("value,goal,direction,cap,expected", [
    ("0", "0.05", "lower", "1.0", "1.0"),
    ("0", "0.05", "lower", "1.2", "1.2"),   # full achievement is the cap
    ("0.1", "0.05", "lower", "1.0", "0.5"),
    ("0.01", "0", "lower", "1.0", "0"),
    ("2", "1", "higher", "1.0", "1.0"),
    ("2", "1", "higher", "1.5", "1.5"),
    ("1.2", "1", "higher", "1.5", "1.2"),
    ("-1", "1", "higher", "1.0", "0"),      # negative growth: never below 0
    ("0", "1", "higher", "1.0", "0"),
])
def test_achievement(value: str, goal: str, direction: str, cap: str, expected: str) -> None:
    assert achievement(D(value), D(goal), direction, D(cap)) == D(expected)


def test_achievement_undefined_for_zero_goal_higher() -> None:
    assert achievement(D(3), D(0), "higher", D(1)) is None


def test_cap_above_one_lifts_the_score() -> None:
    plan = parse_plan({"components": [
        {"kpi": "attainment", "dimension": "financial", "weight": "1", "goal": "1", "cap": "1.5"}]})
    assert evaluate(plan, {"attainment": D("1.2")}, 1, {}).score == D(120)


ratios = st.decimals(min_value=0, max_value=10, places=4, allow_nan=False, allow_infinity=False)


@given(st.fixed_dictionaries({c.kpi: st.none() | ratios for c in PLAN.components}), st.sampled_from([1, 3, 12]))
def test_score_is_the_weighted_mean_of_achievements(kpis: dict[str, D | None], months: int) -> None:
    result = evaluate(PLAN, kpis, months, NO_TARGETS)
    included = [(c.weight, c.achievement) for c in result.components if c.achievement is not None]
    assert all(0 <= a <= 1 for _, a in included)
    assert {c.kpi for c in result.components if c.achievement is None} == {k for k, v in kpis.items() if v is None}
    if not included:
        assert result.score is None
    else:
        assert result.score is not None and 0 <= result.score <= 100
        mean = sum(w * a for w, a in included) / sum(w for w, _ in included)
        assert abs(result.score - 100 * mean) < D("1e-20")


def test_non_numeric_kpi_is_a_plan_error() -> None:
    plan = parse_plan({"components": [{"kpi": "activities", "dimension": "process", "weight": "1", "goal": "1"}]})
    with pytest.raises(ScorePlanError, match="activities"):
        evaluate(plan, {"activities": {"call": 3}}, 1, {})
    with pytest.raises(ScorePlanError, match="bool"):
        evaluate(plan, {"activities": True}, 1, {})
    with pytest.raises(ScorePlanError, match="float"):
        evaluate(plan, {"activities": 0.5}, 1, {})


def test_months_must_be_positive() -> None:
    with pytest.raises(ValueError, match="months"):
        evaluate(PLAN, {}, 0, {})


def test_check_kpis() -> None:
    check_kpis(PLAN, [c.kpi for c in PLAN.components] + ["revenue"])
    with pytest.raises(ScorePlanError, match=r"components\[3\]\.kpi: unknown KPI 'csat'"):
        check_kpis(PLAN, ["weighted_attainment", "win_rate", "new_customers"])


# -- plan files --------------------------------------------------------------------------

def test_load_from_a_path_with_unquoted_numbers(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("plan_id: p1\ncomponents:\n"
                    "  - {kpi: win_rate, dimension: process, weight: 3, goal: 0.3}\n"
                    "  - {kpi: new_customers, dimension: customer, weight: 1, goal: {target: new_customers}}\n")
    plans = load_scorecard_plan(str(path))
    # A file without scopes applies to every scope (contract §12).
    assert plans.rep is plans.team is plans.company
    plan = plans.rep
    assert plan.plan_id == "p1" and plan.components[0].goal.fixed == D("0.3") and plan.components[0].weight == 3
    assert plan.components[0].direction == "higher" and plan.components[0].cap == 1
    # A target-only goal without a target has no goal: the component is left out.
    result = evaluate(plan, {"win_rate": D("0.3"), "new_customers": 3}, 1, NO_TARGETS)
    assert result.components[1].goal is None and result.score == 100


def component(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"kpi": "win_rate", "dimension": "process", "weight": "10", "goal": "0.3"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("data,message", [
    ([], r"^scorecard plan: expected a mapping"),
    ({"components": []}, r"^components: expected a non-empty list"),
    ({"components": [component()], "name": "x"}, r"^name: unknown key"),
    ({"components": [component(wieght="1")]}, r"^components\[0\]\.wieght: unknown key"),
    ({"components": [component(dimension=None)]}, r"^components\[0\]\.dimension: missing"),
    ({"components": [component(dimension="luck")]}, r"^components\[0\]\.dimension: expected one of"),
    ({"components": [component(direction="down")]}, r"^components\[0\]\.direction: expected one of"),
    ({"components": [component(kpi="")]}, r"^components\[0\]\.kpi"),
    ({"components": [component(weight="-1")]}, r"^components\[0\]\.weight: must be"),
    ({"components": [component(weight="0")]}, r"^components: at least one weight"),
    ({"components": [component(goal="0")]}, r"^components\[0\]\.goal: must be a finite decimal > 0"),
    ({"components": [component(goal="abc")]}, r"^components\[0\]\.goal: not a decimal"),
    ({"components": [component(goal={})]}, r"^components\[0\]\.goal: needs value, per_month"),
    ({"components": [component(goal={"per_moth": "2"})]}, r"^components\[0\]\.goal\.per_moth: unknown key"),
    ({"components": [component(goal={"target": "deals"})]}, r"^components\[0\]\.goal\.target: expected one of"),
    ({"components": [component(goal={"per_month": "-2"})]}, r"^components\[0\]\.goal\.per_month: must be"),
    ({"components": [component(cap="0")]}, r"^components\[0\]\.cap: must be"),
    ({"components": [component(), "win_rate"]}, r"^components\[1\]: expected a mapping"),
    ({"plan_id": 7, "components": [component()]}, r"^plan_id"),
])
def test_bad_plans_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(ScorePlanError, match=message):
        parse_plan(data)


def test_unreadable_or_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ScorePlanError, match="cannot read"):
        load_scorecard_plan(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("components: [")
    with pytest.raises(ScorePlanError, match="not valid YAML"):
        load_scorecard_plan(str(bad))
