"""The forecast backtest of contract §13: replay a history through the engine and, at one
third and two thirds of each month, compare each rep's ``forecast_revenue`` and run-rate
``projected_revenue`` (contract §5) with the rep's final revenue of the month.

The error of a method at a checkpoint is the weighted absolute percentage error over the
rep-months, WAPE = Σ |predicted − actual| / Σ actual. ``replay`` takes the records in
time order; it sets the engine's clock to each checkpoint before the first record after
it, so a prediction sees exactly the facts that happened before the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sales_scorecard.schemas.records import InputEvent

from . import labels as L
from .engine import ScorecardEngine
from .money import CONTEXT, ZERO, divide, format_money, ratio
from .periods import elapsed

#: The checkpoints of a month: (name, numerator, denominator) of its length.
CHECKPOINTS: tuple[tuple[str, int, int], ...] = (("1/3", 1, 3), ("2/3", 2, 3))


@dataclass(frozen=True)
class Prediction:
    """What both methods predicted for one rep's month at one checkpoint."""

    rep_id: str
    month: str
    checkpoint: str
    forecast: Decimal
    run_rate: Decimal


@dataclass
class ErrorSum:
    """Σ |predicted − actual| and Σ actual over rep-months."""

    abs_error: Decimal = ZERO
    actual: Decimal = ZERO

    def add(self, predicted: Decimal, actual: Decimal) -> None:
        """Count one rep-month."""
        self.abs_error = CONTEXT.add(self.abs_error, abs(CONTEXT.subtract(predicted, actual)))
        self.actual = CONTEXT.add(self.actual, actual)

    @property
    def wape(self) -> Decimal | None:
        """Σ |predicted − actual| / Σ actual (None when nothing was sold)."""
        return divide(self.abs_error, self.actual)


@dataclass
class CheckpointScore:
    """Both methods' errors at one checkpoint."""

    checkpoint: str
    rep_months: int = 0
    forecast: ErrorSum = field(default_factory=ErrorSum)
    run_rate: ErrorSum = field(default_factory=ErrorSum)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (money strings, WAPE rounded to 4 decimals)."""
        return {
            "checkpoint": self.checkpoint, "rep_months": self.rep_months,
            "actual_revenue": format_money(self.forecast.actual),
            "forecast_abs_error": format_money(self.forecast.abs_error),
            "run_rate_abs_error": format_money(self.run_rate.abs_error),
            "forecast_wape": ratio(self.forecast.wape), "run_rate_wape": ratio(self.run_rate.wape),
        }


@dataclass
class BacktestResult:
    """The scores per checkpoint over every month, and per month."""

    months: list[str]
    overall: dict[str, CheckpointScore]
    by_month: dict[str, dict[str, CheckpointScore]]

    def to_json(self) -> dict[str, Any]:
        """The JSON form written by ``scorecard forecast backtest --out``."""
        return {
            "months": self.months,
            "checkpoints": [score.to_json() for score in self.overall.values()],
            "by_month": {m: [s.to_json() for s in scores.values()] for m, scores in self.by_month.items()},
        }


def _checkpoints(engine: ScorecardEngine, first: datetime, last: datetime) -> list[tuple[datetime, str, str]]:
    """(instant, month, checkpoint name) of every checkpoint of the months from ``first``'s to ``last``'s."""
    cal = engine.calendar
    month, final = cal.month_label(first), cal.month_label(last)
    out = []
    while month <= final:
        period = cal.parse(month)
        for name, num, den in CHECKPOINTS:
            out.append((period.start + (period.end - period.start) * num / den, month, name))
        month = L.shift(month, 1)
    return out


def _predict(engine: ScorecardEngine, month: str, checkpoint: str, at: datetime) -> list[Prediction]:
    """Both methods for every rep the engine knows of, at clock ``at``."""
    period = engine.calendar.parse(month)
    share = elapsed(period, at)
    reps = {id for scope, id in engine.known if scope == "rep"} | set(engine.roster.reps) | set(engine.pipeline.reps())
    out = []
    for rep in sorted(reps):
        revenue = engine.rep_month_revenue(rep, month)
        forecast = engine.forecast_of("rep", rep, month)
        run_rate = divide(revenue, share)
        out.append(Prediction(rep, month, checkpoint, forecast if forecast is not None else revenue,
                              run_rate if run_rate is not None else revenue))
    return out


def replay(engine: ScorecardEngine, records: Iterable[InputEvent]) -> BacktestResult:
    """Apply ``records`` (in time order) and score the predictions at every checkpoint the
    history passes (a month cut off by the history's end is compared with what it had)."""
    records = list(records)
    if not records:
        return BacktestResult([], {}, {})
    points = _checkpoints(engine, records[0].occurred_at, records[-1].occurred_at)
    predictions: list[Prediction] = []
    i = 0
    for record in records:
        while i < len(points) and points[i][0] <= record.occurred_at:
            at, month, name = points[i]
            engine.advance_clock(at)
            predictions.extend(_predict(engine, month, name, at))
            i += 1
        engine.apply(record)
    return score(engine, predictions)


def score(engine: ScorecardEngine, predictions: list[Prediction]) -> BacktestResult:
    """WAPE of both methods against each rep's revenue of the month as the engine has it now."""
    sold = {p.month for p in predictions if engine.rep_month_revenue(p.rep_id, p.month)}
    predictions = [p for p in predictions if p.month in sold]
    months = sorted(sold)
    overall = {name: CheckpointScore(name) for name, _, _ in CHECKPOINTS}
    by_month = {m: {name: CheckpointScore(name) for name, _, _ in CHECKPOINTS} for m in months}
    predicted = {(p.rep_id, p.month, p.checkpoint) for p in predictions}
    for p in predictions:
        actual = engine.rep_month_revenue(p.rep_id, p.month)
        if not (actual or p.forecast or p.run_rate):
            continue  # nothing sold, nothing predicted: not a rep-month of the test
        for scores in (overall[p.checkpoint], by_month[p.month][p.checkpoint]):
            scores.rep_months += 1
            scores.forecast.add(p.forecast, actual)
            scores.run_rate.add(p.run_rate, actual)
    # a rep first seen after a checkpoint (hired later in the month) was predicted nothing
    late = {(id, m) for scope, id in engine.known if scope == "rep" for m in months
            if engine.rep_month_revenue(id, m) > 0}
    for rep, month in sorted(late):
        for name, _, _ in CHECKPOINTS:
            if (rep, month, name) not in predicted:
                actual = engine.rep_month_revenue(rep, month)
                for scores in (overall[name], by_month[month][name]):
                    scores.rep_months += 1
                    scores.forecast.add(ZERO, actual)
                    scores.run_rate.add(ZERO, actual)
    return BacktestResult(months, overall, by_month)
