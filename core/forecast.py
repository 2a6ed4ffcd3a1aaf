"""The pipeline forecast of contract §13: stage probabilities, open pipeline deals, the
forecast revenue of a period and the next commission band of a rep's month.

An open deal with a ``pipeline_stage`` and an ``expected_close_at`` is an ``OpenDeal``;
``Pipeline`` keeps the open deals of each rep (only the current version's three fields,
not the deal), and every one of them by the day of its expected close (``ClosingDays``:
what the company's forecast reads). ``forecast_revenue`` adds to a period's revenue Σ amount × probability of
the open deals expected to close in ``[max(as_of, start), end)``; a period that has ended
(``end <= as_of``) forecasts its revenue. ``next_band`` says which commission band a rep
enters next and how much revenue that takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_CEILING, Decimal
from sys import intern
from typing import Any

from .commission import CommissionPlan, Condition
from .money import CONTEXT, ZERO, format_money, ratio
from .periods import NO_ZONE, InstantRange, bounds_in
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


#: The instant ``ClosingDays`` counts its days from (UTC days: an offset changes no day number).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_DAY = timedelta(days=1)

#: The open deals of a day, each by (rep_id, deal_id).
DayDeals = dict[tuple[str, str], OpenDeal]


def _day(ts: datetime) -> int:
    """The UTC day holding ``ts``, counted from ``EPOCH``."""
    return (ts - EPOCH) // ONE_DAY


def _add(by_stage: dict[str, Decimal], stage: str, amount: Decimal) -> None:
    kept = by_stage.get(stage)
    by_stage[stage] = amount if kept is None else CONTEXT.add(kept, amount)


def _weighted(by_stage: dict[str, Decimal], probabilities: StageProbabilities) -> Decimal:
    """Σ each stage's amount times its probability, in the order of ``PIPELINE_STAGES`` (the
    same Decimal as a product per deal while both are exact at 28 digits; a probability of
    more digits rounds, and then one order gives one result)."""
    total = ZERO
    for stage, p in probabilities.stages:  # one order, whatever order the sums came in
        amount = by_stage.get(stage)
        if amount is not None:
            total = CONTEXT.add(total, CONTEXT.multiply(amount, p))
    return total


class ClosingDays:
    """Every open deal by the UTC day of its expected close: the amounts summed per day
    and stage, and the deals of each day. A window reads the sums of the whole days inside
    it and tests the deals of the (at most two) days its bounds cut: a company's forecast
    looked at every open deal of the organisation on each render before (docs/benchmarks.md)."""

    __slots__ = ("_sums", "_deals")

    def __init__(self) -> None:
        #: day -> stage -> (Σ amount, how many) of the day's open deals at that stage
        self._sums: dict[int, dict[str, tuple[Decimal, int]]] = {}
        #: day -> its open deals
        self._deals: dict[int, DayDeals] = {}

    def add(self, rep_id: str, deal_id: str, deal: OpenDeal) -> None:
        """Count an open deal (not counted yet)."""
        day = _day(deal.expected_close_at)
        deals = self._deals.get(day)
        if deals is None:
            deals = self._deals[day] = {}
            self._sums[day] = {}
        deals[(rep_id, deal_id)] = deal
        sums = self._sums[day]
        kept = sums.get(deal.stage)
        sums[deal.stage] = (deal.amount, 1) if kept is None else (CONTEXT.add(kept[0], deal.amount), kept[1] + 1)

    def remove(self, rep_id: str, deal_id: str, deal: OpenDeal) -> None:
        """Stop counting an open deal counted by ``add``; a day or a stage of a day left
        without a deal is forgotten, so no sum outlives its deals."""
        day = _day(deal.expected_close_at)
        deals = self._deals[day]
        del deals[(rep_id, deal_id)]
        if not deals:
            del self._deals[day], self._sums[day]
            return
        sums = self._sums[day]
        amount, count = sums[deal.stage]
        if count == 1:
            del sums[deal.stage]
        else:
            sums[deal.stage] = (CONTEXT.subtract(amount, deal.amount), count - 1)

    def by_stage(self, lo: datetime, hi: datetime) -> dict[str, Decimal]:
        """Σ amount per stage of the open deals expected to close in ``[lo, hi)``."""
        out: dict[str, Decimal] = {}
        lo_day, hi_day = _day(lo), _day(hi)
        first = lo_day if EPOCH + lo_day * ONE_DAY == lo else lo_day + 1  # the first whole day
        within = InstantRange(lo, hi).holds
        for day in {lo_day, hi_day}:
            if not first <= day < hi_day:  # a day a bound cuts: its deals one by one
                for deal in self._deals.get(day, {}).values():
                    if within(deal.expected_close_at):
                        _add(out, deal.stage, deal.amount)
        sums = self._sums
        days = range(first, hi_day) if hi_day - first <= len(sums) else (d for d in sums if first <= d < hi_day)
        for day in days:
            of_day = sums.get(day)
            if of_day is not None:
                for stage, (amount, _) in of_day.items():
                    _add(out, stage, amount)
        return out


class Pipeline:
    """The open pipeline deals of each rep: rep_id -> deal_id -> ``OpenDeal``; and all of
    them by the day of their expected close (``ClosingDays``)."""

    __slots__ = ("_by_rep", "_closing")

    def __init__(self) -> None:
        self._by_rep: dict[str, dict[str, OpenDeal]] = {}
        self._closing = ClosingDays()

    def put(self, rep_id: str, deal_id: str, deal: OpenDeal) -> None:
        """Record the rep's open deal (replacing what was kept for ``deal_id``)."""
        deals = self._by_rep.get(rep_id)
        if deals is None:
            deals = self._by_rep[rep_id] = {}
        old = deals.get(deal_id)
        if old is not None:
            self._closing.remove(rep_id, deal_id, old)
        deals[deal_id] = deal
        self._closing.add(rep_id, deal_id, deal)

    def remove(self, rep_id: str, deal_id: str) -> OpenDeal | None:
        """Forget the rep's open deal; returns what was kept (None: nothing)."""
        deals = self._by_rep.get(rep_id)
        if deals is None:
            return None
        deal = deals.pop(deal_id, None)
        if not deals:
            del self._by_rep[rep_id]
        if deal is not None:
            self._closing.remove(rep_id, deal_id, deal)
        return deal

    def reps(self) -> list[str]:
        """The reps with at least one open pipeline deal."""
        return list(self._by_rep)

    def __len__(self) -> int:
        return sum(len(deals) for deals in self._by_rep.values())

    def weighted(self, reps: Iterable[str], start: datetime, end: datetime,
                 probabilities: StageProbabilities) -> Decimal:
        """Σ amount × stage probability over the open deals of ``reps`` expected to close in
        ``[start, end)``: the amounts summed per stage, then each sum times its probability."""
        by_rep, by_stage = self._by_rep, dict[str, Decimal]()
        zone: tzinfo | None = NO_ZONE
        lo, hi = start, end
        for rep in reps:  # a team's members on its renders: one add per deal
            deals = by_rep.get(rep)
            if deals is None:
                continue
            for deal in deals.values():
                ts = deal.expected_close_at
                if ts.tzinfo is not zone:
                    zone = ts.tzinfo
                    lo, hi = bounds_in(start, end, zone)
                if lo <= ts < hi:
                    _add(by_stage, deal.stage, deal.amount)
        return _weighted(by_stage, probabilities)

    def weighted_all(self, start: datetime, end: datetime, probabilities: StageProbabilities) -> Decimal:
        """``weighted`` over every rep's open deals (the company's), from ``ClosingDays``."""
        return _weighted(self._closing.by_stage(start, end), probabilities)


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
