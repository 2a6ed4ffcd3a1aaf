"""Leaderboards and explanations computed from the engine (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .engine import ScorecardEngine
from .labels import period_kind
from .leaderboard import rank
from .money import format_money
from .periods import TRAILING_DAYS
from .roster import UNASSIGNED

METRICS = ("score", "revenue", "attainment", "weighted_attainment")


class BoardError(ValueError):
    """A malformed board, period or metric (the caller answers 400)."""


def _value(content: dict[str, Any], metric: str) -> Decimal | None:
    raw = content["score"] if metric == "score" else content["kpis"][metric]
    return None if raw is None else Decimal(str(raw))


def board_reps(engine: ScorecardEngine, board: str, period: str) -> list[str]:
    """Reps on a board for a period: every rep with a scorecard, or a team's members at the period's end."""
    reps = sorted(id for (scope, id), labels in engine.known.items()
                  if scope == "rep" and (period in labels or (period in TRAILING_DAYS and labels)))
    if board == "company":
        return reps
    if not board.startswith("team:") or len(board) == 5:
        raise BoardError(f"board must be 'company' or 'team:<id>', got {board!r}")
    team = board[5:]
    p = engine.period(period)
    if p is None:
        return []
    out = []
    for rep in reps:
        entry = engine.roster.entry_before(rep, p.end)
        if (entry.team_id if entry else UNASSIGNED) == team:
            out.append(rep)
    return out


def leaderboard(engine: ScorecardEngine, board: str, period: str, metric: str,
                limit: int | None = None) -> dict[str, Any]:
    """Ranked rows of a board for a period and metric (ties share a rank, contract §6)."""
    if metric not in METRICS:
        raise BoardError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    check_period(engine, period)
    contents = {}
    for rep in board_reps(engine, board, period):
        content = engine.render("rep", rep, period)
        if content is not None:
            contents[rep] = content
    ranked = rank((rep, _value(c, metric)) for rep, c in contents.items())
    window = engine.period(period)  # None only for a trailing window before any event
    rows = []
    for row in ranked[: limit if limit else None]:
        c = contents[row.rep_id]
        entry = engine.roster.entry_before(row.rep_id, window.end) if window is not None else None
        rows.append({
            "rank": row.rank,
            "rep_id": row.rep_id,
            "name": entry.name if entry and entry.name else row.rep_id,
            "team_id": c["team_id"],
            "value": shown_value(row.value, metric),
            "revenue": c["kpis"]["revenue"],
            "attainment": c["kpis"]["attainment"],
            "score": c["score"],
        })
    as_of = engine.clock()
    return {"board": board, "period": period, "metric": metric, "rows": rows,
            "as_of": None if as_of is None else as_of.isoformat()}


def default_month(clock_month: str | None, labels: Iterable[str]) -> str | None:
    """The month a board shows when none is asked for: the clock's month, unless it has no
    scorecard yet (just after midnight on the 1st, or after a period close stamped on a
    later day than the last sale) and an earlier month has one; then the latest such month."""
    with_data = [label for label in labels
                 if period_kind(label) == "month" and (clock_month is None or label <= clock_month)]
    if clock_month is None or clock_month in with_data or not with_data:
        return clock_month
    return max(with_data)


def current_month(engine: ScorecardEngine) -> str | None:
    """``default_month`` over the engine's rep scorecards (None before the first event)."""
    as_of = engine.clock()
    clock_month = engine.calendar.containing(as_of)[0].label if as_of is not None else None
    labels = {label for (scope, _), known in engine.known.items() if scope == "rep" for label in known}
    return default_month(clock_month, labels)


def shown_value(value: Decimal | int, metric: str) -> str | float | None:
    """A ranked value as a board shows it: revenue as a money string, the rest as numbers."""
    return format_money(Decimal(value)) if metric == "revenue" else float(value)


def check_period(engine: ScorecardEngine, period: str) -> None:
    """Raise BoardError unless ``period`` is a month, quarter, year or trailing window."""
    if period in TRAILING_DAYS:
        return
    try:
        p = engine.calendar.parse(period)
    except ValueError as exc:
        raise BoardError(str(exc)) from None
    if p.kind == "day":
        raise BoardError(f"period must be YYYY, YYYY-Qn, YYYY-MM, R30D or R90D, got {period!r}")


def explain(engine: ScorecardEngine, scope: str, id: str, period: str) -> dict[str, Any] | None:
    """The facts behind a scorecard: credited deals and the counts behind each KPI."""
    check_period(engine, period)
    computed = engine.inputs(scope, id, period)
    content = engine.render(scope, id, period)
    if computed is None or content is None:
        return None
    p, inp, nc_target = computed
    b = inp.bucket
    deals = []
    if scope == "rep":
        for deal in engine.deals.values():
            if deal.rep_id == id and deal.stage == "won" and deal.closed_at is not None and p.contains(deal.closed_at):
                deals.append({"deal_id": deal.deal_id, "amount": format_money(deal.amount),
                              "closed_at": deal.closed_at.isoformat(), "version": deal.version,
                              "customer_id": deal.customer_id, "customer_tier": deal.customer_tier})
        deals.sort(key=lambda d: (d["closed_at"], d["deal_id"]))
    return {
        **content,
        "facts": {
            "credited_deals": deals,
            "won_deals": b.won,
            "lost_deals": b.lost,
            "revenue": format_money(b.revenue),
            "target": format_money(inp.target),
            "elapsed": None if inp.elapsed is None else float(inp.elapsed),
            "previous_period_revenue": format_money(inp.prev_revenue),
            "year_earlier_revenue": format_money(inp.yoy_revenue),
            "cycle_days_total": float(Decimal(b.cycle_micros) / Decimal(86_400_000_000)),
            "new_customers": b.new_customers,
            "won_customers": len(b.won_customers),
            "repeat_customers": inp.repeat_customers,
            "customers_served": sorted(b.won_customers.keys() | b.contacts.keys()),
            "effective_contacts": b.effective_contacts,
            "coverage_book": None if inp.coverage is None else inp.coverage[0],
            "coverage_covered": None if inp.coverage is None else inp.coverage[1],
            "complaints": b.complaints,
            "complaints_resolved": b.resolved,
            "resolution_hours_total": float(Decimal(b.resolution_micros) / Decimal(3_600_000_000)),
            "survey_sum": b.survey_sum,
            "survey_responses": b.survey_count,
            "training_minutes": b.training_minutes,
            "campaign_ids": sorted(b.campaigns),
            "territory_factor": None if inp.territory_factor is None else float(inp.territory_factor),
            "headcount_start": inp.headcount_start,
            "headcount_end": inp.headcount_end,
            "departures": inp.departures,
            "new_customers_goal_target": None if nc_target is None else float(nc_target),
        },
    }


class BoardCache:
    """The ranking inputs of every rep scorecard, refreshed as scorecards are rendered.

    Leaderboard snapshots are built from it, so publishing a board does not render
    every rep again.
    """

    def __init__(self) -> None:
        #: period -> rep_id -> (team_id, values by metric, shown fields)
        self.entries: dict[str, dict[str, tuple[str | None, dict[str, Decimal | None], dict[str, Any]]]] = {}
        #: period -> team_id -> the reps of ``entries`` in that team (team boards read only theirs)
        self.by_team: dict[str, dict[str | None, set[str]]] = {}

    def update(self, content: dict[str, Any]) -> set[tuple[str, str]]:
        """Record a rendered rep scorecard; returns the (board, period) pairs it may move."""
        if content["scope"] != "rep":
            return set()
        period_entries = self.entries.setdefault(content["period"], {})
        values = {m: _value(content, m) for m in METRICS}
        shown = {"revenue": content["kpis"]["revenue"], "attainment": content["kpis"]["attainment"],
                 "score": content["score"]}
        old = period_entries.get(content["id"])
        team = content["team_id"]
        period_entries[content["id"]] = (team, values, shown)
        teams = self.by_team.setdefault(content["period"], {})
        if old is not None and old[0] != team:
            teams.get(old[0], set()).discard(content["id"])
        teams.setdefault(team, set()).add(content["id"])
        touched = {("company", content["period"]), (f"team:{team}", content["period"])}
        if old is not None and old[0] != team:
            touched.add((f"team:{old[0]}", content["period"]))
        return touched

    def remove(self, rep_id: str, period: str) -> set[tuple[str, str]]:
        """Forget a rep scorecard that stopped existing; returns the boards it leaves."""
        old = self.entries.get(period, {}).pop(rep_id, None)
        if old is not None:
            self.by_team.get(period, {}).get(old[0], set()).discard(rep_id)
        return set() if old is None else {("company", period), (f"team:{old[0]}", period)}

    def _members(self, board: str,
                 period: str) -> dict[str, tuple[str | None, dict[str, Decimal | None], dict[str, Any]]]:
        """The cached entries a board of a period ranks (every rep, or one team's)."""
        entries = self.entries.get(period, {})
        if board == "company":
            return entries
        return {rep: entries[rep] for rep in self.by_team.get(period, {}).get(board[5:], ())}

    def ranked(self, board: str, period: str) -> int:
        """How many reps a board of a period ranks."""
        return len(self._members(board, period))

    def board(self, board: str, period: str, metric: str, names: dict[str, str] | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Ranked rows of a board from the cached values."""
        members = self._members(board, period)
        ranked = rank((rep, e[1][metric]) for rep, e in members.items())
        rows = []
        for row in ranked[: limit if limit else None]:
            team_id, _, shown = members[row.rep_id]
            rows.append({"rank": row.rank, "rep_id": row.rep_id, "name": (names or {}).get(row.rep_id, row.rep_id),
                         "team_id": team_id,
                         "value": shown_value(row.value, metric),
                         **shown})
        return rows
