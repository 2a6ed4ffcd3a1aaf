"""The pipeline forecast of contract §13: stage probabilities, open pipeline deals, the
forecast revenue of a period and the next commission band of a rep's month.

An open deal with a ``pipeline_stage`` and an ``expected_close_at`` is an ``OpenDeal``;
``Pipeline`` keeps the open deals of each rep (only the current version's three fields,
not the deal). ``forecast_revenue`` adds to a period's revenue Σ amount × probability of
the open deals expected to close in ``[max(as_of, start), end)``; a period that has ended
(``end <= as_of``) forecasts its revenue. ``next_band`` says which commission band a rep
enters next and how much revenue that takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import ROUND_CEILING, Decimal
from sys import intern
from typing import Any

from .commission import CommissionPlan, Condition
from .money import CONTEXT, ZERO, format_money, ratio
from .periods import NO_ZONE, bounds_in
from .plan_files import checked_mapping, finite_decimal, load_yaml

#: Money's smallest unit: what ``revenue_needed`` is rounded up to.
CENT = Decimal("0.01")

#: The pipeline stages of an open deal, earliest first (contract §13).
PIPELINE_STAGES = ("prospect", "qualified", "proposal", "negotiation")
_FILE_KEYS = frozenset({"plan_id", "stages"})


class ForecastPlanError(ValueError):
    """A stage-probability file that cannot be used; the message names the offending key."""


@dataclass(frozen=True)
class StageProbabilities:
    """The probability that an open deal at each pipeline stage is won; validated on construction."""

    plan_id: str
    #: (stage, probability) for every stage of ``PIPELINE_STAGES``, in that order
    stages: tuple[tuple[str, Decimal], ...]

    def __post_init__(self) -> None:
        names = tuple(stage for stage, _ in self.stages)
        if names != PIPELINE_STAGES:
            raise ForecastPlanError(f"stages: expected exactly {', '.join(PIPELINE_STAGES)} in that order")
        for stage, p in self.stages:
            if not ZERO <= p <= 1:
                raise ForecastPlanError(f"stages.{stage}: a probability from 0 to 1, got {p}")

    def of(self, stage: str) -> Decimal:
        """The probability of ``stage`` (one of ``PIPELINE_STAGES``)."""
        for name, p in self.stages:
            if name == stage:
                return p
        raise KeyError(stage)


def load_stage_probabilities(path: str | None) -> StageProbabilities:
    """Load a stage-probability file (None: the packaged ``plans/default_forecast.yaml``).

    Raises ``ForecastPlanError`` naming the file problem or the offending key."""
    data = load_yaml(path, "default_forecast.yaml", ForecastPlanError, "forecast plan")
    data = checked_mapping(data, "", _FILE_KEYS, ForecastPlanError, "forecast plan")
    plan_id = data.get("plan_id", "forecast")
    if not isinstance(plan_id, str) or not plan_id:
        raise ForecastPlanError("plan_id: expected a non-empty string")
    stages = checked_mapping(data.get("stages"), "stages", frozenset(PIPELINE_STAGES), ForecastPlanError,
                             "forecast plan")
    missing = [s for s in PIPELINE_STAGES if s not in stages]
    if missing:
        raise ForecastPlanError(f"stages.{missing[0]}: missing (every stage needs a probability)")
    return StageProbabilities(plan_id, tuple(
        (s, finite_decimal(stages[s], f"stages.{s}", ForecastPlanError)) for s in PIPELINE_STAGES))


@dataclass(frozen=True, slots=True)
class OpenDeal:
    """What the forecast keeps of an open pipeline deal's current version."""

    amount: Decimal
    stage: str
    expected_close_at: datetime


def open_deal(stage: str, amount: Decimal, pipeline_stage: str | None,
              expected_close_at: datetime | None) -> OpenDeal | None:
    """The pipeline deal of a deal version: an ``open`` deal with a pipeline stage and an
    expected close; None otherwise (a won or lost deal's pipeline fields are ignored)."""
    if stage != "open" or pipeline_stage is None or expected_close_at is None:
        return None
    return OpenDeal(amount, intern(pipeline_stage), expected_close_at)


class Pipeline:
    """The open pipeline deals of each rep: rep_id -> deal_id -> ``OpenDeal``."""

    __slots__ = ("_by_rep",)

    def __init__(self) -> None:
        self._by_rep: dict[str, dict[str, OpenDeal]] = {}

    def put(self, rep_id: str, deal_id: str, deal: OpenDeal) -> None:
        """Record the rep's open deal (replacing what was kept for ``deal_id``)."""
        deals = self._by_rep.get(rep_id)
        if deals is None:
            deals = self._by_rep[rep_id] = {}
        deals[deal_id] = deal

    def remove(self, rep_id: str, deal_id: str) -> OpenDeal | None:
        """Forget the rep's open deal; returns what was kept (None: nothing)."""
        deals = self._by_rep.get(rep_id)
        if deals is None:
            return None
        deal = deals.pop(deal_id, None)
        if not deals:
            del self._by_rep[rep_id]
        return deal

    def reps(self) -> list[str]:
        """The reps with at least one open pipeline deal."""
        return list(self._by_rep)

    def __len__(self) -> int:
        return sum(len(deals) for deals in self._by_rep.values())

    def weighted(self, reps: Iterable[str], start: datetime, end: datetime,
                 probabilities: StageProbabilities) -> Decimal:
        """Σ amount × stage probability over the open deals of ``reps`` expected to close in
        ``[start, end)``: the amounts summed per stage, then each sum times its probability
        (the same Decimal as a product per deal: both are exact at 28 digits)."""
        by_rep, by_stage = self._by_rep, dict[str, Decimal]()
        zone: tzinfo | None = NO_ZONE
        lo, hi = start, end
        for rep in reps:  # every rep of the company on its renders: one add per deal
            deals = by_rep.get(rep)
            if deals is None:
                continue
            for deal in deals.values():
                ts = deal.expected_close_at
                if ts.tzinfo is not zone:
                    zone = ts.tzinfo
                    lo, hi = bounds_in(start, end, zone)
                if lo <= ts < hi:
                    kept = by_stage.get(deal.stage)
                    by_stage[deal.stage] = deal.amount if kept is None else CONTEXT.add(kept, deal.amount)
        total = ZERO
        for stage, amount in by_stage.items():
            total = CONTEXT.add(total, CONTEXT.multiply(amount, probabilities.of(stage)))
        return total


def forecast_window(start: datetime, end: datetime, as_of: datetime) -> tuple[datetime, datetime] | None:
    """``[max(as_of, start), end)``, the span whose expected closes count; None once the
    period has ended (``end <= as_of``): its forecast is its revenue."""
    if end <= as_of:
        return None
    return max(as_of, start), end


def forecast_revenue(revenue: Decimal, weighted_pipeline: Decimal | None) -> Decimal:
    """Revenue plus the weighted pipeline of the window (None: an ended period, revenue alone)."""
    return revenue if weighted_pipeline is None else CONTEXT.add(revenue, weighted_pipeline)


@dataclass(frozen=True)
class NextBand:
    """The commission band a rep's month enters next: its rate, the revenue still needed to
    enter it, and its gate (``requires``, shown; it does not change ``revenue_needed``)."""

    rate: Decimal
    revenue_needed: Decimal
    requires: tuple[Condition, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON form: ``rate`` a 4-decimal number, ``revenue_needed`` a money string."""
        return {
            "rate": ratio(self.rate),
            "revenue_needed": format_money(self.revenue_needed),
            "requires": [{"kpi": c.kpi, "op": c.op, "value": ratio(c.value), "when_missing": c.when_missing}
                         for c in self.requires],
        }


def next_band(plan: CommissionPlan, revenue: Decimal, target: Decimal | None) -> NextBand | None:
    """The first band starting above the month's attainment (revenue / target) and the
    revenue that enters it (its ``from`` × target − revenue, rounded up to the cent); None in the top band and
    without a target (then every unit is paid at the first band's rate, contract §7).
    Attainment exactly on a band's ``from`` is inside that band."""
    if target is None or target <= 0:
        return None
    for tier in plan.tiers:
        threshold = CONTEXT.multiply(tier.from_attainment, target)
        if threshold > revenue:
            # rounded up to the cent: selling exactly this much reaches the band
            needed = CONTEXT.subtract(threshold, revenue).quantize(CENT, rounding=ROUND_CEILING)
            return NextBand(tier.rate, needed, tier.requires)
    return None
