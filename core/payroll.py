"""Payroll from the engine's figures: statements at month close, adjustments after.

A statement is posted once per rep and closed month and never changes. Every later
change to a closed month (a late win, an amendment, a reassignment, a reversal, a
target change) produces an adjustment that references the statement:
``delta_commission = commission(current revenue of P) − commission already paid for P``
(statement plus earlier adjustments), because bands make commission non-linear.
What was paid per (rep, month) is kept as ``PaidState``; the agent persists it in a
table, so a replay finds nothing left to pay and emits nothing twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from . import labels as L
from .commission import CommissionResult, compute_commission
from .engine import ScorecardEngine
from .money import format_money, ratio
from .periods import format_timestamp
from .roster import UNASSIGNED


@dataclass(frozen=True)
class PaidState:
    """What has been paid for one rep and month (statement plus adjustments)."""

    statement_id: str
    plan_id: str
    team_id: str
    paid_revenue: Decimal
    paid_commission: Decimal
    adjustments: int
    posted_at: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-safe dict (money as strings)."""
        d = asdict(self)
        d["paid_revenue"] = str(self.paid_revenue)
        d["paid_commission"] = str(self.paid_commission)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaidState:
        """Inverse of ``to_json``."""
        return cls(**{**d, "paid_revenue": Decimal(d["paid_revenue"]),
                      "paid_commission": Decimal(d["paid_commission"])})


@dataclass(frozen=True)
class PayrollOutput:
    """One event for ``sales.payroll`` and the state to store under ``state_key``."""

    state_key: str  # "{rep_id}:{month}", also the Kafka key
    state: PaidState
    event: dict[str, Any]


def state_key(rep_id: str, month: str) -> str:
    """Key of a rep's month in the payroll state table and on ``sales.payroll``."""
    return f"{rep_id}:{month}"


def statement_id(rep_id: str, month: str) -> str:
    """Deterministic id of a rep's statement for a month."""
    return f"stmt:{rep_id}:{month}"


class PayrollLedger:
    """The paid state of every (rep, closed month) and the rules that extend it."""

    def __init__(self) -> None:
        self.paid: dict[tuple[str, str], PaidState] = {}

    def load(self, key: str, value: dict[str, Any]) -> None:
        """Restore one persisted ``PaidState``."""
        rep_id, _, month = key.rpartition(":")
        self.paid[(rep_id, month)] = PaidState.from_json(value)

    # -- statements -------------------------------------------------------
    def eligible_reps(self, engine: ScorecardEngine, month: str) -> list[str]:
        """Reps with revenue, a target or activity in the month."""
        reps = {id for (scope, id, label) in engine.buckets if scope == "rep" and label == month}
        for rep_id in engine.targets.ids("rep"):
            if engine.targets.resolve_own("rep", rep_id, month, "revenue") is not None:
                reps.add(rep_id)
        return sorted(reps)

    def post_statements(self, engine: ScorecardEngine, posted_at: str) -> list[PayrollOutput]:
        """Statements for every closed month and eligible rep that has none yet."""
        out = []
        for month in sorted(engine.closed_months):
            for rep_id in self.eligible_reps(engine, month):
                if (rep_id, month) not in self.paid:
                    out.append(self._statement(engine, rep_id, month, posted_at, late=False))
        return out

    def _commission(self, engine: ScorecardEngine, rep_id: str,
                    month: str) -> tuple[str, str, Decimal, Decimal | None, CommissionResult]:
        period = engine.calendar.parse(month)
        entry = engine.roster.entry_before(rep_id, period.end)
        team_id = entry.team_id if entry else UNASSIGNED
        plan = engine.commission_plans.plan_for(rep_id, team_id)
        revenue = engine.rep_month_revenue(rep_id, month)
        target = engine.targets.resolve_own("rep", rep_id, month, "revenue")
        return team_id, plan.plan_id, revenue, target, compute_commission(plan, revenue, target)

    def _statement(self, engine: ScorecardEngine, rep_id: str, month: str, posted_at: str, late: bool) -> PayrollOutput:
        team_id, plan_id, revenue, target, result = self._commission(engine, rep_id, month)
        sid = statement_id(rep_id, month)
        if late:  # the rep had nothing when the month closed: what was paid then was nothing
            revenue, result = Decimal(0), compute_commission(
                engine.commission_plans.plan_for(rep_id, team_id), Decimal(0), target)
        event = {
            "event_id": sid,
            "type": "payroll.statement",
            "schema_version": 1,
            "emitted_at": posted_at,
            "statement_id": sid,
            "idempotency_key": f"payroll:{sid}",
            "rep_id": rep_id,
            "team_id": team_id,
            "period": month,
            "revenue": format_money(revenue),
            "target": format_money(target),
            "attainment": ratio(result.attainment),
            "plan_id": plan_id,
            "bands": [
                {
                    "from": ratio(b.from_attainment),
                    "to": ratio(b.to_attainment) if b.to_attainment is not None else None,
                    "rate": ratio(b.rate),
                    "revenue": format_money(b.revenue),
                    "commission": format_money(b.commission_unrounded),
                }
                for b in result.bands
            ],
            "commission": format_money(result.amount),
            "line_items": [] if late else [
                {"deal_id": d.deal_id, "amount": format_money(d.amount),
                 "closed_at": format_timestamp(d.closed_at),  # type: ignore[arg-type]  # won: schema requires it
                 "version": d.version}
                for d in engine.won_deals(rep_id, month)
            ],
            "posted_at": posted_at,
            "flags": list(result.flags) + (["late_statement"] if late else []),
        }
        state = PaidState(sid, plan_id, team_id, revenue, result.amount, 0, posted_at)
        self.paid[(rep_id, month)] = state
        return PayrollOutput(state_key(rep_id, month), state, event)

    # -- adjustments ------------------------------------------------------
    def adjust(
        self, engine: ScorecardEngine, changes: dict[tuple[str, str], tuple[str, str | None]], posted_at: str
    ) -> list[PayrollOutput]:
        """Adjustments for closed months whose pay differs from what was paid."""
        out = []
        for (rep_id, month), (reason, deal_id) in sorted(changes.items()):
            if month not in engine.closed_months:
                continue
            if (rep_id, month) not in self.paid:
                if not engine.has_figures(rep_id, month) and \
                        engine.targets.resolve_own("rep", rep_id, month, "revenue") is None:
                    continue
                out.append(self._statement(engine, rep_id, month, posted_at, late=True))
            paid = self.paid[(rep_id, month)]
            _, _, revenue, _, result = self._commission(engine, rep_id, month)
            delta_revenue = revenue - paid.paid_revenue
            delta_commission = result.amount - paid.paid_commission
            if delta_revenue == 0 and delta_commission == 0:
                continue
            seq = paid.adjustments + 1
            adjustment_id = f"adj:{rep_id}:{month}:{seq}"
            state = replace(paid, paid_revenue=revenue, paid_commission=result.amount, adjustments=seq)
            self.paid[(rep_id, month)] = state
            event = {
                "event_id": adjustment_id,
                "type": "payroll.adjustment",
                "schema_version": 1,
                "emitted_at": posted_at,
                "adjustment_id": adjustment_id,
                "idempotency_key": f"payroll:{adjustment_id}",
                "rep_id": rep_id,
                "original_period": month,
                "original_statement_id": paid.statement_id,
                "apply_in_period": first_open_month(engine.closed_months, month),
                "delta_revenue": format_money(delta_revenue),
                "delta_commission": format_money(delta_commission),
                "reason": reason,
                "deal_id": deal_id,
                "posted_at": posted_at,
            }
            out.append(PayrollOutput(state_key(rep_id, month), state, event))
        return out


def first_open_month(closed: set[str], after: str) -> str:
    """The earliest month after ``after`` that is not closed."""
    month = L.shift(after, 1)
    while month in closed:
        month = L.shift(month, 1)
    return month
