"""What-if: every rep-month of a range under the current and a candidate plan (contract §13).

The facts are applied once, to an engine built with the current plans (``rep_engine``;
core/whatif_loader.py loads them); the candidate plans read the same facts through
``ScorecardEngine.with_plans``. Each rep-month's commission and score come from the
engine's own ``scored_under`` (``scored`` under both plans: the KPIs, the §6 score and the
§7 commission the worker publishes), so a what-if can differ from the worker only by the
plans, never by the arithmetic. The engine is a rep engine: the reps' shares of split team
targets (§12), which the worker's org stage computes and sends its rep stage, are computed
by the engine itself once the facts are in (``ScorecardEngine.split_team_targets``, the
org stage's own code), from the team targets, the roster, the reps' own targets and their
revenue.

Commission here is what the formula pays a month (§7, §11's gates included). What an
appeal's decision paid on top (§10) is decided by people, not by a plan, and is not part
of it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from . import labels as L
from .commission import PlanSet
from .engine import ScorecardEngine, rep_partition
from .labels import parses_as_month
from .money import RATIO_QUANTUM
from .roster import UNASSIGNED
from .scoreplan import ScopedPlans

ZERO = Decimal(0)


class WhatIfError(ValueError):
    """A what-if that cannot be run as asked; the message says what to fix."""


@dataclass(frozen=True)
class Plans:
    """The plans a what-if compares: a scorecard plan (§6) and a commission plan set (§7)."""

    scorecard: ScopedPlans
    commission: PlanSet


@dataclass(frozen=True)
class RepMonth:
    """One rep's month under both plans: commissions rounded to cents, exact scores
    (None: no component of the plan could be scored)."""

    rep_id: str
    period: str
    #: the rep's team at the month's end (the team whose plan override applies)
    team_id: str
    commission_current: Decimal
    commission_candidate: Decimal
    score_current: Decimal | None
    score_candidate: Decimal | None

    @property
    def delta(self) -> Decimal:
        """Candidate minus current commission."""
        return self.commission_candidate - self.commission_current


@dataclass(frozen=True)
class Total:
    """Commission summed over some rep-months (the company, or one team)."""

    name: str
    rep_months: int
    current: Decimal
    candidate: Decimal

    @property
    def delta(self) -> Decimal:
        """Candidate minus current commission."""
        return self.candidate - self.current


@dataclass(frozen=True)
class WhatIf:
    """The rep-months of ``first``..``last`` (inclusive), ordered by rep, then month."""

    first: str
    last: str
    rows: tuple[RepMonth, ...]

    def total(self) -> Total:
        """All rep-months together."""
        return _total("all", self.rows)

    def by_team(self) -> list[Total]:
        """One total per team (the team at each month's end), by team id."""
        teams: dict[str, list[RepMonth]] = {}
        for row in self.rows:
            teams.setdefault(row.team_id, []).append(row)
        return [_total(team, rows) for team, rows in sorted(teams.items())]

    def largest_changes(self, n: int) -> list[RepMonth]:
        """The ``n`` rep-months whose commission changes most (by |Δ|; ties by rep, then
        month); rep-months that do not change are never listed."""
        changed = [row for row in self.rows if row.delta != 0]
        changed.sort(key=lambda row: (-abs(row.delta), row.rep_id, row.period))
        return changed[:n]


def _total(name: str, rows: list[RepMonth] | tuple[RepMonth, ...]) -> Total:
    return Total(name, len(rows), sum((r.commission_current for r in rows), ZERO),
                 sum((r.commission_candidate for r in rows), ZERO))


def month_range(first: str, last: str) -> list[str]:
    """The months ``first``..``last``, both included; ``WhatIfError`` names a bad bound."""
    for option, value in (("--from", first), ("--to", last)):
        if not parses_as_month(value):
            raise WhatIfError(f"{option} must be a month like 2026-07, got {value!r}")
    if first > last:
        raise WhatIfError(f"--from {first} is after --to {last}: swap them")
    months = [first]
    while months[-1] != last:
        months.append(L.shift(months[-1], 1))
    return months


def _every_rep(rep_id: str) -> bool:
    return True


def rep_engine(timezone: str, current: Plans) -> ScorecardEngine:
    """An empty engine for a what-if: the rep stage's role owning every rep (rep figures
    only: a what-if reads no team or company scorecard), under the current plans. It is
    only read: it marks no scorecard to render again and collects no pay change."""
    role = dataclasses.replace(rep_partition(_every_rep), pays=False, marks=False)
    return ScorecardEngine(timezone, current.scorecard, current.commission, role)


def score_rounded(score: Decimal | None) -> str:
    """A score as the scorecard rounds it (4 decimals, half-up), as text; "" for none."""
    return "" if score is None else str(score.quantize(RATIO_QUANTUM, rounding=ROUND_HALF_UP))


def recompute(engine: ScorecardEngine, candidate: Plans, first: str, last: str) -> WhatIf:
    """Every rep-month of ``first``..``last`` that has a scorecard (a fact or a target in
    the month, as the worker publishes them) under the engine's plans and ``candidate``.
    The reps' shares of split team targets are first worked out from the facts the engine
    holds, as the worker's org stage does (contract §12)."""
    months = set(month_range(first, last))
    engine.split_team_targets()
    other = engine.with_plans(candidate.scorecard, candidate.commission)
    rows = []
    for (scope, rep_id), labels in engine.known.items():
        if scope != "rep":
            continue
        for month in sorted(label for label in labels if label in months):
            scored = engine.scored_under((other,), "rep", rep_id, month)
            assert scored is not None  # a calendar key that exists always scores
            (period, current_kpis, current_result), (_, candidate_kpis, candidate_result) = scored
            entry = engine.roster.entry_before(rep_id, period.end)
            rows.append(RepMonth(rep_id, month, entry.team_id if entry else UNASSIGNED, current_kpis["commission"],
                                 candidate_kpis["commission"], current_result.score, candidate_result.score))
    rows.sort(key=lambda row: (row.rep_id, row.period))
    return WhatIf(first, last, tuple(rows))
