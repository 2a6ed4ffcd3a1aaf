"""Commission plans and their exact arithmetic (SPEC §7).

Attainment bands become revenue slices of the target: band [0, 1.0) at 5% pays 5% of
the revenue up to 100% of the target. ``marginal`` pays each slice at its own rate,
``retroactive`` pays all revenue at the rate of the highest band reached. Below an
optional ``threshold`` nothing is paid; an optional ``cap`` bounds the monthly amount.
Without a target, all revenue is paid at the first band's rate and flagged
``no_target``. The amount is rounded half-up to cents once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .money import CONTEXT, round_money
from .plan_files import load_yaml, to_decimal

MODES = ("marginal", "retroactive")


class PlanError(ValueError):
    """A commission plan file that cannot be used."""


@dataclass(frozen=True)
class Tier:
    """An attainment band [from_attainment, to_attainment) paid at ``rate``."""

    from_attainment: Decimal
    to_attainment: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class CommissionPlan:
    """One commission plan."""

    plan_id: str
    tiers: tuple[Tier, ...]
    mode: str = "marginal"
    threshold: Decimal | None = None
    cap: Decimal | None = None


@dataclass(frozen=True)
class BandResult:
    """What one band contributed."""

    from_attainment: Decimal
    to_attainment: Decimal | None
    rate: Decimal
    revenue: Decimal
    commission_unrounded: Decimal


@dataclass(frozen=True)
class CommissionResult:
    """A month's commission with the bands that explain it."""

    amount: Decimal
    bands: tuple[BandResult, ...]
    attainment: Decimal | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class PlanSet:
    """The default plan and per-team / per-rep overrides."""

    default: CommissionPlan
    by_team: dict[str, CommissionPlan] = field(default_factory=dict)
    by_rep: dict[str, CommissionPlan] = field(default_factory=dict)

    def plan_for(self, rep_id: str, team_id: str | None) -> CommissionPlan:
        """The plan that applies: rep override, else team override, else default."""
        if rep_id in self.by_rep:
            return self.by_rep[rep_id]
        if team_id is not None and team_id in self.by_team:
            return self.by_team[team_id]
        return self.default


def compute_commission(plan: CommissionPlan, revenue: Decimal, target: Decimal | None) -> CommissionResult:
    """Commission for one month's revenue against its target."""
    if target is None or target <= 0:
        first = plan.tiers[0]
        raw = revenue * first.rate
        band = BandResult(first.from_attainment, first.to_attainment, first.rate, revenue, raw)
        amount, flags = _cap(plan, raw, ("no_target",))
        return CommissionResult(round_money(amount), (band,), None, flags)
    attainment = CONTEXT.divide(revenue, target)
    if plan.threshold is not None and attainment < plan.threshold:
        return CommissionResult(Decimal("0.00"), (), attainment, ("below_threshold",))
    bands: list[BandResult] = []
    if plan.mode == "retroactive":
        reached = [t for t in plan.tiers if attainment >= t.from_attainment] or [plan.tiers[0]]
        top = reached[-1]
        raw = revenue * top.rate
        bands.append(BandResult(top.from_attainment, top.to_attainment, top.rate, revenue, raw))
    else:
        raw = Decimal(0)
        for t in plan.tiers:
            lo = t.from_attainment * target
            hi = t.to_attainment * target if t.to_attainment is not None else None
            upper = revenue if hi is None else min(revenue, hi)
            slice_ = upper - lo
            if slice_ <= 0:
                continue
            paid = slice_ * t.rate
            raw += paid
            bands.append(BandResult(t.from_attainment, t.to_attainment, t.rate, slice_, paid))
    amount, flags = _cap(plan, raw, ())
    return CommissionResult(round_money(amount), tuple(bands), attainment, flags)


def _cap(plan: CommissionPlan, raw: Decimal, flags: tuple[str, ...]) -> tuple[Decimal, tuple[str, ...]]:
    if plan.cap is not None and raw > plan.cap:
        return plan.cap, flags + ("capped",)
    return raw, flags


def _decimal(value: Any, where: str) -> Decimal:
    return to_decimal(value, where, PlanError)


def _plan(data: Any, where: str) -> CommissionPlan:
    if not isinstance(data, dict):
        raise PlanError(f"{where}: expected a mapping")
    tiers_data = data.get("tiers")
    if not isinstance(tiers_data, list) or not tiers_data:
        raise PlanError(f"{where}.tiers: expected a non-empty list")
    tiers = []
    for i, t in enumerate(tiers_data):
        if not isinstance(t, dict) or "rate" not in t or "from" not in t:
            raise PlanError(f"{where}.tiers[{i}]: needs 'from' and 'rate'")
        to = t.get("to")
        tiers.append(Tier(
            _decimal(t["from"], f"{where}.tiers[{i}].from"),
            None if to is None else _decimal(to, f"{where}.tiers[{i}].to"),
            _decimal(t["rate"], f"{where}.tiers[{i}].rate"),
        ))
    for a, b in zip(tiers, tiers[1:]):
        if a.to_attainment is None or a.to_attainment != b.from_attainment:
            raise PlanError(f"{where}.tiers: bands must be contiguous and only the last open-ended")
    mode = data.get("mode", "marginal")
    if mode not in MODES:
        raise PlanError(f"{where}.mode: expected one of {MODES}, got {mode!r}")
    threshold = data.get("threshold")
    cap = data.get("cap")
    return CommissionPlan(
        plan_id=str(data.get("plan_id") or where),
        tiers=tuple(tiers),
        mode=mode,
        threshold=None if threshold is None else _decimal(threshold, f"{where}.threshold"),
        cap=None if cap is None else _decimal(cap, f"{where}.cap"),
    )


def load_plans(path: str | None) -> PlanSet:
    """Load a plan file (None: the packaged default)."""
    data = load_yaml(path, "default_commission.yaml", PlanError, "commission plan")
    if not isinstance(data, dict) or "default" not in data:
        raise PlanError("commission plan: expected a mapping with a 'default' plan")
    return PlanSet(
        default=_plan(data["default"], "default"),
        by_team={k: _plan(v, f"teams.{k}") for k, v in (data.get("teams") or {}).items()},
        by_rep={k: _plan(v, f"reps.{k}") for k, v in (data.get("reps") or {}).items()},
    )
