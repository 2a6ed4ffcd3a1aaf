"""A closed period's figures for the award rules, read from the engine (contract §11).

``closed_period`` renders the period's rep and team scorecards (and, for a quarter, the
previous quarter's rep scorecards) and hands ``core.awards.decide`` what it ranks, as
published: scores and attainments at 4 decimals. With partitioned stages the halves are
read apart: ``rep_figures`` by each rep partition (its own reps), ``team_figures`` by the
org stage and, beside a team stage, by each team partition (its own teams; the org stage
then only ``unassigned``'s): ``core.award_reports`` joins them. ``periods_closed_by``
says which periods a month's close decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import labels as L
from .awards import ClosedPeriod, RepFigures, TeamFigures
from .engine import ScorecardEngine

_KIND_ORDER = {"month": 0, "quarter": 1, "year": 2}


def periods_closed_by(month: str) -> tuple[str, ...]:
    """The periods whose awards a month's close decides: the month, its quarter when it is
    the quarter's last month, its year when it is December."""
    out = [month]
    quarter = L.quarter_of_month(month)
    if L.months_of(quarter)[-1] == month:
        out.append(quarter)
    if month[5:7] == "12":
        out.append(month[:4])
    return tuple(out)


def period_order(period: str) -> tuple[str, int]:
    """Sort key of periods in the order their awards are decided: by last month, then month,
    quarter, year."""
    return L.months_of(period)[-1], _KIND_ORDER[L.period_kind(period)]


def periods_due(closed_months: Iterable[str], decided: Iterable[str]) -> list[str]:
    """The periods closed by ``closed_months`` whose awards are not decided yet, in order."""
    done = set(decided)
    return sorted({p for m in closed_months for p in periods_closed_by(m) if p not in done}, key=period_order)


def decided_at(engine: ScorecardEngine, label: str) -> datetime:
    """When a period's awards are decided: the close of its last month (a replay repeats it)."""
    return engine.closed_at[L.months_of(label)[-1]]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _rendered(engine: ScorecardEngine, scope: str, label: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, rendered scorecard) of every key of ``scope`` with period ``label`` the engine
    keeps and reports (``EngineRole.keeps``: a rep partition its own reps, a team partition
    its own teams, an org engine beside a team stage only ``unassigned``), by id."""
    keeps = engine.role.keeps
    for (key_scope, id), labels in sorted(engine.known.items()):
        if key_scope == scope and label in labels and keeps(scope, id):
            content = engine.render(scope, id, label)
            if content is not None:
                yield id, content


def rep_figures(engine: ScorecardEngine, label: str) -> tuple[RepFigures, ...]:
    """Every rep scorecard of the period the engine renders, as the rules read it."""
    out = []
    for rep_id, content in _rendered(engine, "rep", label):
        history = engine.roster.reps.get(rep_id)
        name = (history.entries[-1].name if history and history.entries else None) or rep_id
        out.append(RepFigures(rep_id, name, content["team_id"], content["manager_id"], _decimal(content["score"]),
                              _decimal(content["kpis"].get("attainment"))))
    return tuple(out)


def _team_manager(engine: ScorecardEngine, team_id: str, label: str) -> str | None:
    """The team's manager from the roster at the period's end (its first member's entry)."""
    period = engine.period(label)
    if period is None:
        return None
    members = engine.roster.members_at_end(period.end).get(team_id, [])
    entry = engine.roster.entry_before(members[0], period.end) if members else None
    return entry.manager_id if entry else None


def team_figures(engine: ScorecardEngine, label: str) -> tuple[TeamFigures, ...]:
    """Every team scorecard of the period the engine renders, as the rules read it."""
    out = []
    for team_id, content in _rendered(engine, "team", label):
        out.append(TeamFigures(team_id, _team_manager(engine, team_id, label), _decimal(content["score"]),
                               _decimal(content["kpis"].get("attainment"))))
    return tuple(out)


def previous_rep_figures(engine: ScorecardEngine, label: str) -> tuple[RepFigures, ...]:
    """The previous period's rep figures where the rules compare with them (a quarter's), else none."""
    return rep_figures(engine, L.shift(label, -1)) if L.period_kind(label) == "quarter" else ()


def closed_period(engine: ScorecardEngine, label: str) -> ClosedPeriod:
    """What the award rules read of one closed period, rendered now."""
    return ClosedPeriod(label, rep_figures(engine, label), team_figures(engine, label),
                        previous_rep_figures(engine, label))
