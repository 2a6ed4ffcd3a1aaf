"""The weighted scorecard (SPEC §6): components, achievements and the score.

Achievement = value / goal (higher is better) or goal / value (lower is better, a
value of 0 is full achievement), capped at the component's ``cap`` (default 1.0).
``score = 100 × Σ wᵢ·aᵢ / Σ wᵢ`` over the components whose KPI is not null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import CONTEXT
from .plan_files import load_yaml, to_decimal

DIMENSIONS = ("financial", "customer", "process", "learning")
DIRECTIONS = ("higher", "lower")


class ScorePlanError(ValueError):
    """A scorecard plan file that cannot be used."""


@dataclass(frozen=True)
class Goal:
    """A fixed goal, or a per-month goal, optionally taken from a resolved target."""

    fixed: Decimal | None = None
    per_month: Decimal | None = None
    target: str | None = None

    def resolve(self, months: int, targets: Mapping[str, Decimal | None]) -> Decimal | None:
        """The goal for a period covering ``months`` months."""
        if self.target is not None and targets.get(self.target) is not None:
            return targets[self.target]
        if self.per_month is not None:
            return self.per_month * months
        return self.fixed


@dataclass(frozen=True)
class Component:
    """One scorecard component."""

    kpi: str
    dimension: str
    weight: Decimal
    goal: Goal
    direction: str = "higher"
    cap: Decimal = Decimal("1.0")


@dataclass(frozen=True)
class ScorecardPlan:
    """A named list of components."""

    plan_id: str
    components: tuple[Component, ...]


@dataclass(frozen=True)
class ComponentResult:
    """A component's value, goal and achievement, so the score can be explained."""

    kpi: str
    dimension: str
    weight: Decimal
    goal: Decimal | None
    direction: str
    value: Decimal | int | None
    achievement: Decimal | None


@dataclass(frozen=True)
class ScoreResult:
    """The score and every component behind it."""

    score: Decimal | None
    components: tuple[ComponentResult, ...]


def achievement(value: Decimal | int, goal: Decimal, direction: str, cap: Decimal) -> Decimal | None:
    """How much of the goal a value achieves, in [0, cap]; None when undefined."""
    v = Decimal(value)
    if direction == "lower":
        raw = cap if v == 0 else CONTEXT.divide(goal, v)
    else:
        if goal == 0:
            return None
        raw = CONTEXT.divide(v, goal)
    return max(Decimal(0), min(cap, raw))


def evaluate(
    plan: ScorecardPlan,
    kpis: Mapping[str, Any],
    months: int,
    targets: Mapping[str, Decimal | None],
) -> ScoreResult:
    """Score a scorecard's exact KPI values against the plan."""
    results = []
    weighted = Decimal(0)
    weights = Decimal(0)
    for c in plan.components:
        value = kpis.get(c.kpi)
        goal = c.goal.resolve(months, targets)
        ach = achievement(value, goal, c.direction, c.cap) if value is not None and goal is not None else None
        if ach is not None:
            weighted += c.weight * ach
            weights += c.weight
        results.append(ComponentResult(c.kpi, c.dimension, c.weight, goal, c.direction, value, ach))
    score = CONTEXT.divide(100 * weighted, weights) if weights else None
    return ScoreResult(score, tuple(results))


def _decimal(value: Any, where: str) -> Decimal:
    return to_decimal(value, where, ScorePlanError)


def _goal(data: Any, where: str) -> Goal:
    if isinstance(data, dict):
        per_month = data.get("per_month")
        return Goal(
            per_month=None if per_month is None else _decimal(per_month, f"{where}.per_month"),
            target=data.get("target"),
        )
    return Goal(fixed=_decimal(data, where))


def parse_plan(data: Any) -> ScorecardPlan:
    """Build a plan from parsed YAML."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        raise ScorePlanError("scorecard plan: expected a mapping with a 'components' list")
    components = []
    for i, c in enumerate(data["components"]):
        where = f"components[{i}]"
        if not isinstance(c, dict) or "kpi" not in c or "weight" not in c or "goal" not in c:
            raise ScorePlanError(f"{where}: needs kpi, weight and goal")
        dimension = c.get("dimension", "financial")
        direction = c.get("direction", "higher")
        if dimension not in DIMENSIONS:
            raise ScorePlanError(f"{where}.dimension: expected one of {DIMENSIONS}")
        if direction not in DIRECTIONS:
            raise ScorePlanError(f"{where}.direction: expected one of {DIRECTIONS}")
        components.append(Component(
            kpi=str(c["kpi"]), dimension=dimension, weight=_decimal(c["weight"], f"{where}.weight"),
            goal=_goal(c["goal"], f"{where}.goal"), direction=direction,
            cap=_decimal(c.get("cap", "1.0"), f"{where}.cap"),
        ))
    return ScorecardPlan(str(data.get("plan_id", "custom")), tuple(components))


def load_scorecard_plan(path: str | None) -> ScorecardPlan:
    """Load a plan file (None: the packaged default of SPEC §6)."""
    return parse_plan(load_yaml(path, "default_scorecard.yaml", ScorePlanError, "scorecard plan"))
