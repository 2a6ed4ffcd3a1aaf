"""Payroll from the engine's figures: statements at month close, adjustments after.

A statement is posted once per rep and closed month and never changes. Every later
change to a closed month (a late win, an amendment, a reassignment, a reversal, a
target change) produces an adjustment that references the statement:
``delta_commission = commission(current revenue of P) − commission already paid for P``
(statement plus earlier formula adjustments), because bands make commission non-linear.
A change caused by a correction that names a dispute says so (``reason: "appeal"`` and
its ``dispute_id``, contract §10).

An upheld appeal with an amount (``core.disputes.AdjustmentRequest``) is paid on top of
the formula: one adjustment ``adj:appeal:{dispute_id}`` for the disputed month, posted
once that month is closed, right after its statement. It is kept apart from what the
formula compares against, so no later recomputation of the month claws it back.

What was paid per (rep, month) is kept as ``PaidState``; the agent persists it in a
table, so a replay finds nothing left to pay and emits nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from . import labels as L
from .awards import BonusRequest
from .commission import CommissionResult, compute_commission
from .disputes import APPEAL_REASON, AdjustmentLink, AdjustmentRequest
from .engine import PayChange, ScorecardEngine
from .money import ZERO, format_money, ratio
from .periods import format_timestamp


@dataclass(frozen=True)
class PaidState:
    """What has been paid for one rep and month (statement plus adjustments)."""

    statement_id: str
    plan_id: str
    team_id: str
    #: what the formula paid (statement plus formula adjustments): the next delta's base
    paid_revenue: Decimal
    paid_commission: Decimal
    #: formula adjustments posted (the n of ``adj:{rep_id}:{month}:{n}``)
    adjustments: int
    posted_at: str
    #: paid on top of the formula (appeal decisions, award bonuses); never compared with it
    appeal_commission: Decimal = ZERO
    #: ids of the adjustments posted on top of the formula (``adj:appeal:{dispute_id}``,
    #: ``adj:award:{award}:{period}:{rep_id}``), in order
    appeal_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-safe dict (money as strings)."""
        d = asdict(self)
        d["paid_revenue"] = str(self.paid_revenue)
        d["paid_commission"] = str(self.paid_commission)
        d["appeal_commission"] = str(self.appeal_commission)
        d["appeal_ids"] = list(self.appeal_ids)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaidState:
        """Inverse of ``to_json`` (a state stored before appeals existed has none)."""
        return cls(**{**d, "paid_revenue": Decimal(d["paid_revenue"]),
                      "paid_commission": Decimal(d["paid_commission"]),
                      "appeal_commission": Decimal(d.get("appeal_commission", "0")),
                      "appeal_ids": tuple(d.get("appeal_ids", ()))})


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
        #: appeal adjustments requested and not yet posted (their month is open), by id
        self.appeals: dict[str, AdjustmentRequest] = {}

    def load(self, key: str, value: dict[str, Any]) -> None:
        """Restore one persisted ``PaidState``."""
        rep_id, _, month = key.rpartition(":")
        self.paid[(rep_id, month)] = PaidState.from_json(value)

    # -- statements -------------------------------------------------------
    def eligible_reps(self, engine: ScorecardEngine, month: str) -> list[str]:
        """Reps with revenue, a target or activity in the month."""
        reps = {id for (scope, id, label) in engine.buckets if scope == "rep" and label == month}
        for rep_id in engine.targets.ids("rep") | engine.splits.reps():
            if engine.rep_target(rep_id, month) is not None:
                reps.add(rep_id)
        return sorted(reps)

    def _eligible(self, engine: ScorecardEngine, rep_id: str, month: str) -> bool:
        """Whether one rep is among ``eligible_reps`` of the month."""
        return engine.has_figures(rep_id, month) or engine.rep_target(rep_id, month) is not None

    def post_statements(self, engine: ScorecardEngine, posted_at: str) -> list[PayrollOutput]:
        """Statements for every closed month and eligible rep that has none yet, then the
        appeal adjustments waiting for those months to close (``post_appeals``)."""
        out = []
        for month in sorted(engine.closed_months):
            for rep_id in self.eligible_reps(engine, month):
                if (rep_id, month) not in self.paid:
                    out.append(self._statement(engine, rep_id, month, posted_at, late=False))
        return out + self.post_appeals(engine, posted_at)

    def _commission(self, engine: ScorecardEngine, rep_id: str,
                    month: str) -> tuple[str, str, Decimal, Decimal | None, CommissionResult]:
        team_id, plan, revenue, target, result = engine.commission_of(rep_id, month)
        return team_id, plan.plan_id, revenue, target, result

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
            "bands": band_rows(result),
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
        self, engine: ScorecardEngine, changes: Mapping[tuple[str, str], PayChange], posted_at: str
    ) -> list[PayrollOutput]:
        """Adjustments for closed months whose pay, by the formula, differs from what the
        formula paid. A change naming a dispute gives ``reason: "appeal"`` and its id."""
        out = []
        closed = engine.closed_months
        # Only closed months are adjusted: the rest are left out before sorting (after a
        # rebuild every rep-month with a fact is a change).
        for (rep_id, month), change in sorted(item for item in changes.items() if item[0][1] in closed):
            if (rep_id, month) not in self.paid:
                if not self._eligible(engine, rep_id, month):
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
            reason = change.reason if change.dispute_id is None else APPEAL_REASON
            event = _adjustment(engine, adjustment_id, rep_id, month, paid.statement_id, delta_revenue,
                                delta_commission, reason, change.deal_id, change.dispute_id, posted_at)
            out.append(PayrollOutput(state_key(rep_id, month), state, event))
        return out

    # -- appeals ----------------------------------------------------------
    def request_appeal(self, request: AdjustmentRequest) -> None:
        """Keep an appeal's adjustment until it is posted (``post_appeals``); a request
        already posted or already kept changes nothing."""
        paid = self.paid.get((request.rep_id, request.original_period))
        if paid is None or request.adjustment_id not in paid.appeal_ids:
            self.appeals.setdefault(request.adjustment_id, request)

    def post_appeal(self, engine: ScorecardEngine, request: AdjustmentRequest, posted_at: str) -> list[PayrollOutput]:
        """An upheld appeal's adjustment: posted now when its month is closed (nothing when
        it was posted before), else kept until the month closes (``post_statements``)."""
        self.request_appeal(request)
        kept = self.appeals.get(request.adjustment_id)
        return [] if kept is None else self._post_appeal(engine, kept, posted_at)

    def post_appeals(self, engine: ScorecardEngine, posted_at: str) -> list[PayrollOutput]:
        """The kept appeal adjustments whose month is now closed, by rep, month and id."""
        due = sorted((r for r in self.appeals.values() if r.original_period in engine.closed_months),
                     key=lambda r: (r.rep_id, r.original_period, r.adjustment_id))
        out = []
        for request in due:
            out += self._post_appeal(engine, request, posted_at)
        return out

    def _post_appeal(self, engine: ScorecardEngine, request: AdjustmentRequest, posted_at: str) -> list[PayrollOutput]:
        """Post one kept request if its month is closed (``_post_extra``)."""
        if request.original_period not in engine.closed_months:
            return []
        del self.appeals[request.adjustment_id]
        return self._post_extra(engine, request.adjustment_id, request.rep_id, request.original_period,
                                request.delta_commission, request.reason, request.dispute_id, posted_at)

    # -- award bonuses ----------------------------------------------------
    def post_bonus(self, engine: ScorecardEngine, request: BonusRequest, posted_at: str) -> list[PayrollOutput]:
        """An award's bonus (contract §11): one adjustment on top of the formula, like an
        appeal's (its id joins ``appeal_ids``, so it is paid once); nothing while its month is
        open. When its id is paid already (a decision made again, or a rebuild, after a
        kill -9 that kept the paid state and lost the send) the adjustment is sent again:
        the same id, statement and figures, ``apply_in_period`` the first open month now."""
        if request.original_period not in engine.closed_months:
            return []
        paid = self.paid.get((request.rep_id, request.original_period))
        if paid is not None and request.adjustment_id in paid.appeal_ids:
            event = _adjustment(engine, request.adjustment_id, request.rep_id, request.original_period,
                                paid.statement_id, ZERO, request.delta_commission, request.reason, None, None,
                                posted_at)
            return [PayrollOutput(state_key(request.rep_id, request.original_period), paid, event)]
        return self._post_extra(engine, request.adjustment_id, request.rep_id, request.original_period,
                                request.delta_commission, request.reason, None, posted_at)

    def _post_extra(self, engine: ScorecardEngine, adjustment_id: str, rep_id: str, month: str,
                    delta_commission: Decimal, reason: str, dispute_id: str | None,
                    posted_at: str) -> list[PayrollOutput]:
        """Post one adjustment on top of the formula for a closed month, once per id: the
        statement first when the rep has none (as ``post_statements`` would post it, or a
        zero ``late_statement``)."""
        out = []
        if (rep_id, month) not in self.paid:
            late = not self._eligible(engine, rep_id, month)
            out.append(self._statement(engine, rep_id, month, posted_at, late=late))
        paid = self.paid[(rep_id, month)]
        if adjustment_id in paid.appeal_ids:  # posted before (kept before the paid states were loaded)
            return out
        state = replace(paid, appeal_commission=paid.appeal_commission + delta_commission,
                        appeal_ids=(*paid.appeal_ids, adjustment_id))
        self.paid[(rep_id, month)] = state
        event = _adjustment(engine, adjustment_id, rep_id, month, paid.statement_id, ZERO,
                            delta_commission, reason, None, dispute_id, posted_at)
        out.append(PayrollOutput(state_key(rep_id, month), state, event))
        return out


def band_rows(result: CommissionResult) -> list[dict[str, Any]]:
    """A commission's bands as statements and ``/explain`` show them: the rate paid and,
    for a gated band, each condition with the KPI value it saw (contract §11)."""
    return [
        {
            "from": ratio(b.from_attainment),
            "to": ratio(b.to_attainment) if b.to_attainment is not None else None,
            "rate": ratio(b.rate),
            "paid_rate": ratio(b.paid_rate),
            "revenue": format_money(b.revenue),
            "commission": format_money(b.commission_unrounded),
            "gate": None if not b.gate else {
                "passed": b.gate_passed,
                "conditions": [
                    {"kpi": c.condition.kpi, "op": c.condition.op, "value": ratio(c.condition.value),
                     "when_missing": c.condition.when_missing, "actual": ratio(c.actual), "passed": c.passed}
                    for c in b.gate
                ],
            },
        }
        for b in result.bands
    ]


def _adjustment(engine: ScorecardEngine, adjustment_id: str, rep_id: str, month: str, statement: str,
                delta_revenue: Decimal, delta_commission: Decimal, reason: str, deal_id: str | None,
                dispute_id: str | None, posted_at: str) -> dict[str, Any]:
    """A ``payroll.adjustment`` event, applied in the first open month after ``month``."""
    return {
        "event_id": adjustment_id,
        "type": "payroll.adjustment",
        "schema_version": 1,
        "emitted_at": posted_at,
        "adjustment_id": adjustment_id,
        "idempotency_key": f"payroll:{adjustment_id}",
        "rep_id": rep_id,
        "original_period": month,
        "original_statement_id": statement,
        "apply_in_period": first_open_month(engine.closed_months, month),
        "delta_revenue": format_money(delta_revenue),
        "delta_commission": format_money(delta_commission),
        "reason": reason,
        "deal_id": deal_id,
        "dispute_id": dispute_id,
        "posted_at": posted_at,
    }


def dispute_links(outputs: Iterable[PayrollOutput]) -> list[AdjustmentLink]:
    """The adjustments among ``outputs`` that name a dispute: each joins that dispute's
    ``adjustment_ids`` (``DisputeBook.link_adjustment``; its own appeal's is already there)."""
    return [AdjustmentLink(o.event["dispute_id"], o.event["adjustment_id"])
            for o in outputs if o.event["type"] == "payroll.adjustment" and o.event["dispute_id"] is not None]


def first_open_month(closed: set[str], after: str) -> str:
    """The earliest month after ``after`` that is not closed."""
    month = L.shift(after, 1)
    while month in closed:
        month = L.shift(month, 1)
    return month
