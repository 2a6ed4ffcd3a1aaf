"""Award rules (contract §11): who wins what when a period closes, from its final figures.

``decide`` takes a closed period's rendered figures (``ClosedPeriod``: one ``RepFigures``
per rep scorecard, one ``TeamFigures`` per team scorecard, and for quarterly rules the
previous quarter's rep figures) and returns the ``award`` events and the bonus
adjustments they order. Ids are deterministic (``award:{award}:{period}:{winner_id}``,
``adj:award:{award}:{period}:{winner_id}``), so deciding twice gives the same output and
a consumer keeps each once. Values compare as rendered (a score to 4 decimals), so a
tie on the published figures is a tie here: every tied winner gets the award.

The rules are one registry, ``RULES``: a rule's name -> what it ranks and how.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import labels as L
from .leaderboard import percentile, rank
from .money import format_money, ratio
from .plan_files import checked_mapping, finite_decimal, load_yaml

AWARD_REASON = "award"
PERIOD_KINDS = ("month", "quarter", "year")
_FILE_KEYS = frozenset({"awards"})
_AWARD_KEYS = frozenset({"award", "rule", "period", "min_attainment", "bonus"})


class AwardPlanError(ValueError):
    """An award plan (file) that cannot be used; the message names the offending key."""


@dataclass(frozen=True)
class RepFigures:
    """A rep's final scorecard of the period, as rendered (None: no value)."""

    rep_id: str
    name: str
    team_id: str | None
    manager_id: str | None
    score: Decimal | None
    attainment: Decimal | None


@dataclass(frozen=True)
class TeamFigures:
    """A team's final scorecard of the period; ``manager_id`` from the roster at the period's end."""

    team_id: str
    manager_id: str | None
    score: Decimal | None
    attainment: Decimal | None


@dataclass(frozen=True)
class ClosedPeriod:
    """What the rules read of one closed period (``period``: YYYY-MM, YYYY-Qn or YYYY)."""

    period: str
    reps: tuple[RepFigures, ...] = ()
    teams: tuple[TeamFigures, ...] = ()
    #: the previous period's rep figures (``score_gain`` compares with them)
    previous_reps: tuple[RepFigures, ...] = ()


@dataclass(frozen=True)
class Winner:
    """One winner of a rule: a rep or a team, the value that won and its rank."""

    scope: str  # rep | team
    winner_id: str
    name: str
    team_id: str | None
    manager_id: str | None
    value: Decimal
    rank: int


@dataclass(frozen=True)
class Rule:
    """How a rule picks winners, and whether its winners are reps (only rep awards pay a bonus)."""

    scope: str
    pick: Callable[[ClosedPeriod, Decimal | None], list[Winner]]
    #: whether the rule reads ``min_attainment`` (required then, refused otherwise)
    uses_min_attainment: bool = False


@dataclass(frozen=True)
class Award:
    """One award of the plan."""

    award: str
    rule: str
    period: str  # month | quarter | year
    min_attainment: Decimal | None = None
    bonus: Decimal | None = None


@dataclass(frozen=True)
class BonusRequest:
    """The payroll adjustment an award's bonus orders for one winning rep: ``delta_commission``
    on the rep's statement of ``original_period`` (the last month of the awarded period), no
    revenue change. The payroll ledger picks the statement and ``apply_in_period`` (the first
    open month) when it posts, as for an appeal's decision."""

    adjustment_id: str
    award: str
    period: str
    rep_id: str
    original_period: str
    delta_commission: Decimal
    reason: str = AWARD_REASON


@dataclass(frozen=True)
class Decision:
    """What a closed period decides: ``award`` events (sorted by id) and bonus requests."""

    events: tuple[dict[str, Any], ...]
    bonuses: tuple[BonusRequest, ...]


def award_id(award: str, period: str, winner_id: str) -> str:
    """Key and ``event_id`` of an award event."""
    return f"award:{award}:{period}:{winner_id}"


def bonus_id(award: str, period: str, winner_id: str) -> str:
    """Id of an award's bonus adjustment."""
    return f"adj:award:{award}:{period}:{winner_id}"


def bonus_request(event: dict[str, Any]) -> BonusRequest | None:
    """The bonus an ``award`` event orders (None: a team's, or an award without one), as
    ``decide`` orders it: read back from a recorded event after a rebuild."""
    if event.get("scope") != "rep" or event.get("bonus") is None:
        return None
    return BonusRequest(bonus_id(event["award"], event["period"], event["winner_id"]), event["award"],
                        event["period"], event["winner_id"], L.months_of(event["period"])[-1],
                        Decimal(event["bonus"]))


# -- rules ------------------------------------------------------------------------------

def _best(candidates: list[tuple[Any, Decimal]], make: Callable[[Any, Decimal], Winner]) -> list[Winner]:
    """Every candidate with the largest value (ties: all of them), in id order via ``make``."""
    if not candidates:
        return []
    top = max(value for _, value in candidates)
    return sorted((make(c, value) for c, value in candidates if value == top), key=lambda w: w.winner_id)


def _rep_winner(rep: RepFigures, value: Decimal, rank_: int = 1) -> Winner:
    return Winner("rep", rep.rep_id, rep.name, rep.team_id, rep.manager_id, value, rank_)


def _top_rep_score(closed: ClosedPeriod, min_attainment: Decimal | None) -> list[Winner]:
    """The highest rep score among reps with attainment >= ``min_attainment``."""
    assert min_attainment is not None  # required by the plan's checks
    eligible = [(r, r.score) for r in closed.reps
                if r.score is not None and r.attainment is not None and r.attainment >= min_attainment]
    return _best(eligible, _rep_winner)


def _top_team_score(closed: ClosedPeriod, min_attainment: Decimal | None) -> list[Winner]:
    """The highest team score among teams with attainment >= ``min_attainment``."""
    assert min_attainment is not None
    eligible = [(t, t.score) for t in closed.teams
                if t.score is not None and t.attainment is not None and t.attainment >= min_attainment]
    return _best(eligible, lambda t, v: Winner("team", t.team_id, t.team_id, t.team_id, t.manager_id, v, 1))


def _score_gain(closed: ClosedPeriod, _: Decimal | None) -> list[Winner]:
    """The largest rep score gain over the previous period, if above 0."""
    before = {r.rep_id: r.score for r in closed.previous_reps if r.score is not None}
    gains = [(r, r.score - before[r.rep_id]) for r in closed.reps
             if r.score is not None and r.rep_id in before]
    return _best([(r, g) for r, g in gains if g > 0], _rep_winner)


def _top_decile(closed: ClosedPeriod, _: Decimal | None) -> list[Winner]:
    """Every rep with ``top_decile`` on the company board by score (shared ranks, §6)."""
    by_id = {r.rep_id: r for r in closed.reps}
    ranked = rank((r.rep_id, r.score) for r in closed.reps)
    return [_rep_winner(by_id[row.rep_id], Decimal(row.value), row.rank) for row in ranked
            if percentile(row.rank, len(ranked))["top_decile"]]


#: Every award rule by name.
RULES: dict[str, Rule] = {
    "top_rep_score": Rule("rep", _top_rep_score, uses_min_attainment=True),
    "top_team_score": Rule("team", _top_team_score, uses_min_attainment=True),
    "score_gain": Rule("rep", _score_gain),
    "top_decile": Rule("rep", _top_decile),
}


# -- deciding ---------------------------------------------------------------------------

def decide(plan: tuple[Award, ...], closed: ClosedPeriod, decided_at: str) -> Decision:
    """The awards of the plan due for ``closed.period`` (those of its kind) and their bonuses.

    ``decided_at`` is the event's ``emitted_at`` (the close's time, so a replay repeats it)."""
    kind = L.period_kind(closed.period)
    events: list[dict[str, Any]] = []
    bonuses: list[BonusRequest] = []
    for award in plan:
        if award.period != kind:
            continue
        for w in RULES[award.rule].pick(closed, award.min_attainment):
            events.append(_event(award, closed.period, w, decided_at))
            if award.bonus is not None and w.scope == "rep":
                bonuses.append(BonusRequest(bonus_id(award.award, closed.period, w.winner_id), award.award,
                                            closed.period, w.winner_id, L.months_of(closed.period)[-1],
                                            award.bonus))
    return Decision(tuple(sorted(events, key=lambda e: e["event_id"])),
                    tuple(sorted(bonuses, key=lambda b: b.adjustment_id)))


def _event(award: Award, period: str, w: Winner, decided_at: str) -> dict[str, Any]:
    """An ``award`` event (contract §11)."""
    event_id = award_id(award.award, period, w.winner_id)
    return {
        "event_id": event_id,
        "type": "award",
        "schema_version": 1,
        "emitted_at": decided_at,
        "award": award.award,
        "period": period,
        "scope": w.scope,
        "winner_id": w.winner_id,
        "name": w.name,
        "team_id": w.team_id,
        "manager_id": w.manager_id,
        "value": ratio(w.value),
        "rank": w.rank,
        "bonus": format_money(award.bonus) if w.scope == "rep" else None,
    }


# -- plan file --------------------------------------------------------------------------

def _award(data: Any, where: str) -> Award:
    data = checked_mapping(data, where, _AWARD_KEYS, AwardPlanError, "award plan")
    for key in ("award", "rule", "period"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise AwardPlanError(f"{where}.{key}: expected a non-empty string")
    rule = RULES.get(data["rule"])
    if rule is None:
        raise AwardPlanError(f"{where}.rule: expected one of {', '.join(RULES)}, got {data['rule']!r}")
    if data["period"] not in PERIOD_KINDS:
        raise AwardPlanError(f"{where}.period: expected one of {', '.join(PERIOD_KINDS)}, got {data['period']!r}")
    min_attainment = None
    if rule.uses_min_attainment:
        if data.get("min_attainment") is None:
            raise AwardPlanError(f"{where}.min_attainment: missing (rule {data['rule']} reads it)")
        min_attainment = _decimal(data["min_attainment"], f"{where}.min_attainment")
    elif data.get("min_attainment") is not None:
        raise AwardPlanError(f"{where}.min_attainment: rule {data['rule']} does not read it")
    bonus = None
    if data.get("bonus") is not None:
        if rule.scope != "rep":
            raise AwardPlanError(f"{where}.bonus: only rep awards pay a bonus")
        bonus = _decimal(data["bonus"], f"{where}.bonus")
        if bonus <= 0 or bonus != bonus.quantize(Decimal("0.01")):
            raise AwardPlanError(f"{where}.bonus: expected money above 0 with at most 2 decimals")
    return Award(data["award"], data["rule"], data["period"], min_attainment, bonus)


def _decimal(value: Any, where: str) -> Decimal:
    return finite_decimal(value, where, AwardPlanError)


def load_awards(path: str | None) -> tuple[Award, ...]:
    """Load an award plan (None: the packaged ``plans/awards.yaml``); ``AwardPlanError`` names the problem."""
    data = checked_mapping(load_yaml(path, "awards.yaml", AwardPlanError, "award plan"), "", _FILE_KEYS,
                           AwardPlanError, "award plan")
    items = data.get("awards")
    if not isinstance(items, list):
        raise AwardPlanError("awards: expected a list")
    awards = tuple(_award(a, f"awards[{i}]") for i, a in enumerate(items))
    seen: set[str] = set()
    for i, a in enumerate(awards):
        if a.award in seen:
            raise AwardPlanError(f"awards[{i}].award: {a.award!r} is given twice")
        seen.add(a.award)
    return awards
