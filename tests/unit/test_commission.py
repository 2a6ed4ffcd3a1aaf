"""Commission plan math (contract §7, gated bands §11) with amounts worked out by hand, and plan-file checks."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.commission import (
    CommissionPlan,
    Condition,
    PlanError,
    Tier,
    compute_commission,
    load_plans,
)

DEFAULT = load_plans(None).default
TWO_BANDS = (Tier(D("0"), D("1.0"), D("0.05")), Tier(D("1.0"), None, D("0.08")))
GOOD_SERVICE = Condition("csat", ">=", D("4.5"), "pass")
THREE_BANDS = (Tier(D("0"), D("0.5"), D("0.02")), Tier(D("0.5"), D("1.0"), D("0.04")), Tier(D("1.0"), None, D("0.10")))
MILLION = D("1000000.00")


def test_packaged_default_is_the_spec_plan() -> None:
    assert DEFAULT.mode == "marginal" and DEFAULT.threshold is None and DEFAULT.cap is None
    assert DEFAULT.tiers == (TWO_BANDS[0], Tier(D("1.0"), None, D("0.08"), (GOOD_SERVICE,)))
    plans = load_plans(None)
    assert plans.by_team == {} and plans.by_rep == {}


def test_spec_example_default_plan() -> None:
    result = compute_commission(DEFAULT, D("1200000.00"), MILLION)
    assert result.amount == D("66000.00")  # 50,000 + 16,000
    assert [(b.rate, b.revenue, b.commission_unrounded) for b in result.bands] == [
        (D("0.05"), MILLION, D("50000")), (D("0.08"), D("200000.00"), D("16000"))]
    assert result.attainment == D("1.2") and result.flags == ()


@pytest.mark.parametrize("revenue,expected", [
    ("0.00", "0.00"),
    ("500000.00", "25000.00"),
    ("1000000.00", "50000.00"),      # exactly at target: nothing in the 8% band
    ("1000000.01", "50000.00"),      # 50,000 + 0.0008 rounds away
    ("1000000.07", "50000.01"),      # 50,000 + 0.0056
    ("2000000.00", "130000.00"),     # 50,000 + 80,000
])
def test_default_plan_table(revenue: str, expected: str) -> None:
    assert compute_commission(DEFAULT, D(revenue), MILLION).amount == D(expected)


@pytest.mark.parametrize("tiers,mode,revenue,expected", [
    (TWO_BANDS, "marginal", "1200000.00", "66000.00"),
    (TWO_BANDS, "retroactive", "1200000.00", "96000.00"),   # all revenue at 8%
    (TWO_BANDS, "marginal", "800000.00", "40000.00"),
    (TWO_BANDS, "retroactive", "800000.00", "40000.00"),    # highest band reached is 5%
    (TWO_BANDS, "retroactive", "1000000.00", "80000.00"),   # reaching 100% reaches the 8% band
    (TWO_BANDS, "retroactive", "0.00", "0.00"),
    (THREE_BANDS, "marginal", "1500000.00", "80000.00"),    # 10,000 + 20,000 + 50,000
    (THREE_BANDS, "retroactive", "1500000.00", "150000.00"),
    (THREE_BANDS, "marginal", "700000.00", "18000.00"),     # 10,000 + 8,000
    (THREE_BANDS, "retroactive", "700000.00", "28000.00"),  # 700,000 at 4%
])
def test_marginal_against_retroactive(tiers: tuple[Tier, ...], mode: str, revenue: str, expected: str) -> None:
    plan = CommissionPlan("p", tiers, mode=mode)
    assert compute_commission(plan, D(revenue), MILLION).amount == D(expected)


def test_retroactive_explains_with_the_band_reached() -> None:
    result = compute_commission(CommissionPlan("p", THREE_BANDS, mode="retroactive"), D("700000.00"), MILLION)
    assert [(b.from_attainment, b.rate, b.revenue) for b in result.bands] == [(D("0.5"), D("0.04"), D("700000.00"))]


def test_threshold() -> None:
    plan = CommissionPlan("p", TWO_BANDS, threshold=D("0.5"))
    below = compute_commission(plan, D("499999.99"), MILLION)
    assert below.amount == D("0.00") and below.bands == () and below.flags == ("below_threshold",)
    assert below.attainment == D("0.49999999")
    assert compute_commission(plan, D("500000.00"), MILLION).amount == D("25000.00")  # at threshold: paid in full
    retro = CommissionPlan("p", TWO_BANDS, mode="retroactive", threshold=D("0.5"))
    assert compute_commission(retro, D("400000.00"), MILLION).amount == D("0.00")


def test_cap() -> None:
    plan = CommissionPlan("p", TWO_BANDS, cap=D("50000.00"))
    capped = compute_commission(plan, D("1200000.00"), MILLION)
    assert capped.amount == D("50000.00") and capped.flags == ("capped",)
    assert sum(b.commission_unrounded for b in capped.bands) == D("66000")  # bands still explain the uncapped sum
    assert compute_commission(plan, MILLION, MILLION).flags == ()  # exactly at the cap is not capped
    no_target = compute_commission(plan, D("2000000.00"), None)
    assert no_target.amount == D("50000.00") and no_target.flags == ("no_target", "capped")


@pytest.mark.parametrize("target", [None, D("0"), D("0.00")])
def test_no_target_pays_first_band_and_is_flagged(target: D | None) -> None:
    for mode in ("marginal", "retroactive"):
        # The threshold cannot apply without an attainment.
        plan = CommissionPlan("p", TWO_BANDS, mode=mode, threshold=D("0.5"))
        result = compute_commission(plan, D("10000.00"), target)
        assert result.amount == D("500.00") and result.flags == ("no_target",) and result.attainment is None
        assert [(b.rate, b.revenue) for b in result.bands] == [(D("0.05"), D("10000.00"))]


def test_zero_revenue() -> None:
    result = compute_commission(DEFAULT, D("0.00"), MILLION)
    assert (result.amount, result.attainment, result.flags, result.bands) == (D("0.00"), D(0), (), ())
    assert compute_commission(DEFAULT, D("0.00"), None).amount == D("0.00")


@pytest.mark.parametrize("mode,old_revenue,new_revenue,delta", [
    ("marginal", "900000.00", "1100000.00", "13000.00"),     # 45,000 -> 50,000 + 8,000
    ("retroactive", "900000.00", "1100000.00", "43000.00"),  # 45,000 -> 88,000
])
def test_delta_across_a_band_boundary_is_not_linear(mode: str, old_revenue: str, new_revenue: str, delta: str) -> None:
    plan = CommissionPlan("p", TWO_BANDS, mode=mode)
    old = compute_commission(plan, D(old_revenue), MILLION).amount
    new = compute_commission(plan, D(new_revenue), MILLION).amount
    assert new - old == D(delta)
    revenue_delta = D(new_revenue) - D(old_revenue)
    assert new - old not in (revenue_delta * D("0.05"), revenue_delta * D("0.08"))


def test_rounding_once_half_up() -> None:
    plan = CommissionPlan("p", (Tier(D("0"), None, D("0.035")),))
    assert compute_commission(plan, D("0.30"), D("100.00")).amount == D("0.01")  # 0.0105 -> 0.01
    assert compute_commission(plan, D("1.00"), D("100.00")).amount == D("0.04")  # 0.035 -> 0.04 (half-up)
    # Two bands of 0.005 each: rounding each would give 0.02, rounding the sum gives 0.01.
    halves = CommissionPlan("p", (Tier(D("0"), D("1"), D("0.05")), Tier(D("1"), None, D("0.05"))))
    assert compute_commission(halves, D("0.20"), D("0.10")).amount == D("0.01")


money = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)
positive_money = st.decimals(min_value=D("0.01"), max_value=10**12, places=2, allow_nan=False, allow_infinity=False)


@given(money, positive_money)
def test_default_plan_closed_form(revenue: D, target: D) -> None:
    expected = min(revenue, target) * D("0.05") + max(D(0), revenue - target) * D("0.08")
    result = compute_commission(DEFAULT, revenue, target)
    assert result.amount == expected.quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert sum(b.revenue for b in result.bands) == revenue  # the slices cover the revenue exactly


@given(money, money, positive_money, st.sampled_from([TWO_BANDS, THREE_BANDS]))
def test_more_revenue_never_pays_less(a: D, b: D, target: D, tiers: tuple[Tier, ...]) -> None:
    low, high = sorted((a, b))
    for mode in ("marginal", "retroactive"):
        plan = CommissionPlan("p", tiers, mode=mode)
        assert compute_commission(plan, low, target).amount <= compute_commission(plan, high, target).amount
    marginal = compute_commission(CommissionPlan("p", tiers), high, target).amount
    retroactive = compute_commission(CommissionPlan("p", tiers, mode="retroactive"), high, target).amount
    assert marginal <= retroactive  # rates rise with the bands


# -- gated bands (contract §11) -----------------------------------------------------------

def kpis(**values: str | None) -> object:
    """The month's KPI values for a gate, as the engine hands them (read at most once)."""
    return lambda: {name: None if v is None else D(v) for name, v in values.items()}


def never_read() -> dict:
    raise AssertionError("the gate's KPIs were read although no revenue reached a gated band")


@pytest.mark.parametrize("month,expected", [
    (kpis(csat="4.2"), "60000.00"),    # 1,200,000 x 5 %: the 8 % gate fails, its slice earns 5 %
    (kpis(csat="4.6"), "66000.00"),    # 1,000,000 x 5 % + 200,000 x 8 %
    (kpis(csat=None), "66000.00"),     # no survey: when_missing pass
    (kpis(), "66000.00"),              # no KPI at all: missing as well
    (kpis(csat="4.5"), "66000.00"),    # exactly at the bar: >= holds
    (kpis(csat="4.4999"), "60000.00"),
])
def test_default_plan_gate_on_a_120_percent_month(month: object, expected: str) -> None:
    assert compute_commission(DEFAULT, D("1200000.00"), MILLION, month).amount == D(expected)  # type: ignore[arg-type]


def test_statement_bands_carry_the_gate_result() -> None:
    failed = compute_commission(DEFAULT, D("1200000.00"), MILLION, kpis(csat="4.2"))  # type: ignore[arg-type]
    first, second = failed.bands
    assert (first.rate, first.paid_rate, first.revenue, first.commission_unrounded) == (
        D("0.05"), D("0.05"), MILLION, D("50000"))
    assert first.gate == () and first.gate_passed is None
    assert (second.rate, second.paid_rate, second.revenue, second.commission_unrounded) == (
        D("0.08"), D("0.05"), D("200000.00"), D("10000"))
    assert second.gate_passed is False
    (check,) = second.gate
    assert (check.condition, check.actual, check.passed) == (GOOD_SERVICE, D("4.2"), False)
    missing = compute_commission(DEFAULT, D("1200000.00"), MILLION, kpis()).bands[1]  # type: ignore[arg-type]
    assert missing.gate_passed is True and missing.gate[0].actual is None and missing.paid_rate == D("0.08")


def test_when_missing_fail() -> None:
    strict = Condition("csat", ">=", D("4.5"), "fail")
    plan = CommissionPlan("p", (TWO_BANDS[0], Tier(D("1.0"), None, D("0.08"), (strict,))))
    assert compute_commission(plan, D("1200000.00"), MILLION, kpis()).amount == D("60000.00")  # type: ignore[arg-type]
    assert compute_commission(plan, D("1200000.00"), MILLION, kpis(csat="4.8")).amount == D("66000.00")  # type: ignore[arg-type]


@pytest.mark.parametrize("op,actual,passed", [
    (">=", "0.05", True), (">=", "0.06", True), (">=", "0.04", False),
    ("<=", "0.05", True), ("<=", "0.04", True), ("<=", "0.06", False),
    (">", "0.05", False), (">", "0.06", True), (">", "0.04", False),
    ("<", "0.05", False), ("<", "0.04", True), ("<", "0.06", False),
])
def test_each_comparison(op: str, actual: str, passed: bool) -> None:
    rule = Condition("complaint_rate", op, D("0.05"), "fail")
    assert rule.check({"complaint_rate": D(actual)}).passed is passed
    plan = CommissionPlan("p", (TWO_BANDS[0], Tier(D("1.0"), None, D("0.08"), (rule,))))
    # 1,100,000 on 1,000,000: 50,000 + 100,000 at 8 % (8,000) or at 5 % (5,000)
    amount = compute_commission(plan, D("1100000.00"), MILLION, kpis(complaint_rate=actual)).amount  # type: ignore[arg-type]
    assert amount == D("58000.00" if passed else "55000.00")


THREE_GATED = (
    Tier(D("0"), D("1.0"), D("0.05")),
    Tier(D("1.0"), D("1.5"), D("0.08"), (Condition("complaints", "<", D("1"), "pass"),)),
    Tier(D("1.5"), None, D("0.10"), (Condition("csat", ">=", D("4.8"), "fail"),)),
)


@pytest.mark.parametrize("month,expected", [
    # 2,000,000 on 1,000,000: slices 1,000,000 | 500,000 | 500,000
    (kpis(csat="4.9", complaints="0"), "140000.00"),  # 50,000 + 40,000 + 50,000
    (kpis(csat="4.6", complaints="0"), "130000.00"),  # top gate fails: its slice at 8 % -> 50,000 + 40,000 + 40,000
    (kpis(csat="4.6", complaints="2"), "100000.00"),  # both fail: everything at 5 %
    (kpis(csat="4.9", complaints="1"), "125000.00"),  # middle fails (5 %: 25,000), top holds its own 10 %: 50,000
])
def test_highest_lower_band_whose_gate_holds(month: object, expected: str) -> None:
    plan = CommissionPlan("p", THREE_GATED)
    result = compute_commission(plan, D("2000000.00"), MILLION, month)  # type: ignore[arg-type]
    assert result.amount == D(expected)
    assert sum(b.revenue for b in result.bands) == D("2000000.00")


def test_retroactive_gate() -> None:
    plan = CommissionPlan("p", DEFAULT.tiers, mode="retroactive")
    assert compute_commission(plan, D("1200000.00"), MILLION, kpis(csat="4.6")).amount == D("96000.00")  # all at 8 %
    failed = compute_commission(plan, D("1200000.00"), MILLION, kpis(csat="4.2"))  # type: ignore[arg-type]
    assert failed.amount == D("60000.00")  # all at 5 %
    assert [(b.rate, b.paid_rate, b.gate_passed) for b in failed.bands] == [(D("0.08"), D("0.05"), False)]


def test_kpis_are_read_only_when_a_gated_band_is_reached() -> None:
    assert compute_commission(DEFAULT, D("800000.00"), MILLION, never_read).amount == D("40000.00")
    assert compute_commission(DEFAULT, D("800000.00"), None, never_read).amount == D("40000.00")  # no target
    reads = []
    compute_commission(DEFAULT, D("1200000.00"), MILLION, lambda: reads.append(1) or {})  # type: ignore[func-returns-value]
    assert reads == [1]


# -- plan files --------------------------------------------------------------------------

def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("""
default: {plan_id: std, tiers: [{from: "0", to: null, rate: "0.05"}]}
teams:
  t9:
    plan_id: team9
    mode: retroactive
    tiers: [{from: "0", to: "1", rate: "0.04"}, {from: "1", to: null, rate: "0.1"}]
reps: {r1: {plan_id: rep1, tiers: [{from: "0", to: null, rate: "0.2"}]}}
""")
    plans = load_plans(str(path))
    assert plans.plan_for("r1", "t9").plan_id == "rep1"
    assert plans.plan_for("r2", "t9").plan_id == "team9" and plans.plan_for("r2", "t9").mode == "retroactive"
    assert plans.plan_for("r2", "t1").plan_id == "std"
    assert plans.plan_for("r2", None).plan_id == "std"


def test_unquoted_numbers_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("default: {tiers: [{from: 0, to: 1.0, rate: 0.05}, {from: 1.0, to: null, rate: 0.08}], cap: 1000}")
    plan = load_plans(str(path)).default
    assert plan.tiers == TWO_BANDS and plan.cap == D(1000) and plan.plan_id == "default"
    assert str(plan.tiers[0].rate) == "0.05"


GOOD_TIERS = '[{from: "0", to: "1", rate: "0.05"}, {from: "1", to: null, rate: "0.08"}]'


def _gated(condition: str) -> str:
    return f"default: {{tiers: [{{from: '0', to: '1', rate: '0.05'}}, {{from: '1', to: null, rate: '0.08', " \
           f"requires: [{condition}]}}]}}"


@pytest.mark.parametrize("text,message", [
    ("default: {tiers: [{from: '0', to: null, rate: x}]}", r"^default\.tiers\[0\]\.rate: not a decimal"),
    ("default: {tiers: [{from: '0', to: null, rate: '-0.01'}]}", r"^default\.tiers\[0\]\.rate: must be >= 0"),
    ("default: {tiers: [{from: '0', to: null, rate: NaN}]}", r"^default\.tiers\[0\]\.rate: not a finite"),
    ("default: {tiers: [{from: '0', to: null, rate: true}]}", r"^default\.tiers\[0\]\.rate"),
    ("default: {tiers: [{from: '0', to: null}]}", r"^default\.tiers\[0\]\.rate: missing"),
    ("default: {tiers: [{from: '0', to: null, rate: '0.1', extra: 1}]}", r"^default\.tiers\[0\]\.extra: unknown key"),
    ("default: {tiers: []}", r"^default\.tiers: expected a non-empty list"),
    ("default: {tiers: [{from: '0.1', to: null, rate: '0.05'}]}", r"^default\.tiers\[0\]\.from: the first band"),
    ("default: {tiers: [{from: '0', to: '0.8', rate: '0.05'}, {from: '1', to: null, rate: '0.08'}]}",
     r"^default\.tiers\[1\]\.from: bands must be contiguous"),
    ("default: {tiers: [{from: '0', to: '1', rate: '0.05'}, {from: '1', to: '2', rate: '0.08'}]}",
     r"^default\.tiers\[1\]\.to: the last band must be open-ended"),
    ("default: {tiers: [{from: '0', to: '0', rate: '0.05'}, {from: '0', to: null, rate: '0.08'}]}",
     r"^default\.tiers\[0\]\.to: must be greater"),
    (f"default: {{mode: flat, tiers: {GOOD_TIERS}}}", r"^default\.mode: expected one of"),
    (f"default: {{treshold: '0.5', tiers: {GOOD_TIERS}}}", r"^default\.treshold: unknown key"),
    (f"default: {{cap: lots, tiers: {GOOD_TIERS}}}", r"^default\.cap: not a decimal"),
    (f"default: {{threshold: '-1', tiers: {GOOD_TIERS}}}", r"^default\.threshold: must be >= 0"),
    (f"default: {{plan_id: '', tiers: {GOOD_TIERS}}}", r"^default\.plan_id"),
    ("default: {tiers: [{from: '0', to: null, rate: '0.05', requires: [{kpi: csat, op: '>=', value: 4, "
     "when_missing: pass}]}]}", r"^default\.tiers\[0\]\.requires: the first band cannot be gated"),
    (_gated("{kpi: pace, op: '>=', value: 1, when_missing: pass}"),
     r"^default\.tiers\[1\]\.requires\[0\]\.kpi: a gate"),
    (_gated("{kpi: csat, op: '==', value: 4, when_missing: pass}"),
     r"^default\.tiers\[1\]\.requires\[0\]\.op: expected"),
    (_gated("{kpi: csat, op: '>=', value: 4}"), r"^default\.tiers\[1\]\.requires\[0\]\.when_missing: missing"),
    (_gated("{kpi: csat, op: '>=', value: 4, when_missing: maybe}"),
     r"^default\.tiers\[1\]\.requires\[0\]\.when_missing: expected one of"),
    (_gated("{kpi: csat, op: '>=', value: high, when_missing: pass}"),
     r"^default\.tiers\[1\]\.requires\[0\]\.value: not a decimal"),
    (_gated("{kpi: csat, op: '>=', value: 4, when_missing: pass, weight: 1}"),
     r"^default\.tiers\[1\]\.requires\[0\]\.weight: unknown key"),
    (f"default: {{tiers: {GOOD_TIERS}}}\nteam: {{}}", r"^team: unknown key"),
    (f"default: {{tiers: {GOOD_TIERS}}}\nteams: [t1]", r"^teams: expected a mapping"),
    (f"default: {{tiers: {GOOD_TIERS}}}\nteams: {{123: {{tiers: {GOOD_TIERS}}}}}", r"^teams\.123: ids must be strings"),
    (f"default: {{tiers: {GOOD_TIERS}}}\nreps: {{r1: {{tiers: [{{from: '0', rate: '1', to: '2'}}]}}}}",
     r"^reps\.r1\.tiers\[0\]\.to: the last band"),
    ("teams: {}", r"^default: missing"),
    ("- 1\n- 2", r"expected a mapping"),
    ("default: {tiers: [", r"not valid YAML"),
])
def test_bad_plan_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text(text)
    with pytest.raises(PlanError, match=message):
        load_plans(str(path))


def test_missing_file() -> None:
    with pytest.raises(PlanError, match="cannot read"):
        load_plans("/nonexistent/plans.yaml")


def test_plans_built_in_code_are_checked_too() -> None:
    with pytest.raises(PlanError, match="mode"):
        CommissionPlan("p", TWO_BANDS, mode="flat")
    with pytest.raises(PlanError, match="at least one band"):
        CommissionPlan("p", ())


def test_a_gate_reads_the_kpis_a_scorecard_shows() -> None:
    """bucket_kpis (what gates read) is compute_kpis's figures for the BUCKET_KPIS, and only those."""
    from sales_scorecard.cli.simulation import SimulationConfig, simulate
    from sales_scorecard.core.aggregates import EMPTY
    from sales_scorecard.core.engine import ScorecardEngine
    from sales_scorecard.core.kpis import BUCKET_KPIS, bucket_kpis, compute_kpis
    from sales_scorecard.schemas.records import record_from_event
    engine = ScorecardEngine("Asia/Shanghai")
    for event in simulate(SimulationConfig(seed=5, reps=6, teams=2, months=2, start_month="2026-10")):
        engine.apply(record_from_event(event))
    checked = 0
    for rep in ("r001", "r002", "r003"):
        for month in ("2026-10", "2026-11"):
            _, inputs, _ = engine.inputs("rep", rep, month)  # type: ignore[misc]
            full = compute_kpis(inputs)
            gate = bucket_kpis(engine.buckets.get(("rep", rep, month), EMPTY))
            assert set(gate) == BUCKET_KPIS and gate == {k: full[k] for k in BUCKET_KPIS}
            checked += gate["csat"] is not None and gate["complaint_rate"] is not None
    assert checked  # some month had both surveys and complaints
