"""Statements at close and adjustments after it, appeals too; amounts worked out by hand (contract §7, §10)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sales_scorecard.core.disputes import AdjustmentLink, AdjustmentRequest, appeal_adjustment_id
from sales_scorecard.core.engine import PayChange, ScorecardEngine
from sales_scorecard.core.payroll import PaidState, PayrollLedger, dispute_links, first_open_month
from sales_scorecard.schemas.contracts import validator
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, close_period, complaint, deal, roster, target

NOV = "2026-11-{:02d}T10:00:00+08:00"


def errors(name: str, instance: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def run(engine: ScorecardEngine, ledger: PayrollLedger, *events: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for ev in events:
        engine.apply(record_from_event(ev))
        if ev["type"] == "close_period":  # as the agent does: statements only when a month closes
            out += [o.event for o in ledger.post_statements(engine, "2026-12-01T00:00:00.000Z")]
        out += [o.event for o in ledger.adjust(engine, engine.take_payroll_changes(), "2026-12-01T00:00:00.000Z")]
    return out


def setup() -> tuple[ScorecardEngine, PayrollLedger, list[dict[str, Any]]]:
    engine, ledger = ScorecardEngine("Asia/Shanghai"), PayrollLedger()
    out = run(engine, ledger,
              roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"),
              target("rep", "r1", "2026-11", "1000000.00"), target("rep", "r2", "2026-11", "100000.00"),
              deal("d1", "r1", "c1", "700000.00", closed_at=NOV.format(5)),
              deal("d2", "r1", "c2", "500000.00", closed_at=NOV.format(10)),
              deal("d3", "r2", "c3", "50000.00", closed_at=NOV.format(12)))
    assert out == []  # nothing is paid before the month closes
    return engine, ledger, run(engine, ledger, close_period("2026-11"))


def test_close_posts_one_statement_per_rep() -> None:
    engine, ledger, out = setup()
    by_rep = {e["rep_id"]: e for e in out}
    assert set(by_rep) == {"r1", "r2"}
    r1 = by_rep["r1"]
    assert r1["type"] == "payroll.statement" and r1["statement_id"] == "stmt:r1:2026-11"
    assert r1["revenue"] == "1200000.00" and r1["commission"] == "66000.00"  # 50,000 + 16,000
    assert [b["commission"] for b in r1["bands"]] == ["50000.00", "16000.00"]
    assert [i["deal_id"] for i in r1["line_items"]] == ["d1", "d2"]
    assert by_rep["r2"]["commission"] == "2500.00"
    # Closing the same month again emits nothing new.
    assert run(engine, ledger, close_period("2026-11")) == []


def test_later_changes_become_adjustments() -> None:
    engine, ledger, _ = setup()
    reversal = run(engine, ledger, deal("d2", "r1", "c2", "500000.00", stage="reversed", version=2,
                                        closed_at=NOV.format(10)))
    assert [(a["rep_id"], a["delta_revenue"], a["delta_commission"], a["reason"]) for a in reversal] == [
        ("r1", "-500000.00", "-31000.00", "reversal")]  # 66,000 -> 35,000 crosses the band boundary
    assert reversal[0]["original_statement_id"] == "stmt:r1:2026-11"
    assert reversal[0]["apply_in_period"] == "2026-12"
    amendment = run(engine, ledger, deal("d1", "r1", "c1", "800000.00", version=2, closed_at=NOV.format(5)))
    assert [(a["delta_revenue"], a["delta_commission"], a["reason"]) for a in amendment] == [
        ("100000.00", "5000.00", "amendment")]
    moved = run(engine, ledger, deal("d1", "r2", "c1", "800000.00", version=3, closed_at=NOV.format(5)))
    assert sorted((a["rep_id"], a["delta_revenue"], a["delta_commission"], a["reason"]) for a in moved) == [
        ("r1", "-800000.00", "-40000.00", "reassignment"),
        ("r2", "800000.00", "62500.00", "reassignment"),  # 2,500 -> 5,000 + 60,000
    ]
    late = run(engine, ledger, deal("d4", "r3", "c4", "10000.00", closed_at=NOV.format(20)))
    assert [(e["type"], e.get("commission"), e.get("delta_commission")) for e in late] == [
        ("payroll.statement", "0.00", None), ("payroll.adjustment", None, "500.00")]
    assert late[0]["flags"] == ["no_target", "late_statement"]
    # Adjustment ids are deterministic and sequential per rep and month.
    assert moved[0]["adjustment_id"] in ("adj:r1:2026-11:3", "adj:r2:2026-11:1")
    # The ledger now holds exactly the current figures.
    assert ledger.paid[("r1", "2026-11")].paid_commission == 0
    assert ledger.paid[("r2", "2026-11")].paid_revenue == 850000


def test_a_replayed_ledger_emits_nothing() -> None:
    engine, ledger, _ = setup()
    restored = PayrollLedger()
    for (rep, month), state in ledger.paid.items():
        restored.load(f"{rep}:{month}", PaidState.from_json(state.to_json()).to_json())
    assert restored.post_statements(engine, "x") == []
    assert restored.adjust(engine, {("r1", "2026-11"): PayChange("restatement", "d1")}, "x") == []


def test_first_open_month() -> None:
    assert first_open_month({"2026-11", "2026-12"}, "2026-11") == "2027-01"
    assert first_open_month(set(), "2026-11") == "2026-12"


# -- appeals (contract §10) ------------------------------------------------------------
# setup() leaves November closed with r1 paid 66,000.00 (target 1,000,000.00, revenue
# 1,200,000.00: 5 % of 1,000,000 + 8 % of 200,000) and r2 paid 2,500.00 (5 % of 50,000).

POSTED = "2026-12-05T00:00:00.000Z"


def appeal(dispute_id: str, rep_id: str, amount: str, month: str = "2026-11") -> AdjustmentRequest:
    return AdjustmentRequest(appeal_adjustment_id(dispute_id), dispute_id, rep_id, month, Decimal(amount))


def test_an_upheld_appeal_on_a_closed_month_pays_its_amount_once_in_the_first_open_month() -> None:
    engine, ledger, _ = setup()
    out = ledger.post_appeal(engine, appeal("DSP-1", "r1", "3000.00"), POSTED)
    assert [o.event for o in out] == [{
        "event_id": "adj:appeal:DSP-1", "type": "payroll.adjustment", "schema_version": 1, "emitted_at": POSTED,
        "adjustment_id": "adj:appeal:DSP-1", "idempotency_key": "payroll:adj:appeal:DSP-1", "rep_id": "r1",
        "original_period": "2026-11", "original_statement_id": "stmt:r1:2026-11", "apply_in_period": "2026-12",
        "delta_revenue": "0.00", "delta_commission": "3000.00", "reason": "appeal", "deal_id": None,
        "dispute_id": "DSP-1", "posted_at": POSTED,
    }]
    assert errors("payroll.adjustment", out[0].event) == []
    assert out[0].state_key == "r1:2026-11"
    paid = ledger.paid[("r1", "2026-11")]
    # The formula's base is untouched; the appeal is kept beside it.
    assert (paid.paid_commission, paid.appeal_commission, paid.appeal_ids) == (
        Decimal("66000.00"), Decimal("3000.00"), ("adj:appeal:DSP-1",))
    # Replayed, by the same ledger or one restored from its stored states: nothing new.
    assert ledger.post_appeal(engine, appeal("DSP-1", "r1", "3000.00"), POSTED) == []
    restored = PayrollLedger()
    for (rep, month), state in ledger.paid.items():
        restored.load(f"{rep}:{month}", state.to_json())
    assert restored.post_appeal(engine, appeal("DSP-1", "r1", "3000.00"), POSTED) == []
    assert restored.post_statements(engine, POSTED) == []


def test_a_request_kept_before_the_paid_states_are_loaded_is_not_paid_again() -> None:
    engine, ledger, _ = setup()
    ledger.post_appeal(engine, appeal("DSP-1", "r1", "3000.00"), POSTED)
    restored = PayrollLedger()
    restored.request_appeal(appeal("DSP-1", "r1", "3000.00"))  # a rebuild hands requests first
    for (rep, month), state in ledger.paid.items():
        restored.load(f"{rep}:{month}", state.to_json())
    assert restored.post_appeals(engine, POSTED) == []
    assert restored.appeals == {}


def test_apply_in_period_skips_closed_months_like_every_adjustment() -> None:
    engine, ledger, _ = setup()
    run(engine, ledger, close_period("2026-12"))
    out = ledger.post_appeal(engine, appeal("DSP-1", "r1", "3000.00"), POSTED)
    assert [o.event["apply_in_period"] for o in out] == ["2027-01"]


def test_a_later_late_deal_does_not_claw_back_the_appeal() -> None:
    engine, ledger, _ = setup()
    ledger.post_appeal(engine, appeal("DSP-1", "r1", "3000.00"), POSTED)
    late = run(engine, ledger, deal("d5", "r1", "c5", "100000.00", closed_at=NOV.format(25)))
    # Revenue 1,300,000.00: 50,000 + 8 % of 300,000 = 74,000.00, against the 66,000.00 the
    # formula paid: 8,000.00. (Against everything paid, 69,000.00, it would be 5,000.00.)
    assert [(a["delta_revenue"], a["delta_commission"], a["reason"], a["dispute_id"]) for a in late] == [
        ("100000.00", "8000.00", "late_won", None)]
    assert late[0]["adjustment_id"] == "adj:r1:2026-11:1"  # appeals do not use up the sequence
    paid = ledger.paid[("r1", "2026-11")]
    assert (paid.paid_commission, paid.appeal_commission) == (Decimal("74000.00"), Decimal("3000.00"))


def test_a_negative_appeal_is_paid_back_and_stays_apart_from_the_formula() -> None:
    engine, ledger, _ = setup()
    out = ledger.post_appeal(engine, appeal("DSP-2", "r2", "-500.50"), POSTED)
    assert [(o.event["delta_commission"], o.event["delta_revenue"]) for o in out] == [("-500.50", "0.00")]
    assert errors("payroll.adjustment", out[0].event) == []
    out = ledger.post_appeal(engine, appeal("DSP-3", "r2", "200.25"), POSTED)
    assert ledger.paid[("r2", "2026-11")].appeal_commission == Decimal("-300.25")  # -500.50 + 200.25
    # A reversal of r2's only deal takes back the formula's 2,500.00 and nothing of the appeals.
    back = run(engine, ledger, deal("d3", "r2", "c3", "50000.00", stage="reversed", version=2,
                                    closed_at=NOV.format(12)))
    assert [(a["delta_revenue"], a["delta_commission"], a["reason"]) for a in back] == [
        ("-50000.00", "-2500.00", "reversal")]


def test_an_appeal_on_an_open_month_waits_for_its_statement() -> None:
    engine, ledger, _ = setup()
    run(engine, ledger, deal("d6", "r1", "c6", "40000.00", closed_at="2026-12-03T10:00:00+08:00"))
    assert ledger.post_appeal(engine, appeal("DSP-4", "r1", "1000.00", "2026-12"), POSTED) == []
    assert ledger.post_appeal(engine, appeal("DSP-4", "r1", "1000.00", "2026-12"), POSTED) == []  # kept once
    out = run(engine, ledger, close_period("2026-12"))
    # No target in December: 5 % of 40,000.00 = 2,000.00; the appeal follows its statement.
    assert [(e["type"], e.get("commission"), e.get("delta_commission"), e.get("apply_in_period")) for e in out] == [
        ("payroll.statement", "2000.00", None, None), ("payroll.adjustment", None, "1000.00", "2027-01")]
    assert out[1]["original_statement_id"] == "stmt:r1:2026-12"
    assert run(engine, ledger, close_period("2026-12")) == []


def test_an_appeal_of_a_rep_without_a_statement_gets_a_zero_late_statement_first() -> None:
    engine, ledger, _ = setup()
    out = [o.event for o in ledger.post_appeal(engine, appeal("DSP-5", "r3", "800.00"), POSTED)]
    assert [(e["type"], e.get("commission"), e.get("delta_commission")) for e in out] == [
        ("payroll.statement", "0.00", None), ("payroll.adjustment", None, "800.00")]
    assert out[0]["flags"] == ["no_target", "late_statement"]
    assert out[1]["original_statement_id"] == out[0]["statement_id"] == "stmt:r3:2026-11"
    # A late deal of r3 then pays its formula in full: 5 % of 10,000.00 (no target).
    late = run(engine, ledger, deal("d7", "r3", "c7", "10000.00", closed_at=NOV.format(20)))
    assert [(a["type"], a["delta_commission"]) for a in late] == [("payroll.adjustment", "500.00")]


def test_a_correction_naming_a_dispute_is_an_appeal_adjustment() -> None:
    engine, ledger, _ = setup()
    # The appeal moves d2 (500,000.00) from r1 to r2: r1 1,200,000 -> 700,000, 5 % = 35,000.00
    # (-31,000.00); r2 50,000 -> 550,000 against 100,000: 5,000 + 8 % of 450,000 = 41,000.00
    # (+38,500.00 on the 2,500.00 paid).
    moved = run(engine, ledger, deal("d2", "r2", "c2", "500000.00", version=2, closed_at=NOV.format(10),
                                     dispute_id="DSP-6"))
    assert sorted((a["rep_id"], a["delta_commission"], a["reason"], a["deal_id"], a["dispute_id"]) for a in moved) == [
        ("r1", "-31000.00", "appeal", "d2", "DSP-6"), ("r2", "38500.00", "appeal", "d2", "DSP-6")]
    assert all(errors("payroll.adjustment", a) == [] for a in moved)
    assert [a["adjustment_id"] for a in sorted(moved, key=lambda a: a["rep_id"])] == [
        "adj:r1:2026-11:1", "adj:r2:2026-11:1"]
    # A target correction naming a dispute: r2's target 100,000 -> 550,000 makes it 5 % of
    # 550,000 = 27,500.00 (-13,500.00).
    lowered = run(engine, ledger, target("rep", "r2", "2026-11", "550000.00", dispute_id="DSP-7",
                                         occurred_at="2026-12-02T00:00:00+08:00"))
    assert [(a["delta_commission"], a["reason"], a["deal_id"], a["dispute_id"]) for a in lowered] == [
        ("-13500.00", "appeal", None, "DSP-7")]
    # An ordinary change after it keeps its own reason and no dispute.
    plain = run(engine, ledger, deal("d3", "r2", "c3", "60000.00", version=2, closed_at=NOV.format(12)))
    # 550,000 -> 560,000 against 550,000: 27,500 + 8 % of 10,000 = 28,300.00 (+800.00).
    assert [(a["delta_commission"], a["reason"], a["dispute_id"]) for a in plain] == [("800.00", "amendment", None)]


def test_changes_settled_together_keep_the_dispute_they_name() -> None:
    engine, ledger, _ = setup()
    # In one settlement: d1 700,000 -> 600,000 to settle DSP-8, and a late win d9 of 50,000.
    # Revenue 1,150,000: 50,000 + 8 % of 150,000 = 62,000.00, so -4,000.00 on the 66,000.00
    # paid, in one adjustment that keeps the dispute although the late win came last.
    for ev in (deal("d1", "r1", "c1", "600000.00", version=2, closed_at=NOV.format(5), dispute_id="DSP-8"),
               deal("d9", "r1", "c9", "50000.00", closed_at=NOV.format(28))):
        engine.apply(record_from_event(ev))
    out = [o.event for o in ledger.adjust(engine, engine.take_payroll_changes(), POSTED)]
    assert [(a["delta_revenue"], a["delta_commission"], a["reason"], a["deal_id"], a["dispute_id"]) for a in out] == [
        ("-50000.00", "-4000.00", "appeal", "d1", "DSP-8")]
    # Otherwise the last change names the adjustment, as before.
    for ev in (deal("d9", "r1", "c9", "60000.00", version=2, closed_at=NOV.format(28)),
               deal("d1", "r1", "c1", "610000.00", version=3, closed_at=NOV.format(5))):
        engine.apply(record_from_event(ev))
    assert engine.take_payroll_changes() == {("r1", "2026-11"): PayChange("amendment", "d1")}


def test_adjustments_naming_a_dispute_are_links_for_it() -> None:
    engine, ledger, _ = setup()
    outputs = ledger.post_appeal(engine, appeal("DSP-1", "r1", "100.00"), POSTED)
    engine.apply(record_from_event(deal("d2", "r2", "c2", "500000.00", version=2, closed_at=NOV.format(10),
                                        dispute_id="DSP-6")))
    engine.apply(record_from_event(deal("d9", "r3", "c9", "1000.00", closed_at=NOV.format(28))))
    outputs += ledger.adjust(engine, engine.take_payroll_changes(), POSTED)
    assert [o.event["type"] for o in outputs].count("payroll.statement") == 1  # r3's late one
    assert dispute_links(outputs) == [AdjustmentLink("DSP-1", "adj:appeal:DSP-1"),
                                      AdjustmentLink("DSP-6", "adj:r1:2026-11:1"),
                                      AdjustmentLink("DSP-6", "adj:r2:2026-11:1")]


# -- gated bands (contract §11) ---------------------------------------------------------------

def survey(rep_id: str, score: int, day: int, month: str = "11") -> dict[str, Any]:
    return activity(rep_id, "survey", occurred_at=f"2026-{month}-{day:02d}T09:00:00+08:00", score=score)


def test_statement_shows_the_gate_result() -> None:
    engine, ledger = ScorecardEngine("Asia/Shanghai"), PayrollLedger()
    out = run(engine, ledger, roster("r1", "t1"), target("rep", "r1", "2026-11", "1000000.00"),
              deal("d1", "r1", "c1", "1200000.00", closed_at=NOV.format(5)),
              survey("r1", 4, 6), survey("r1", 4, 7), close_period("2026-11"))
    (statement,) = out
    assert errors("payroll.statement", statement) == []
    assert statement["commission"] == "60000.00"  # csat 4.0 < 4.5: 1,200,000 x 5 %
    low, high = statement["bands"]
    assert (low["rate"], low["paid_rate"], low["commission"], low["gate"]) == (0.05, 0.05, "50000.00", None)
    assert (high["rate"], high["paid_rate"], high["revenue"], high["commission"]) == (
        0.08, 0.05, "200000.00", "10000.00")
    assert high["gate"] == {"passed": False, "conditions": [
        {"kpi": "csat", "op": ">=", "value": 4.5, "when_missing": "pass", "actual": 4.0, "passed": False}]}


def test_a_late_survey_that_flips_the_gate_is_adjusted() -> None:
    engine, ledger, _ = setup()  # r1: 1,200,000 on 1,000,000 and no survey: 66,000 paid
    low = run(engine, ledger, survey("r1", 3, 20))
    assert [(a["type"], a["delta_revenue"], a["delta_commission"], a["reason"]) for a in low] == [
        ("payroll.adjustment", "0.00", "-6000.00", "late_survey")]  # csat 3: the 200,000 slice at 5 %, not 8 %
    assert errors("payroll.adjustment", low[0]) == []
    assert run(engine, ledger, survey("r1", 5, 21)) == []  # csat 4.0: still failing, nothing changes
    assert run(engine, ledger, survey("r2", 1, 21)) == []  # r2 is below target: no gated band reached
    assert run(engine, ledger, survey("r1", 1, 3, month="12")) == []  # December is open: its statement will tell
    back = run(engine, ledger, survey("r1", 5, 22), survey("r1", 5, 23))  # (3+5+5+5)/4 = 4.5: holds again
    assert [(a["adjustment_id"], a["delta_commission"], a["reason"]) for a in back] == [
        ("adj:r1:2026-11:2", "6000.00", "late_survey")]
    assert ledger.paid[("r1", "2026-11")].paid_commission == Decimal("66000.00")


def test_a_late_complaint_re_decides_a_gate_on_complaints(tmp_path) -> None:
    from sales_scorecard.core.commission import load_plans
    path = tmp_path / "plans.yaml"
    path.write_text("""
default:
  plan_id: clean
  tiers:
    - {from: "0", to: "1.0", rate: "0.05"}
    - {from: "1.0", to: null, rate: "0.08", requires: [{kpi: complaints, op: "<", value: 1, when_missing: fail}]}
""")
    engine, ledger = ScorecardEngine("Asia/Shanghai", commission_plans=load_plans(str(path))), PayrollLedger()
    (statement,) = run(engine, ledger, roster("r1", "t1"), target("rep", "r1", "2026-11", "1000000.00"),
                       deal("d1", "r1", "c1", "1200000.00", closed_at=NOV.format(5)), close_period("2026-11"))
    assert statement["commission"] == "66000.00"  # 0 complaints < 1: 50,000 + 16,000
    late = run(engine, ledger, complaint("k1", "r1", "c1", opened_at=NOV.format(20)))
    assert [(a["delta_commission"], a["reason"], a["deal_id"]) for a in late] == [
        ("-6000.00", "complaint_change", None)]  # 1 complaint: the 200,000 above target at 5 %
    # resolving it in December changes nothing in November (it was opened there)
    assert run(engine, ledger, complaint("k1", "r1", "c1", status="resolved", opened_at=NOV.format(20),
                                         resolved_at="2026-12-02T10:00:00+08:00", version=2)) == []


# -- late roster entries (contract §8: the plan that applies to the month now) ----------------

TEAM_PLANS = """
default:
  plan_id: base-5
  tiers:
    - {from: "0", to: null, rate: "0.05"}
teams:
  t9:
    plan_id: t9-10
    tiers:
      - {from: "0", to: null, rate: "0.10"}
"""


def late_roster(rep_id: str, team_id: str, effective_at: str, event_id: str) -> dict[str, Any]:
    """A roster entry sent on 3 December, after November was closed."""
    return {**roster(rep_id, team_id, effective_at=effective_at, event_id=event_id),
            "occurred_at": "2026-12-03T09:00:00+08:00"}


def test_a_late_roster_entry_into_a_team_with_its_own_plan_adjusts_the_closed_month(tmp_path) -> None:
    from sales_scorecard.core.commission import load_plans
    path = tmp_path / "plans.yaml"
    path.write_text(TEAM_PLANS)
    engine, ledger = ScorecardEngine("Asia/Shanghai", commission_plans=load_plans(str(path))), PayrollLedger()
    (statement,) = run(engine, ledger, roster("r1", "t1"), deal("d1", "r1", "c1", "1000.00", closed_at=NOV.format(5)),
                       close_period("2026-11"))
    # No target: 5 % of 1,000.00 under the default plan, t1 having none of its own.
    assert (statement["team_id"], statement["plan_id"], statement["commission"]) == ("t1", "base-5", "50.00")
    # On 3 December: r1 was in t9 since 20 November, so at November's end; t9 pays 10 %:
    # 100.00 now, 50.00 paid, one adjustment of +50.00 in December, the first open month.
    move = late_roster("r1", "t9", "2026-11-20T00:00:00+08:00", "late-1")
    out = run(engine, ledger, move)
    assert [(a["type"], a["rep_id"], a["original_period"], a["delta_revenue"], a["delta_commission"], a["reason"],
             a["deal_id"], a["apply_in_period"]) for a in out] == [
        ("payroll.adjustment", "r1", "2026-11", "0.00", "50.00", "roster_change", None, "2026-12")]
    assert out[0]["original_statement_id"] == "stmt:r1:2026-11"
    assert errors("payroll.adjustment", out[0]) == []
    assert ledger.paid[("r1", "2026-11")].paid_commission == Decimal("100.00")
    # The same entry again (a replay) pays nothing.
    assert run(engine, ledger, move) == []
    # Moves that take effect at November's end (midnight, the new period's) or after it
    # leave November's team, and its pay, as they are.
    assert run(engine, ledger, late_roster("r1", "t1", "2026-12-01T00:00:00+08:00", "late-2"),
               late_roster("r1", "t1", "2026-12-02T00:00:00+08:00", "late-3")) == []
    # One effective on 30 November brings r1 back to t1 at the end: 50.00 again (-50.00).
    back = run(engine, ledger, late_roster("r1", "t1", "2026-11-30T12:00:00+08:00", "late-4"))
    assert [(a["adjustment_id"], a["delta_commission"], a["reason"]) for a in back] == [
        ("adj:r1:2026-11:2", "-50.00", "roster_change")]


def test_roster_changes_settled_with_a_late_win_make_one_adjustment(tmp_path) -> None:
    from sales_scorecard.core.commission import load_plans
    path = tmp_path / "plans.yaml"
    path.write_text(TEAM_PLANS)
    engine, ledger = ScorecardEngine("Asia/Shanghai", commission_plans=load_plans(str(path))), PayrollLedger()
    run(engine, ledger, roster("r1", "t1"), deal("d1", "r1", "c1", "1000.00", closed_at=NOV.format(5)),
        close_period("2026-11"))
    # In one settlement: the move to t9 and a late win of 500.00, the win last. 10 % of
    # 1,500.00 = 150.00 against the 50.00 paid: one adjustment, named by the last change.
    for ev in (late_roster("r1", "t9", "2026-11-20T00:00:00+08:00", "late-1"),
               deal("d2", "r1", "c2", "500.00", closed_at=NOV.format(25))):
        engine.apply(record_from_event(ev))
    out = [o.event for o in ledger.adjust(engine, engine.take_payroll_changes(), POSTED)]
    assert [(a["delta_revenue"], a["delta_commission"], a["reason"], a["deal_id"]) for a in out] == [
        ("500.00", "100.00", "late_won", "d2")]
    # A month the entry cannot reach (October, closed, ending before it) is not noted.
    run(engine, ledger, deal("d3", "r1", "c3", "100.00", closed_at="2026-10-10T10:00:00+08:00"),
        close_period("2026-10"))
    engine.apply(record_from_event(late_roster("r1", "t1", "2026-11-25T00:00:00+08:00", "late-2")))
    assert engine.take_payroll_changes() == {("r1", "2026-11"): PayChange("roster_change")}
