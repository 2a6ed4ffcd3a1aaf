"""Leaderboards from the board cache, and explanations computed from the engine (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .engine import ScorecardEngine
from .kpis import KpiInputs, compute_kpis
from .labels import months_of, period_kind
from .leaderboard import OrderKey, RankIndex, Standing, order_key, percentile
from .money import format_money, ratio
from .payroll import band_rows
from .periods import TRAILING_DAYS, Period
from .reviews import MIN_RESPONDENTS
from .roster import Roster
from .scoreplan import DIMENSIONS
from .targets import target_source

METRICS = ("score", "revenue", "attainment", "weighted_attainment")


class BoardError(ValueError):
    """A malformed board, period or metric (the caller answers 400)."""


def check_board(board: str) -> None:
    """Raise BoardError unless ``board`` is ``company`` or ``team:<id>``."""
    if board != "company" and not (board.startswith("team:") and len(board) > 5):
        raise BoardError(f"board must be 'company' or 'team:<id>', got {board!r}")


class RosterNames(Mapping[str, str]):
    """The names a board of a period shows: each rep's roster entry in force at the period's
    end (a rep without a name there is absent, so the row shows the id). Looked up for the
    rows shown only, not for every rep on the roster."""

    def __init__(self, roster: Roster, end: datetime | None) -> None:
        self._roster, self._end = roster, end

    def __getitem__(self, rep_id: str) -> str:
        entry = self._roster.entry_before(rep_id, self._end) if self._end is not None else None
        if entry is None or not entry.name:
            raise KeyError(rep_id)
        return entry.name

    def __iter__(self) -> Iterator[str]:
        return (rep_id for rep_id in self._roster.reps if rep_id in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def published_month(cache: BoardCache, engine: ScorecardEngine) -> str | None:
    """The month a board shows when none is asked for: ``default_month`` of the engine's
    clock over the months the cache ranks (what was last published; None before the first
    event)."""
    return default_month(clock_month(engine), cache.periods())


def leaderboard(cache: BoardCache, engine: ScorecardEngine, board: str, period: str | None, metric: str,
                limit: int | None = None) -> dict[str, Any]:
    """What ``/api/leaderboard`` answers: the ranked rows of a board for a period and metric
    from the board cache (ties share a rank, contract §6), as last published: a scorecard
    the engine has but no flush rendered yet is not on it. Names from the roster at the
    period's end, a team board's ``team`` summary, ``as_of`` the engine's clock. ``period``
    None: ``published_month``. No rep scorecard is rendered."""
    if metric not in METRICS:
        raise BoardError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    check_board(board)
    if period is None:
        period = published_month(cache, engine)
        if period is None:
            raise BoardError("period is required (no events seen yet)")
    check_period(engine, period)
    window = engine.period(period)  # None only for a trailing window before any event
    names = RosterNames(engine.roster, window.end if window is not None else None)
    rows = cache.board(board, period, metric, names, limit)
    as_of = engine.clock()
    out: dict[str, Any] = {"board": board, "period": period, "metric": metric, "rows": rows,
                           "as_of": None if as_of is None else as_of.isoformat()}
    if board.startswith("team:"):
        out["team"] = team_summary(engine, board[5:], period)
    return out


def team_summary(engine: ScorecardEngine, team_id: str, period: str) -> dict[str, Any] | None:
    """What a team board shows above its rows (contract §12): the team's manager (the
    manager most of its members active at the period's end name, ties to the smaller id;
    the name their own roster entry gives, else the id), the team's score and the score of
    each dimension (100 × Σ wᵢ·aᵢ / Σ wᵢ over its components with an achievement, None
    without one). None when the team has no scorecard for the period (or the engine does
    not render teams)."""
    if "team" not in engine.role.scopes:
        return None
    content = engine.render("team", team_id, period)
    window = engine.period(period)
    if content is None or window is None:
        return None
    managers: dict[str, int] = {}
    for rep in engine.member_ids("team", team_id, window.end):
        entry = engine.roster.entry_before(rep, window.end)
        if entry is not None and entry.manager_id:
            managers[entry.manager_id] = managers.get(entry.manager_id, 0) + 1
    manager_id = min(managers, key=lambda m: (-managers[m], m)) if managers else None
    own = engine.roster.entry_before(manager_id, window.end) if manager_id else None
    computed = engine.inputs("team", team_id, period)
    assert computed is not None  # the scorecard rendered
    _, inp, nc_target = computed
    result = engine.score("team", compute_kpis(inp), window, inp, nc_target)
    dimensions: dict[str, float | None] = {}
    for dimension in DIMENSIONS:
        scored = [(c.weight, c.achievement) for c in result.components
                  if c.dimension == dimension and c.achievement is not None]
        weights = sum((w for w, _ in scored), Decimal(0))
        dimensions[dimension] = ratio(100 * sum((w * a for w, a in scored), Decimal(0)) / weights) if weights else None
    return {"team_id": team_id, "manager_id": manager_id,
            "manager_name": own.name if own is not None and own.name else manager_id,
            "score": content["score"], "dimensions": dimensions}


def clock_month(engine: ScorecardEngine) -> str | None:
    """The month of the engine's clock (None before the first event)."""
    as_of = engine.clock()
    return engine.calendar.containing(as_of)[0].label if as_of is not None else None


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
    labels = {label for (scope, _), known in engine.known.items() if scope == "rep" for label in known}
    return default_month(clock_month(engine), labels)


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
    complaints: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    if scope == "rep":
        complaints, activities = _rep_complaints(engine, id, p), _rep_activities(engine, id, p)
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
            "counted_complaints": complaints,
            "counted_activities": activities,
            "won_deals": b.won,
            "lost_deals": b.lost,
            "revenue": format_money(b.revenue),
            "target": format_money(inp.target),
            "target_source": target_source(engine.targets, scope, id, period, inp.target),
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
            **_review_facts(engine, scope, id, p),
        },
        "plan": _plan_applied(engine, scope, inp),
        "commission_months": _commission_months(engine, id, period) if scope == "rep" else None,
    }


def _rep_complaints(engine: ScorecardEngine, rep_id: str, p: Period) -> list[dict[str, Any]]:
    """The rep's complaints the period counts: opened in it (``complaints``) or resolved in it
    (the resolution time), by opening time."""
    counted = []
    for c in engine.complaints.values():
        resolved = c.resolved_at if c.status == "resolved" else None
        if c.rep_id == rep_id and (p.contains(c.opened_at) or (resolved is not None and p.contains(resolved))):
            counted.append((c.opened_at, c.complaint_id, resolved, c))
    counted.sort(key=lambda x: (x[0], x[1]))
    return [{"complaint_id": c.complaint_id, "customer_id": c.customer_id, "severity": c.severity,
             "status": c.status, "opened_at": c.opened_at.isoformat(),
             "resolved_at": None if resolved is None else resolved.isoformat()} for _, _, resolved, c in counted]


def _rep_activities(engine: ScorecardEngine, rep_id: str, p: Period) -> list[dict[str, Any]]:
    """The rep's activities in the period, by time: the kind, the customer of an effective
    contact (else None) and the campaign id, training minutes or survey score (else None)."""
    counted = sorted((a for a in engine.activities.values() if a.rep_id == rep_id and p.contains(a.ts)),
                     key=lambda a: (a.ts, a.kind))
    return [{"occurred_at": a.ts.isoformat(), "kind": a.kind, "customer_id": a.contact, "detail": a.value}
            for a in counted]


def _plan_applied(engine: ScorecardEngine, scope: str, inp: KpiInputs) -> dict[str, Any]:
    """Which plan scored the scorecard (the plan of its scope, contract §12) and each
    component's goal as applied: a per-member goal is the plan's goal times the headcount."""
    plan = engine.plans.for_scope(scope)
    members = 1 if scope == "rep" else inp.headcount_end
    return {"plan_id": plan.plan_id, "scope": scope, "members": members,
            "per_member": [c.kpi for c in plan.components if c.goal.per_member]}


def _review_facts(engine: ScorecardEngine, scope: str, id: str, p: Period) -> dict[str, Any]:
    """What the review KPIs (contract §12) are made of: per-role counts and means for a rep;
    for a team or the company the members reviewed by a manager and the number of
    whether the engagement survey had enough respondents (never an answer, a respondent
    or their number)."""
    if p.label in TRAILING_DAYS:
        return {}
    months = months_of(p.label)
    if scope == "rep":
        scored = engine.reviews.review_score(id, months)
        return {"review_roles": {role: {"reviews": n, "reviewers": distinct, "mean": ratio(mean)}
                                 for role, (n, distinct, mean) in scored.roles.items()},
                "review_roles_counted": list(scored.counted)}
    members = engine.member_ids(scope, id, p.end)
    respondents, _ = engine.reviews.engagement([id] if scope == "team" else None, months)
    # Not the respondent count: with a team mean it would narrow down who answered what.
    return {"review_members": len(members),
            "review_members_reviewed": engine.reviews.manager_reviewed(members, months),
            "engagement_enough_respondents": respondents >= MIN_RESPONDENTS}


def _commission_months(engine: ScorecardEngine, rep_id: str, period: str) -> list[dict[str, Any]] | None:
    """How the plan pays each month of a rep's calendar period: bands with their gate
    results (contract §11); None for a trailing window (commission is monthly)."""
    if period in TRAILING_DAYS:
        return None
    out = []
    for month in months_of(period):
        _, plan, revenue, target, result = engine.commission_of(rep_id, month)
        out.append({"period": month, "plan_id": plan.plan_id, "revenue": format_money(revenue),
                    "target": format_money(target),
                    "target_source": target_source(engine.targets, "rep", rep_id, month, target),
                    "attainment": ratio(result.attainment),
                    "bands": band_rows(result), "commission": format_money(result.amount),
                    "flags": list(result.flags)})
    return out


#: A rep's order keys in ``METRICS`` order (None: no value for that metric, or no move).
OrderKeys = tuple[OrderKey | None, ...]


@dataclass(frozen=True, slots=True)
class CachedRep:
    """A rendered rep scorecard as its boards need it. Its order keys are not kept: the
    rankings hold them, and ``order_keys`` makes them again, equal, from the values."""

    team_id: str | None
    #: the values of every metric, as rendered (a row shows revenue, attainment and score)
    revenue: str | None
    attainment: Any
    weighted_attainment: Any
    score: Any

    def shown(self) -> dict[str, Any]:
        """The revenue, attainment and score of a board row."""
        return {"revenue": self.revenue, "attainment": self.attainment, "score": self.score}

    def value(self, metric: str) -> str | float | None:
        """The row's value for ``metric``, from the rendered value (its key only orders:
        -0 and 0 share a key, and a row still shows what was rendered)."""
        raw = getattr(self, metric)
        return shown_value(Decimal(str(raw)), metric)

    def order_keys(self, rep_id: str) -> OrderKeys:
        """The rep's order key per metric (``METRICS`` order; None: no value)."""
        return tuple(_key(rep_id, getattr(self, metric)) for metric in METRICS)


def _key(rep_id: str, raw: Any) -> OrderKey | None:
    return None if raw is None else order_key(rep_id, Decimal(str(raw)))


def _key_moves(rep_id: str, old: CachedRep, new: CachedRep) -> tuple[OrderKeys, OrderKeys]:
    """The keys to take out and to put in per metric when a rep's values go from ``old``
    to ``new``; None for both where the value did not change (equal values make equal keys)."""
    out: list[OrderKey | None] = []
    into: list[OrderKey | None] = []
    for metric in METRICS:
        before, after = getattr(old, metric), getattr(new, metric)
        if before == after:
            out.append(None)
            into.append(None)
        else:
            out.append(_key(rep_id, before))
            into.append(_key(rep_id, after))
    return tuple(out), tuple(into)


class _BoardIndex:
    """One board of one period: how many reps it ranks and, per metric, their order."""

    __slots__ = ("members", "by_metric")

    def __init__(self) -> None:
        #: how many reps are on the board, with or without values (``ranked`` counts them all)
        self.members = 0
        self.by_metric: tuple[RankIndex, ...] = tuple(RankIndex() for _ in METRICS)

    def put(self, old: OrderKeys | None, new: OrderKeys) -> None:
        """Add a rep (``old`` None) or move it from its ``old`` keys to its ``new`` ones
        (``_key_moves``: None where nothing moves)."""
        if old is None:
            self.members += 1
            old = (None,) * len(METRICS)
        for index, old_key, new_key in zip(self.by_metric, old, new, strict=True):
            if old_key != new_key:
                if old_key is not None:
                    index.remove(old_key)
                if new_key is not None:
                    index.add(new_key)

    def discard(self, keys: OrderKeys) -> None:
        """Take a rep, ranked under ``keys``, off the board."""
        self.members -= 1
        for index, key in zip(self.by_metric, keys, strict=True):
            if key is not None:
                index.remove(key)


class BoardCache:
    """The ranking inputs of every rep scorecard, refreshed as scorecards are rendered.

    Leaderboard snapshots are built from it, so publishing a board does not render
    every rep again. Each board of each period keeps its reps in rank order per metric
    (``RankIndex``), so an update costs O(log n) and the top N rows O(N + log n); the
    order is the one ``rank`` defines.
    """

    def __init__(self) -> None:
        #: period -> rep_id -> the rep's cached scorecard
        self.entries: dict[str, dict[str, CachedRep]] = {}
        #: period -> the company board
        self.company: dict[str, _BoardIndex] = {}
        #: period -> team_id -> that team's board (a rep is on the board of its cached team)
        self.teams: dict[str, dict[str | None, _BoardIndex]] = {}

    def update(self, content: dict[str, Any]) -> set[tuple[str, str]]:
        """Record a rendered rep scorecard; returns the (board, period) pairs it may move."""
        if content["scope"] != "rep":
            return set()
        period, rep_id, team = content["period"], content["id"], content["team_id"]
        period_entries = self.entries.setdefault(period, {})
        old = period_entries.get(rep_id)
        kpis = content["kpis"]
        new = period_entries[rep_id] = CachedRep(team, kpis["revenue"], kpis["attainment"],
                                                 kpis["weighted_attainment"], content["score"])
        if old is None:
            taken_out, put_in = None, new.order_keys(rep_id)
        else:
            taken_out, put_in = _key_moves(rep_id, old, new)
        company = self.company.get(period)
        if company is None:  # not setdefault: building an index for nothing costs more than the update
            company = self.company[period] = _BoardIndex()
        company.put(taken_out, put_in)
        touched = {("company", period), (f"team:{team}", period)}
        teams = self.teams.setdefault(period, {})
        if old is not None and old.team_id != team:  # moved: off the old team's board, onto the new one's
            teams[old.team_id].discard(old.order_keys(rep_id))
            touched.add((f"team:{old.team_id}", period))
            taken_out, put_in = None, new.order_keys(rep_id)
        team_board = teams.get(team)
        if team_board is None:
            team_board = teams[team] = _BoardIndex()
        team_board.put(taken_out, put_in)
        return touched

    def remove(self, rep_id: str, period: str) -> set[tuple[str, str]]:
        """Forget a rep scorecard that stopped existing; returns the boards it leaves."""
        old = self.entries.get(period, {}).pop(rep_id, None)
        if old is None:
            return set()
        keys = old.order_keys(rep_id)
        self.company[period].discard(keys)
        self.teams[period][old.team_id].discard(keys)
        return {("company", period), (f"team:{old.team_id}", period)}

    def _index(self, board: str, period: str) -> _BoardIndex | None:
        """The index of a board of a period (every rep, or one team's); None before its first rep."""
        if board == "company":
            return self.company.get(period)
        return self.teams.get(period, {}).get(board[5:])

    def ranked(self, board: str, period: str) -> int:
        """How many reps a board of a period ranks."""
        index = self._index(board, period)
        return 0 if index is None else index.members

    def team_of(self, rep_id: str, period: str) -> str | None:
        """The team whose board the rep is on for a period (its cached scorecard's team, the
        roster's ``unassigned`` for a rep without one); None when the rep has no cached
        scorecard there (none, or not rendered yet)."""
        cached = self.entries.get(period, {}).get(rep_id)
        return None if cached is None else cached.team_id

    def standing(self, board: str, period: str, metric: str, rep_id: str) -> Standing | None:
        """The rep's rank on a board of a period by a metric and how many reps it ranks, found
        in the board's order in O(log n) (no row is built); None when the rep is not ranked
        there (no cached scorecard, another team's board, or no value for the metric)."""
        index = self._index(board, period)
        cached = self.entries.get(period, {}).get(rep_id)
        if index is None or cached is None or (board != "company" and board[5:] != cached.team_id):
            return None
        key = _key(rep_id, getattr(cached, metric))
        if key is None:
            return None
        ranking = index.by_metric[METRICS.index(metric)]
        return Standing(ranking.rank_of(key), len(ranking))

    def periods(self) -> list[str]:
        """The periods whose company board ranks at least one rep."""
        return [period for period, index in self.company.items() if index.members]

    def board(self, board: str, period: str, metric: str, names: Mapping[str, str] | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Ranked rows of a board from the cached values (the first ``limit``, or all); a
        row's name from ``names``, else the rep id."""
        index = self._index(board, period)
        if index is None or not index.members:
            return []
        entries = self.entries[period]
        ranking = index.by_metric[METRICS.index(metric)]
        rows = []
        for rank_, rep_id in ranking.ranks(limit if limit else None):
            cached = entries[rep_id]
            name = names.get(rep_id, rep_id) if names is not None else rep_id
            rows.append({"rank": rank_, "rep_id": rep_id, "name": name,
                         "team_id": cached.team_id,
                         "value": cached.value(metric),
                         **cached.shown(), **percentile(rank_, len(ranking))})
        return rows
