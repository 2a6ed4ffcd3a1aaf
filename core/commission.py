"""Commission plans and their exact arithmetic (contract §7).

Attainment bands become revenue slices of the target: band [0, 1.0) at 5% pays 5% of
the revenue up to 100% of the target. ``marginal`` pays each slice at its own rate,
``retroactive`` pays all revenue at the rate of the highest band reached. Below an
optional ``threshold`` nothing is paid; an optional ``cap`` bounds the monthly amount.
Without a target, all revenue is paid at the first band's rate and flagged
``no_target``. The amount is rounded half-up to cents once, at the end.

A plan's bands start at 0, are contiguous and the last is open-ended, so every unit of
revenue falls into exactly one band.

A band above the first may carry ``requires``: conditions on the rep's KPIs of the same
month (contract §11). Revenue in a band whose conditions fail is paid at the rate of the
highest lower band whose conditions hold (the first band has none, so one always does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from .kpis import BUCKET_KPIS
from .money import CONTEXT, round_money
from .plan_files import checked_mapping, finite_decimal, load_yaml

MODES = ("marginal", "retroactive")
FLAG_NO_TARGET = "no_target"
FLAG_BELOW_THRESHOLD = "below_threshold"
FLAG_CAPPED = "capped"

_FILE_KEYS = frozenset({"default", "teams", "reps"})
_PLAN_KEYS = frozenset({"plan_id", "mode", "threshold", "cap", "tiers"})
_TIER_KEYS = frozenset({"from", "to", "rate", "requires"})
_CONDITION_KEYS = frozenset({"kpi", "op", "value", "when_missing"})
#: A gate's comparison operators (contract §11).
OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
WHEN_MISSING = ("pass", "fail")
#: The KPI values a gate reads: name -> exact value (a name absent or None: missing).
GateKpis = Mapping[str, Decimal | int | None]


class PlanError(ValueError):
    """A commission plan (file) that cannot be used; the message names the offending key."""


@dataclass(frozen=True)
class Condition:
    """One gate condition: ``kpi op value`` on the rep's month; ``when_missing`` decides a null KPI."""

    kpi: str
    op: str
    value: Decimal
    when_missing: str

    def __post_init__(self) -> None:
        if self.kpi not in BUCKET_KPIS:
            raise PlanError(f"kpi: a gate reads one of {', '.join(sorted(BUCKET_KPIS))}, got {self.kpi!r}")
        if self.op not in OPS:
            raise PlanError(f"op: expected one of {', '.join(OPS)}, got {self.op!r}")
        if self.when_missing not in WHEN_MISSING:
            raise PlanError(f"when_missing: expected one of {', '.join(WHEN_MISSING)}, got {self.when_missing!r}")

    def check(self, kpis: GateKpis) -> ConditionResult:
        """This condition on the month's KPI values."""
        actual = kpis.get(self.kpi)
        if actual is None:
            return ConditionResult(self, None, self.when_missing == "pass")
        return ConditionResult(self, Decimal(actual), OPS[self.op](Decimal(actual), self.value))


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """A condition with the KPI value it saw (None: missing) and whether it held."""

    condition: Condition
    actual: Decimal | None
    passed: bool


@dataclass(frozen=True)
class Tier:
    """An attainment band [from_attainment, to_attainment) paid at ``rate``; None is
    open-ended. ``requires``: the conditions (all of them) for its own rate."""

    from_attainment: Decimal
    to_attainment: Decimal | None
    rate: Decimal
    requires: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class CommissionPlan:
    """One commission plan; validated on construction."""

    plan_id: str
    tiers: tuple[Tier, ...]
    mode: str = "marginal"
    threshold: Decimal | None = None
    cap: Decimal | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PlanError(f"mode: expected one of {MODES}, got {self.mode!r}")
        if not self.tiers:
            raise PlanError("tiers: expected at least one band")
        if self.tiers[0].from_attainment != 0:
            raise PlanError("tiers[0].from: the first band must start at 0")
        for i, t in enumerate(self.tiers):
            last = i == len(self.tiers) - 1
            if t.rate < 0:
                raise PlanError(f"tiers[{i}].rate: must be >= 0")
            if last and t.to_attainment is not None:
                raise PlanError(f"tiers[{i}].to: the last band must be open-ended (null)")
            if not last:
                if t.to_attainment is None or t.to_attainment <= t.from_attainment:
                    raise PlanError(f"tiers[{i}].to: must be greater than 'from' (only the last band is open-ended)")
                if self.tiers[i + 1].from_attainment != t.to_attainment:
                    raise PlanError(f"tiers[{i + 1}].from: bands must be contiguous (expected {t.to_attainment})")
        if self.threshold is not None and self.threshold < 0:
            raise PlanError("threshold: must be >= 0")
        if self.cap is not None and self.cap < 0:
            raise PlanError("cap: must be >= 0")
        if self.tiers[0].requires:
            raise PlanError("tiers[0].requires: the first band cannot be gated (it is what a failed gate pays)")

    @property
    def gated(self) -> bool:
        """Whether any band carries conditions."""
        return any(t.requires for t in self.tiers)


@dataclass(frozen=True, slots=True)
class BandResult:
    """What one band contributed (revenue slice and its commission before cap and rounding).

    ``paid_rate`` is ``rate`` unless the band's gate failed; ``gate`` holds each condition's
    result (empty for a band without conditions)."""

    from_attainment: Decimal
    to_attainment: Decimal | None
    rate: Decimal
    revenue: Decimal
    commission_unrounded: Decimal
    paid_rate: Decimal
    gate: tuple[ConditionResult, ...] = ()

    @property
    def gate_passed(self) -> bool | None:
        """None for a band without conditions, else whether all held."""
        return all(c.passed for c in self.gate) if self.gate else None


@dataclass(frozen=True, slots=True)
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

    @cached_property
    def gated(self) -> bool:
        """Whether any plan has a gated band (then a KPI fact can change pay); read per fact."""
        return any(p.gated for p in (self.default, *self.by_team.values(), *self.by_rep.values()))

    def plan_for(self, rep_id: str, team_id: str | None) -> CommissionPlan:
        """The plan that applies: rep override, else team override, else default."""
        if rep_id in self.by_rep:
            return self.by_rep[rep_id]
        if team_id is not None and team_id in self.by_team:
            return self.by_team[team_id]
        return self.default


def _no_kpis() -> GateKpis:
    return {}


def compute_commission(plan: CommissionPlan, revenue: Decimal, target: Decimal | None,
                       kpis: Callable[[], GateKpis] = _no_kpis) -> CommissionResult:
    """Commission for one month's revenue against its target (None or 0: no target).

    ``kpis`` gives the rep's KPI values of the month for the gates; it is called at most
    once, and only when revenue reaches a gated band."""
    if target is None or target <= 0:
        first = plan.tiers[0]
        raw = CONTEXT.multiply(revenue, first.rate)
        band = BandResult(first.from_attainment, first.to_attainment, first.rate, revenue, raw, first.rate)
        return _result(plan, raw, (band,), None, (FLAG_NO_TARGET,))
    attainment = CONTEXT.divide(revenue, target)
    if plan.threshold is not None and attainment < plan.threshold:
        return CommissionResult(round_money(Decimal(0)), (), attainment, (FLAG_BELOW_THRESHOLD,))
    gates = _Gates(plan.tiers, kpis)
    if plan.mode == "retroactive":
        top = max(i for i, t in enumerate(plan.tiers) if attainment >= t.from_attainment)  # tiers[0] starts at 0
        t = plan.tiers[top]
        rate, gate = gates.paid_rate(top), gates.results(top)
        raw = CONTEXT.multiply(revenue, rate)
        bands = (BandResult(t.from_attainment, t.to_attainment, t.rate, revenue, raw, rate, gate),)
        return _result(plan, raw, bands, attainment, ())
    # Marginal: compare revenue with each band's money bounds rather than attainment with
    # its bounds, so the slices add up to the revenue exactly (no division inside).
    raw = Decimal(0)
    slices: list[BandResult] = []
    for i, t in enumerate(plan.tiers):
        low = CONTEXT.multiply(t.from_attainment, target)
        high = revenue if t.to_attainment is None else min(revenue, CONTEXT.multiply(t.to_attainment, target))
        if high <= low:
            continue
        piece = CONTEXT.subtract(high, low)
        rate = gates.paid_rate(i)
        paid = CONTEXT.multiply(piece, rate)
        raw = CONTEXT.add(raw, paid)
        slices.append(BandResult(t.from_attainment, t.to_attainment, t.rate, piece, paid, rate, gates.results(i)))
    return _result(plan, raw, tuple(slices), attainment, ())


class _Gates:
    """The gate results of a plan's bands on one month, read from ``kpis`` on first need."""

    def __init__(self, tiers: tuple[Tier, ...], kpis: Callable[[], GateKpis]) -> None:
        self.tiers = tiers
        self._source = kpis
        self._kpis: GateKpis | None = None
        #: band index -> its conditions' results, checked once
        self._results: dict[int, tuple[ConditionResult, ...]] = {}

    def results(self, i: int) -> tuple[ConditionResult, ...]:
        """Each condition of band ``i`` on the month (empty without conditions)."""
        if not self.tiers[i].requires:
            return ()
        checked = self._results.get(i)
        if checked is None:
            if self._kpis is None:
                self._kpis = self._source()
            checked = self._results[i] = tuple(c.check(self._kpis) for c in self.tiers[i].requires)
        return checked

    def passed(self, i: int) -> bool:
        """Whether band ``i`` earns its own rate."""
        return all(r.passed for r in self.results(i))

    def paid_rate(self, i: int) -> Decimal:
        """Band ``i``'s rate if its gate holds, else that of the highest lower band whose gate holds."""
        while not self.passed(i):
            i -= 1  # tiers[0] has no conditions: the loop ends there at the latest
        return self.tiers[i].rate


def _result(
    plan: CommissionPlan, raw: Decimal, bands: tuple[BandResult, ...], attainment: Decimal | None,
    flags: tuple[str, ...],
) -> CommissionResult:
    """Apply the cap, then round once."""
    if plan.cap is not None and raw > plan.cap:
        raw, flags = plan.cap, flags + (FLAG_CAPPED,)
    return CommissionResult(round_money(raw), bands, attainment, flags)


# -- plan files ---------------------------------------------------------------------

def _decimal(value: Any, where: str) -> Decimal:
    return finite_decimal(value, where, PlanError)


def _mapping(data: Any, where: str, allowed: frozenset[str], required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    mapping = checked_mapping(data, where, allowed, PlanError, "commission plan")
    for key in required:
        if key not in mapping:
            raise PlanError(f"{where}.{key}: missing")
    return mapping


def _plan(data: Any, where: str) -> CommissionPlan:
    data = _mapping(data, where, _PLAN_KEYS)
    tiers_data = data.get("tiers")
    if not isinstance(tiers_data, list) or not tiers_data:
        raise PlanError(f"{where}.tiers: expected a non-empty list")
    tiers = []
    for i, t in enumerate(tiers_data):
        at = f"{where}.tiers[{i}]"
        t = _mapping(t, at, _TIER_KEYS, required=("from", "rate"))
        to = t.get("to")
        tiers.append(Tier(
            _decimal(t["from"], f"{at}.from"),
            None if to is None else _decimal(to, f"{at}.to"),
            _decimal(t["rate"], f"{at}.rate"),
            _conditions(t.get("requires"), f"{at}.requires"),
        ))
    plan_id = data.get("plan_id", where)
    if not isinstance(plan_id, str) or not plan_id:
        raise PlanError(f"{where}.plan_id: expected a non-empty string")
    threshold = None if data.get("threshold") is None else _decimal(data["threshold"], f"{where}.threshold")
    cap = None if data.get("cap") is None else _decimal(data["cap"], f"{where}.cap")
    try:
        return CommissionPlan(plan_id, tuple(tiers), data.get("mode", "marginal"), threshold, cap)
    except PlanError as exc:  # the plan's own checks name keys relative to the plan
        raise PlanError(f"{where}.{exc}") from None


def _conditions(data: Any, where: str) -> tuple[Condition, ...]:
    if data is None:
        return ()
    if not isinstance(data, list) or not data:
        raise PlanError(f"{where}: expected a non-empty list of conditions")
    out = []
    for i, c in enumerate(data):
        at = f"{where}[{i}]"
        c = _mapping(c, at, _CONDITION_KEYS, required=("kpi", "op", "value", "when_missing"))
        try:
            out.append(Condition(str(c["kpi"]), str(c["op"]), _decimal(c["value"], f"{at}.value"),
                                 str(c["when_missing"])))
        except PlanError as exc:
            if str(exc).startswith(at):
                raise
            raise PlanError(f"{at}.{exc}") from None
    return tuple(out)


def _overrides(data: Any, where: str) -> dict[str, CommissionPlan]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PlanError(f"{where}: expected a mapping of id -> plan")
    out = {}
    for key, plan in data.items():
        if not isinstance(key, str):
            raise PlanError(f"{where}.{key}: ids must be strings (quote them)")
        out[key] = _plan(plan, f"{where}.{key}")
    return out


def load_plans(path: str | None) -> PlanSet:
    """Load a plan file (None: the packaged ``plans/default_commission.yaml``).

    Raises ``PlanError`` naming the file problem or the offending key.
    """
    data = load_yaml(path, "default_commission.yaml", PlanError, "commission plan")
    data = _mapping(data, "", _FILE_KEYS)
    if "default" not in data:
        raise PlanError("default: missing (the plan used when no override applies)")
    return PlanSet(
        default=_plan(data["default"], "default"),
        by_team=_overrides(data.get("teams"), "teams"),
        by_rep=_overrides(data.get("reps"), "reps"),
    )
