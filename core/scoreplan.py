"""The weighted scorecard (contract §6): components, achievements and the score.

Achievement = value / goal (higher is better) or goal / value (lower is better, a
value of 0 is full achievement, i.e. the cap), clamped to [0, cap] (cap default 1.0).
``score = 100 × Σ wᵢ·aᵢ / Σ wᵢ`` over the components with an achievement: a component
whose KPI is null, or whose goal is missing or (higher is better) 0, is left out.
Exact Decimal throughout; the caller rounds.

Plans per scope (contract §12): a plan file may hold ``scopes: {rep: …, team: …,
company: …}``, each a plan of its own (``plan_id`` and ``components``); a scope it does not
name uses the file's top-level ``components``. A file without ``scopes`` applies to every
scope. A goal may be ``per_member: true``: the goal times the scope's headcount at the
period's end (a rep counts as one member; without active members the goal is 0, left
out when higher is better, §6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import CONTEXT, ZERO
from .plan_files import checked_mapping, finite_decimal, load_yaml
from .targets import FIELDS as TARGET_FIELDS

DIMENSIONS = ("financial", "customer", "process", "learning")
DIRECTIONS = ("higher", "lower")
DEFAULT_CAP = Decimal("1.0")

_PLAN_KEYS = frozenset({"plan_id", "components", "scopes"})
_SCOPE_PLAN_KEYS = frozenset({"plan_id", "components"})
SCOPES = ("rep", "team", "company")
_COMPONENT_KEYS = frozenset({"kpi", "dimension", "weight", "goal", "direction", "cap"})
_GOAL_KEYS = frozenset({"value", "per_month", "target", "per_member"})


class ScorePlanError(ValueError):
    """A scorecard plan (file) that cannot be used; the message names the offending key."""


@dataclass(frozen=True)
class Goal:
    """A fixed goal, or a per-month goal, optionally taken from a resolved target; a fixed
    or per-month goal may be per member (times the headcount at the period's end)."""

    fixed: Decimal | None = None
    per_month: Decimal | None = None
    target: str | None = None
    per_member: bool = False

    def resolve(self, months: int, targets: Mapping[str, Decimal | None],
                members: int | None = None) -> Decimal | None:
        """The goal for a period covering ``months`` months (None when it has none);
        ``members``: the headcount a per-member goal is multiplied by (None: no goal; 0
        gives a goal of 0, which §6 treats like any goal of 0).
        A resolved target is the scope's own and is never multiplied."""
        if self.target is not None:
            given = targets.get(self.target)
            if given is not None:
                return given
        goal = CONTEXT.multiply(self.per_month, Decimal(months)) if self.per_month is not None else self.fixed
        if goal is None or not self.per_member:
            return goal
        return CONTEXT.multiply(goal, Decimal(members)) if members is not None else None


@dataclass(frozen=True)
class Component:
    """One scorecard component."""

    kpi: str
    dimension: str
    weight: Decimal
    goal: Goal
    direction: str = "higher"
    cap: Decimal = DEFAULT_CAP


@dataclass(frozen=True)
class ScorecardPlan:
    """A named list of components."""

    plan_id: str
    components: tuple[Component, ...]


@dataclass(frozen=True)
class ScopedPlans:
    """The scorecard plan of each scope (contract §12)."""

    rep: ScorecardPlan
    team: ScorecardPlan
    company: ScorecardPlan

    @classmethod
    def uniform(cls, plan: ScorecardPlan) -> ScopedPlans:
        """One plan for every scope (a plan file without ``scopes``)."""
        return cls(plan, plan, plan)

    def for_scope(self, scope: str) -> ScorecardPlan:
        """The plan a scorecard of ``scope`` is scored with."""
        if scope == "rep":
            return self.rep
        if scope == "team":
            return self.team
        if scope == "company":
            return self.company
        raise ValueError(f"unknown scope {scope!r}")


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
    per_member: bool = False  #: the goal is the plan's goal times the headcount


@dataclass(frozen=True)
class ScoreResult:
    """The score and every component behind it."""

    score: Decimal | None
    components: tuple[ComponentResult, ...]


def achievement(value: Decimal | int, goal: Decimal, direction: str, cap: Decimal) -> Decimal | None:
    """How much of the goal a value achieves, in [0, cap]; None when undefined (higher, goal 0)."""
    v = Decimal(value)
    if direction == "lower":
        raw = cap if v == 0 else CONTEXT.divide(goal, v)
    else:
        if goal == 0:
            return None
        raw = CONTEXT.divide(v, goal)
    return max(ZERO, min(cap, raw))


def evaluate(
    plan: ScorecardPlan,
    kpis: Mapping[str, Any],
    months: int,
    targets: Mapping[str, Decimal | None],
    members: int | None = None,
) -> ScoreResult:
    """Score one scorecard's exact KPI values against the plan.

    ``months``: how many months the period covers (month 1, quarter 3, year 12,
    R30D 1, R90D 3); ``targets``: resolved targets by field, e.g. ``new_customers``;
    ``members``: the headcount at the period's end a per-member goal is multiplied by.
    """
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    results = []
    weighted = weights = ZERO
    add, multiply = CONTEXT.add, CONTEXT.multiply
    for c in plan.components:
        value = kpis.get(c.kpi)
        if value is not None and type(value) is not Decimal:  # run on every render: checks only the rest
            value = _number(value, c.kpi)
        goal = c.goal.resolve(months, targets, members)
        ach = achievement(value, goal, c.direction, c.cap) if value is not None and goal is not None else None
        if ach is not None:
            weighted = add(weighted, multiply(c.weight, ach))
            weights = add(weights, c.weight)
        results.append(ComponentResult(c.kpi, c.dimension, c.weight, goal, c.direction, value, ach,
                                       c.goal.per_member))
    score = CONTEXT.divide(CONTEXT.multiply(Decimal(100), weighted), weights) if weights else None
    return ScoreResult(score, tuple(results))


def check_kpis(plan: ScorecardPlan, names: Iterable[str]) -> None:
    """Raise ``ScorePlanError`` if a component names a KPI outside ``names``.

    A misspelt KPI would otherwise be null forever and silently left out of the score;
    the engine can call this once at start with the KPI names it computes.
    """
    known = set(names)
    for i, c in enumerate(plan.components):
        if c.kpi not in known:
            raise ScorePlanError(f"components[{i}].kpi: unknown KPI {c.kpi!r}")


def _number(value: Any, kpi: str) -> Decimal | int | None:
    # bool is an int subclass and float is inexact: neither is a KPI value.
    if value is None or (isinstance(value, (Decimal, int)) and not isinstance(value, bool)):
        return value
    raise ScorePlanError(f"KPI {kpi!r} is not a number ({type(value).__name__}) and cannot be scored")


# -- plan files ---------------------------------------------------------------------

def _decimal(value: Any, where: str, *, positive: bool = False) -> Decimal:
    number = finite_decimal(value, where, ScorePlanError)
    if number < 0 or (positive and number == 0):
        raise ScorePlanError(f"{where}: must be a finite decimal {'> 0' if positive else '>= 0'}, got {value!r}")
    return number


def _mapping(data: Any, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    return checked_mapping(data, where, allowed, ScorePlanError, "scorecard plan")


def _goal(data: Any, where: str) -> Goal:
    if not isinstance(data, dict):
        return Goal(fixed=_decimal(data, where, positive=True))
    data = _mapping(data, where, _GOAL_KEYS)
    value, per_month, target = data.get("value"), data.get("per_month"), data.get("target")
    if value is None and per_month is None and target is None:
        raise ScorePlanError(f"{where}: needs value, per_month and/or target")
    if value is not None and per_month is not None:
        raise ScorePlanError(f"{where}: value and per_month exclude each other")
    if target is not None and target not in TARGET_FIELDS:
        raise ScorePlanError(f"{where}.target: expected one of {TARGET_FIELDS}, got {target!r}")
    per_member = data.get("per_member", False)
    if not isinstance(per_member, bool):
        raise ScorePlanError(f"{where}.per_member: expected true or false, got {per_member!r}")
    return Goal(
        fixed=None if value is None else _decimal(value, f"{where}.value", positive=True),
        per_month=None if per_month is None else _decimal(per_month, f"{where}.per_month", positive=True),
        target=target,
        per_member=per_member,
    )


def _component(data: Any, where: str) -> Component:
    data = _mapping(data, where, _COMPONENT_KEYS)
    for key in ("kpi", "dimension", "weight", "goal"):
        if key not in data:
            raise ScorePlanError(f"{where}.{key}: missing")
    kpi = data["kpi"]
    if not isinstance(kpi, str) or not kpi:
        raise ScorePlanError(f"{where}.kpi: expected a KPI name")
    dimension = data["dimension"]
    if dimension not in DIMENSIONS:
        raise ScorePlanError(f"{where}.dimension: expected one of {DIMENSIONS}, got {dimension!r}")
    direction = data.get("direction", "higher")
    if direction not in DIRECTIONS:
        raise ScorePlanError(f"{where}.direction: expected one of {DIRECTIONS}, got {direction!r}")
    return Component(
        kpi=kpi,
        dimension=dimension,
        weight=_decimal(data["weight"], f"{where}.weight"),
        goal=_goal(data["goal"], f"{where}.goal"),
        direction=direction,
        cap=_decimal(data.get("cap", DEFAULT_CAP), f"{where}.cap", positive=True),
    )


def _plan(data: Mapping[str, Any], where: str, plan_id: Any) -> ScorecardPlan:
    items = data.get("components")
    if not isinstance(items, list) or not items:
        raise ScorePlanError(f"{where}components: expected a non-empty list")
    components = tuple(_component(c, f"{where}components[{i}]") for i, c in enumerate(items))
    if not any(c.weight > 0 for c in components):
        raise ScorePlanError(f"{where}components: at least one weight must be > 0")
    if not isinstance(plan_id, str) or not plan_id:
        raise ScorePlanError(f"{where}plan_id: expected a non-empty string")
    return ScorecardPlan(plan_id, components)


def parse_plan(data: Any) -> ScorecardPlan:
    """Build a one-scope plan from parsed YAML (no ``scopes``); ``ScorePlanError`` names
    the offending key."""
    data = _mapping(data, "", _SCOPE_PLAN_KEYS)
    return _plan(data, "", data.get("plan_id", "custom"))


def parse_plans(data: Any) -> ScopedPlans:
    """Build the plan of every scope from parsed YAML (see the module docstring)."""
    data = _mapping(data, "", _PLAN_KEYS)
    plan_id = data.get("plan_id", "custom")
    scopes = data.get("scopes")
    if scopes is None:
        return ScopedPlans.uniform(_plan(data, "", plan_id))
    scopes = _mapping(scopes, "scopes", frozenset(SCOPES))
    shared = _plan(data, "", plan_id) if "components" in data else None
    plans: dict[str, ScorecardPlan] = {}
    for scope in SCOPES:
        given = scopes.get(scope)
        if given is None:
            if shared is None:
                raise ScorePlanError(f"scopes.{scope}: missing, and no top-level components to fall back on")
            plans[scope] = shared
            continue
        given = _mapping(given, f"scopes.{scope}", _SCOPE_PLAN_KEYS)
        plans[scope] = _plan(given, f"scopes.{scope}.", given.get("plan_id", plan_id))
    return ScopedPlans(plans["rep"], plans["team"], plans["company"])


def load_scorecard_plan(path: str | None) -> ScopedPlans:
    """Load a plan file (None: the packaged default: contract §6 for reps, §12 for teams
    and the company)."""
    return parse_plans(load_yaml(path, "default_scorecard.yaml", ScorePlanError, "scorecard plan"))
