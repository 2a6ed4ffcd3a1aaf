"""Commission plan math (SPEC §7) with amounts worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from sales_scorecard.core.commission import CommissionPlan, PlanError, Tier, compute_commission, load_plans

DEFAULT = load_plans(None).default
TWO_BANDS = (Tier(D("0"), D("1.0"), D("0.05")), Tier(D("1.0"), None, D("0.08")))


def test_spec_example_default_plan() -> None:
    result = compute_commission(DEFAULT, D("1200000.00"), D("1000000.00"))
    assert result.amount == D("66000.00")  # 50,000 + 16,000
    assert [b.revenue for b in result.bands] == [D("1000000.00"), D("200000.00")]
    assert result.attainment == D("1.2") and result.flags == ()


@pytest.mark.parametrize("mode,revenue,expected", [
    ("marginal", "1200000.00", "66000.00"),
    ("retroactive", "1200000.00", "96000.00"),   # all revenue at 8%
    ("marginal", "800000.00", "40000.00"),
    ("retroactive", "800000.00", "40000.00"),    # highest band reached is 5%
    ("marginal", "0.00", "0.00"),
])
def test_marginal_against_retroactive(mode: str, revenue: str, expected: str) -> None:
    plan = CommissionPlan("p", TWO_BANDS, mode=mode)
    assert compute_commission(plan, D(revenue), D("1000000.00")).amount == D(expected)


def test_threshold_and_cap() -> None:
    plan = CommissionPlan("p", TWO_BANDS, threshold=D("0.5"), cap=D("50000.00"))
    below = compute_commission(plan, D("400000.00"), D("1000000.00"))
    assert below.amount == D("0.00") and below.flags == ("below_threshold",)
    at = compute_commission(plan, D("500000.00"), D("1000000.00"))
    assert at.amount == D("25000.00")
    capped = compute_commission(plan, D("1200000.00"), D("1000000.00"))
    assert capped.amount == D("50000.00") and "capped" in capped.flags


def test_no_target_pays_first_band_and_is_flagged() -> None:
    result = compute_commission(DEFAULT, D("10000.00"), None)
    assert result.amount == D("500.00") and result.flags == ("no_target",) and result.attainment is None


def test_delta_across_a_band_boundary_is_not_linear() -> None:
    target = D("1000000.00")
    old = compute_commission(DEFAULT, D("900000.00"), target).amount   # 45,000
    new = compute_commission(DEFAULT, D("1100000.00"), target).amount  # 50,000 + 8,000
    assert new - old == D("13000.00")
    assert new - old != D("200000.00") * D("0.05") and new - old != D("200000.00") * D("0.08")


def test_rounding_once_half_up() -> None:
    plan = CommissionPlan("p", (Tier(D("0"), None, D("0.035")),))
    assert compute_commission(plan, D("0.30"), D("100.00")).amount == D("0.01")  # 0.0105 -> 0.01
    assert compute_commission(plan, D("1.00"), D("100.00")).amount == D("0.04")  # 0.035 -> 0.04


def test_overrides_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("""
default: {plan_id: std, tiers: [{from: "0", to: null, rate: "0.05"}]}
teams: {t9: {plan_id: team9, mode: retroactive, tiers: [{from: "0", to: "1", rate: "0.04"}, {from: "1", to: null, rate: "0.1"}]}}
reps: {r1: {plan_id: rep1, tiers: [{from: "0", to: null, rate: "0.2"}]}}
""")
    plans = load_plans(str(path))
    assert plans.plan_for("r1", "t9").plan_id == "rep1"
    assert plans.plan_for("r2", "t9").plan_id == "team9"
    assert plans.plan_for("r2", "t1").plan_id == "std"
    path.write_text("default: {tiers: [{from: '0', to: '1', rate: x}]}")
    with pytest.raises(PlanError, match=r"default.tiers\[0\].rate"):
        load_plans(str(path))
    with pytest.raises(PlanError, match="cannot read"):
        load_plans(str(tmp_path / "missing.yaml"))
