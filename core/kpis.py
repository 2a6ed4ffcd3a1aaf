"""KPI formulas of contract §5 over plain inputs, and their output format.

``compute_kpis`` takes the aggregates and context one scorecard needs (a
``KpiInputs``) and returns exact values (Decimal/int/None) plus the JSON-ready form:
money as 2-decimal strings, ratios as numbers rounded half-up to 4 decimals. A KPI
whose denominator is 0 or whose input is missing is None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from .aggregates import ACTIVITY_KINDS, SEVERITIES, TIERS, Bucket
from .money import divide, format_money, ratio

MICROS_PER_DAY = Decimal(86_400_000_000)
MICROS_PER_HOUR = Decimal(3_600_000_000)

#: KPIs whose values are money (formatted as strings with 2 decimals).
MONEY_KPIS = frozenset(
    {"revenue", "target", "expected_to_date", "projected_revenue", "avg_deal_size", "commission", "market_size",
     "forecast_revenue"}
)
#: KPIs that are plain counts.
COUNT_KPIS = frozenset(
    {"won_deals", "lost_deals", "new_customers", "customers_served", "complaints", "csat_responses", "campaigns",
     "headcount", "departures", "tenure_months"}
)
#: KPIs that depend on the clock (``as_of``), not only on facts: the stage re-renders the
#: current periods when only the clock moved (contract §4), so these keep moving.
CLOCK_KPIS = frozenset({"expected_to_date", "pace", "projected_revenue", "forecast_revenue", "forecast_attainment"})
#: KPIs whose value is an object with its own JSON form (``Structured``).
STRUCTURED_KPIS = frozenset({"next_band"})
#: Numeric KPIs computed from a scope's own facts of the period alone (its bucket): no
#: target, roster, clock, other periods or other scopes. What a commission gate may read
#: (contract §11), so only a fact of the rep's month can change a gate.
BUCKET_KPIS = frozenset(
    {"won_deals", "lost_deals", "win_rate", "avg_deal_size", "avg_cycle_days", "customers_served", "complaints",
     "complaint_rate", "avg_resolution_hours", "csat", "csat_responses", "campaigns", "training_hours"}
)


class Structured(Protocol):
    """A KPI value that formats itself (core/forecast.py ``NextBand``)."""

    def to_json(self) -> dict[str, Any]:
        """The value's JSON form."""
        ...


@dataclass(frozen=True)
class KpiInputs:
    """Everything one scorecard's KPIs are computed from."""

    scope: str  # rep | team | company
    kind: str  # month | quarter | year | R30D | R90D
    bucket: Bucket
    prev_revenue: Decimal
    yoy_revenue: Decimal
    target: Decimal | None
    market_size: Decimal | None
    territory_factor: Decimal | None  # rep only
    elapsed: Decimal | None
    repeat_customers: int
    coverage: tuple[int, int] | None  # (book size, covered) for months
    headcount_start: int | None
    headcount_end: int | None
    departures: int | None
    tenure_months: int | None
    ramp_ratios: list[Decimal] | None
    commission: Decimal | None
    #: contract §13: revenue plus the weighted pipeline of the period's rest (None: no forecast)
    forecast_revenue: Decimal | None = None
    #: contract §13, rep months: the commission band entered next (None: top band, no target)
    next_band: Structured | None = None
    #: contract §12, rep months, quarters and years: the review score and the self rating
    review_score: Decimal | None = None
    self_rating: Decimal | None = None
    #: contract §12, team and company calendar periods
    review_coverage: Decimal | None = None
    team_engagement: Decimal | None = None


def _mean(values: list[Decimal]) -> Decimal | None:
    return divide(sum(values, Decimal(0)), len(values)) if values else None


def _own_kpis(b: Bucket, won_customers: Any) -> dict[str, Any]:
    """The ``BUCKET_KPIS`` of a bucket (``won_customers``: its multiset, read once by the caller)."""
    contacts = b.contacts
    # |won ∪ contacts| without building the union: the smaller one's members looked up in the other
    small, large = (won_customers, contacts) if len(won_customers) <= len(contacts) else (contacts, won_customers)
    served = len(large) + len(small) - sum(map(large.__contains__, small))
    return {
        "won_deals": b.won,
        "lost_deals": b.lost,
        "win_rate": divide(b.won, b.won + b.lost),
        "avg_deal_size": divide(b.revenue, b.won),
        "avg_cycle_days": divide(divide(b.cycle_micros, MICROS_PER_DAY), b.won) if b.won else None,
        "customers_served": served,
        "complaints": b.complaints,
        "complaint_rate": divide(b.complaints, served),
        "avg_resolution_hours": (divide(divide(b.resolution_micros, MICROS_PER_HOUR), b.resolved)
                                 if b.resolved else None),
        "csat": divide(b.survey_sum, b.survey_count),
        "csat_responses": b.survey_count,
        "campaigns": len(b.campaigns),
        "training_hours": divide(b.training_minutes, 60),
    }


def bucket_kpis(bucket: Bucket) -> dict[str, Any]:
    """The ``BUCKET_KPIS`` of one bucket, exact (the formulas ``compute_kpis`` uses for them)."""
    return _own_kpis(bucket, bucket.won_customers)


def compute_kpis(inp: KpiInputs) -> dict[str, Any]:
    """Exact KPI values for one scope and period (Decimal, int, dict or None)."""
    b = inp.bucket
    revenue = b.revenue
    attainment = divide(revenue, inp.target)
    if inp.scope == "rep":
        factor = inp.territory_factor if inp.territory_factor is not None else Decimal("1.0")
        weighted = attainment * factor if attainment is not None else None
    else:
        weighted = attainment
    expected = inp.target * inp.elapsed if inp.target is not None and inp.elapsed is not None else None
    # Each read of a multiset of a bucket builds a mapping from its packed form: read once.
    won_customers, kinds, tiers, severities = b.won_customers, b.activities, b.new_by_tier, b.by_severity
    own = _own_kpis(b, won_customers)
    headcount_mean = (
        divide(inp.headcount_start + inp.headcount_end, 2)
        if inp.headcount_start is not None and inp.headcount_end is not None
        else None
    )
    activities = {kind: kinds.get(kind, 0) for kind in ACTIVITY_KINDS}
    activities["effective_contacts"] = b.effective_contacts
    return {
        "revenue": revenue,
        "target": inp.target,
        "attainment": attainment,
        "weighted_attainment": weighted,
        "expected_to_date": expected,
        "pace": divide(revenue, expected),
        "projected_revenue": divide(revenue, inp.elapsed),
        "growth_prev": divide(revenue - inp.prev_revenue, inp.prev_revenue),
        "growth_yoy": divide(revenue - inp.yoy_revenue, inp.yoy_revenue),
        "won_deals": own["won_deals"],
        "lost_deals": own["lost_deals"],
        "win_rate": own["win_rate"],
        "avg_deal_size": own["avg_deal_size"],
        "avg_cycle_days": own["avg_cycle_days"],
        "new_customers": b.new_customers,
        "new_customers_by_tier": {tier: tiers.get(tier, 0) for tier in TIERS},
        "repeat_customer_rate": divide(inp.repeat_customers, len(won_customers)),
        "customers_served": own["customers_served"],
        "complaints": own["complaints"],
        "complaints_by_severity": {sev: severities.get(sev, 0) for sev in SEVERITIES},
        "complaint_rate": own["complaint_rate"],
        "avg_resolution_hours": own["avg_resolution_hours"],
        "csat": own["csat"],
        "csat_responses": own["csat_responses"],
        "activities": activities,
        "contact_coverage": divide(inp.coverage[1], inp.coverage[0]) if inp.coverage is not None else None,
        "campaigns": own["campaigns"],
        "training_hours": own["training_hours"],
        "market_size": inp.market_size if inp.scope != "rep" else None,
        "market_share": divide(revenue, inp.market_size) if inp.scope != "rep" else None,
        "headcount": inp.headcount_end,
        "departures": inp.departures,
        "turnover_rate": divide(inp.departures, headcount_mean) if inp.departures is not None else None,
        "tenure_months": inp.tenure_months,
        "new_hire_ramp": _mean(inp.ramp_ratios) if inp.ramp_ratios is not None else None,
        "commission": inp.commission,
        "forecast_revenue": inp.forecast_revenue,
        "forecast_attainment": divide(inp.forecast_revenue, inp.target),
        "next_band": inp.next_band,
        "review_score": inp.review_score,
        "self_rating": inp.self_rating,
        "review_coverage": inp.review_coverage,
        "team_engagement": inp.team_engagement,
    }


def _structured(value: Structured) -> dict[str, Any]:
    return value.to_json()


def _as_is(value: Any) -> Any:
    return value


#: How a KPI's value is written, by KPI (any other KPI is a ratio); None stays None.
_FORMATS: dict[str, Callable[[Any], Any]] = {
    **{name: _as_is for name in COUNT_KPIS},
    **{name: format_money for name in MONEY_KPIS},
    **{name: _structured for name in STRUCTURED_KPIS},
}


def format_kpis(values: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of ``compute_kpis``'s result (money strings, 4-decimal ratios)."""
    out: dict[str, Any] = {}
    formats = _FORMATS
    for name, value in values.items():
        if value is None:
            out[name] = None
        elif isinstance(value, dict) and name not in STRUCTURED_KPIS:
            out[name] = value
        else:
            out[name] = formats.get(name, ratio)(value)
    return out

