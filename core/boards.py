"""Leaderboards from the board cache, and explanations computed from the engine (pure)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from .engine import ScorecardEngine
from .kpis import KpiInputs, compute_kpis
from .labels import months_of, period_kind
from .leaderboard import GroupedRankIndex, OrderKey, RankIndex, Standing, key_value, order_key, percentile
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
        out["team"] = team_summary(engine, board[5:], period, cache)
    return out


def team_summary(engine: ScorecardEngine, team_id: str, period: str,
                 cache: BoardCache | None = None) -> dict[str, Any] | None:
    """What a team board shows above its rows (contract §12): the team's manager (the
    manager most of its members active at the period's end name, ties to the smaller id;
    the name their own roster entry gives, else the id), the team's score and the score of
    each dimension (``team_dimensions``). The score and dimensions come from the engine
    when it keeps the team's figures, else from the summary its team partition sent
    (``cache``). None when the team has no scorecard for the period (or neither has it)."""
    window = engine.period(period)
    if window is None:
        return None
    if engine.role.keeps("team", team_id):
        content = engine.render("team", team_id, period)
        if content is None:
            return None
        score, dimensions = content["score"], team_dimensions(engine, team_id, period)
    else:
        row = cache.summary(team_id, period) if cache is not None else None
        if row is None:
            return None
        score, dimensions = row["score"], row["dimensions"]
    managers: dict[str, int] = {}
    for rep in engine.member_ids("team", team_id, window.end):
        entry = engine.roster.entry_before(rep, window.end)
        if entry is not None and entry.manager_id:
            managers[entry.manager_id] = managers.get(entry.manager_id, 0) + 1
    manager_id = min(managers, key=lambda m: (-managers[m], m)) if managers else None
    own = engine.roster.entry_before(manager_id, window.end) if manager_id else None
    return {"team_id": team_id, "manager_id": manager_id,
            "manager_name": own.name if own is not None and own.name else manager_id,
            "score": score, "dimensions": dimensions}


def team_dimensions(engine: ScorecardEngine, team_id: str, period: str) -> dict[str, float | None]:
    """The score of each dimension of a team's scorecard (100 × Σ wᵢ·aᵢ / Σ wᵢ over its
    components with an achievement, None without one), from the exact achievements; the
    engine has the scorecard."""
    window = engine.period(period)
    computed = engine.inputs("team", team_id, period)
    assert window is not None and computed is not None  # the scorecard rendered
    _, inp, nc_target = computed
    result = engine.score("team", compute_kpis(inp), window, inp, nc_target)
    dimensions: dict[str, float | None] = {}
    for dimension in DIMENSIONS:
        scored = [(c.weight, c.achievement) for c in result.components
                  if c.dimension == dimension and c.achievement is not None]
        weights = sum((w for w, _ in scored), Decimal(0))
        dimensions[dimension] = ratio(100 * sum((w * a for w, a in scored), Decimal(0)) / weights) if weights else None
    return dimensions


def team_row(engine: ScorecardEngine, content: dict[str, Any], revision: int) -> dict[str, Any]:
    """What a team board's summary needs of a published team scorecard (``BoardCache.summarise``)."""
    return {"id": content["id"], "period": content["period"], "score": content["score"],
            "dimensions": team_dimensions(engine, content["id"], content["period"]), "revision": revision}


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
    counted = sorted((a for a in engine.rep_activities(rep_id) if p.contains(a.ts)),
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


class CachedRep:
    """A rendered rep scorecard as its boards need it: per metric the value in millionths
    its order key holds (``order_key``: negated, an int, or the exact Decimal beyond six
    decimals; None without a value), and from it the value as rendered (a row shows revenue,
    attainment and score). A value its units do not give back exactly (a -0, a revenue not
    in cents, a number rendered as an int or a string) is kept as rendered in
    ``as_rendered``, with the others.

    The board rankings hold the entry itself and read its key from it
    (``RankIndex(key=...)``): no key is stored. So an entry leaves a ranking before one of
    its values changes and comes back after (``BoardCache.update``)."""

    __slots__ = ("rep_id", "team_id", "score", "revenue", "attainment", "weighted_attainment", "as_rendered")

    def __init__(self, rep_id: str, team_id: str) -> None:
        self.rep_id = rep_id
        self.team_id = team_id
        self.score: int | Decimal | None = None
        self.revenue: int | Decimal | None = None
        self.attainment: int | Decimal | None = None
        self.weighted_attainment: int | Decimal | None = None
        #: the values in ``METRICS`` order when one of them is not what its units give back, else None
        self.as_rendered: tuple[Any, ...] | None = None

    def key(self, metric: str) -> OrderKey | None:
        """The rep's order key for ``metric`` (None: no value)."""
        units = getattr(self, metric)
        return None if units is None else (units, self.rep_id)

    def rendered(self, metric: str) -> Any:
        """The value of ``metric`` as it was rendered."""
        if self.as_rendered is not None:
            return self.as_rendered[METRICS.index(metric)]
        return _from_units(metric, getattr(self, metric))

    def render(self, metric: str, raw: Any) -> None:
        """Take ``raw`` as the value of ``metric`` (the entry is in no ranking of it)."""
        setattr(self, metric, None if raw is None else order_key(self.rep_id, Decimal(str(raw)))[0])

    def check(self, rendered: tuple[Any, ...]) -> None:
        """Keep ``rendered`` (the values, ``METRICS`` order) as rendered unless every unit
        gives its value back exactly."""
        exact = all(_same(_from_units(metric, getattr(self, metric)), raw)
                    for metric, raw in zip(METRICS, rendered, strict=True))
        self.as_rendered = None if exact else rendered

    def shown(self) -> dict[str, Any]:
        """The revenue, attainment and score of a board row."""
        return {"revenue": self.rendered("revenue"), "attainment": self.rendered("attainment"),
                "score": self.rendered("score")}

    def value(self, metric: str) -> str | float | None:
        """The row's value for ``metric``, from the rendered value (its key only orders:
        -0 and 0 share a key, and a row still shows what was rendered)."""
        return shown_value(Decimal(str(self.rendered(metric))), metric)


#: Millionths (an int key's unit) per cent.
_CENT_UNITS = 10_000
#: Below this many bits an int's quotient by a million is a finite float.
_FLOAT_BITS = 1_000


def _from_units(metric: str, units: int | Decimal | None) -> Any:
    """The value a rendered scorecard gives when its key holds ``units``: revenue as a money
    string, the other metrics as floats (``CachedRep.check`` checks it gives the value back)."""
    if units is None:
        return None
    if isinstance(units, int):  # the value in millionths, negated (the largest ranks first)
        if metric != "revenue" and units.bit_length() < _FLOAT_BITS:
            return -units / 1_000_000  # int division rounds correctly: the float the value prints as
        if metric == "revenue" and units % _CENT_UNITS == 0:
            return str(Decimal(-units // _CENT_UNITS).scaleb(-2))
    value = key_value((units, ""))
    return format_money(value) if metric == "revenue" else float(value)


def _same(made: Any, raw: Any) -> bool:
    """Whether ``made`` is ``raw`` as a row shows it: same type and value, and the same
    sign for a float zero."""
    if type(made) is not type(raw) or made != raw:
        return False
    return not isinstance(made, float) or math.copysign(1.0, made) == math.copysign(1.0, raw)


#: A company ranking's key of an entry per metric (``METRICS`` order): (units, rep_id), read from the entry.
_KEYS = tuple(operator.attrgetter(metric, "rep_id") for metric in METRICS)
#: The team rankings' key of an entry per metric: (team_id, units, rep_id), read from the entry.
_TEAM_KEYS = tuple(operator.attrgetter("team_id", metric, "rep_id") for metric in METRICS)


class _Rankings:
    """Per metric, the order of a period's reps on a board (a metric's ranking is made when
    the first rep with a value for it joins)."""

    __slots__ = ("by_metric",)

    #: the kind of ranking a metric's order is kept in, and its key per metric
    _RANKING: type[RankIndex] = RankIndex
    _KEYS: tuple[Callable[[CachedRep], tuple[Any, ...]], ...] = _KEYS

    def __init__(self) -> None:
        self.by_metric: list[RankIndex | None] = [None] * len(METRICS)

    def enter(self, rep: CachedRep, metrics: Iterable[int]) -> None:
        """Rank a rep by the metrics (``METRICS`` positions) it has a value for."""
        for i in metrics:
            if getattr(rep, METRICS[i]) is not None:
                ranking = self.by_metric[i]
                if ranking is None:
                    ranking = self.by_metric[i] = self._RANKING(key=self._KEYS[i])
                ranking.add(rep)

    def exit(self, rep: CachedRep, metrics: Iterable[int]) -> None:
        """Stop ranking a rep by the metrics (``METRICS`` positions) it has a value for."""
        for i in metrics:
            ranking = self.by_metric[i]
            if getattr(rep, METRICS[i]) is not None and ranking is not None:
                ranking.remove(rep)


class _BoardIndex(_Rankings):
    """The company board of one period: how many reps it ranks and their order per metric."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        super().__init__()
        #: how many reps are on the board, with or without values (``ranked`` counts them all)
        self.members = 0

    def ranking(self, metric: str) -> RankIndex | None:
        """The ranking of ``metric`` (None: no rep ever had a value for it here)."""
        return self.by_metric[METRICS.index(metric)]

    def join(self, rep: CachedRep) -> None:
        """Put a rep on the board, ranked by each metric it has a value for."""
        self.members += 1
        self.enter(rep, range(len(METRICS)))

    def leave(self, rep: CachedRep) -> None:
        """Take a rep off the board."""
        self.members -= 1
        self.exit(rep, range(len(METRICS)))


class _TeamBoards(_Rankings):
    """Every team board of one period: how many reps each ranks and, per metric, one order
    of every rep by (team, value, rep_id) (``GroupedRankIndex``), a team's ranking being
    its run of that order. A rep is on the board of its ``team_id``, so it leaves before
    its team changes. (Teams are small: a ranking per team and metric held more than the
    pointers in it.)"""

    __slots__ = ("members",)

    _RANKING = GroupedRankIndex
    _KEYS = _TEAM_KEYS

    def __init__(self) -> None:
        super().__init__()
        #: team_id -> how many reps its board ranks, with or without values (teams with any)
        self.members: dict[str, int] = {}

    def ranking(self, metric: str) -> GroupedRankIndex | None:
        """The order of every team's reps by ``metric`` (None: no rep had a value for it)."""
        ranking = self.by_metric[METRICS.index(metric)]
        assert ranking is None or isinstance(ranking, GroupedRankIndex)
        return ranking

    def join(self, rep: CachedRep) -> None:
        """Put a rep on its team's board."""
        self.members[rep.team_id] = self.members.get(rep.team_id, 0) + 1
        self.enter(rep, range(len(METRICS)))

    def leave(self, rep: CachedRep) -> None:
        """Take a rep off its team's board."""
        left = self.members[rep.team_id] - 1
        if left:
            self.members[rep.team_id] = left
        else:
            del self.members[rep.team_id]
        self.exit(rep, range(len(METRICS)))


class RowParts:
    """What the rows of one board of a period by every metric share: each rep's name, team
    and shown values, and each place's percentile. Built for one board of one publication,
    then dropped: it holds at most the reps the board shows (never kept with the cache, or
    for a whole publication: after a rebuild that would be a second copy of every rep-period)."""

    __slots__ = ("shown", "percentiles")

    def __init__(self) -> None:
        #: (period, rep id) -> (name, team id, revenue/attainment/score as a row shows them)
        self.shown: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
        #: (rank, reps ranked) -> top_percent and top_decile
        self.percentiles: dict[tuple[int, int], dict[str, Any]] = {}


class BoardCache:
    """The ranking inputs of every rep scorecard, refreshed as scorecards are rendered.

    Leaderboard snapshots are built from it, so publishing a board does not render
    every rep again. Each board of each period keeps its reps in rank order per metric
    (``RankIndex`` for the company board, one ``GroupedRankIndex`` for all the team boards
    of a period), so an update costs O(log n) and the top N rows O(N + log n); the order
    is the one ``rank`` defines.
    """

    def __init__(self) -> None:
        #: period -> rep_id -> the rep's cached scorecard
        self.entries: dict[str, dict[str, CachedRep]] = {}
        #: period -> the company board
        self.company: dict[str, _BoardIndex] = {}
        #: period -> every team board (a rep is on the board of its cached team)
        self.teams: dict[str, _TeamBoards] = {}
        #: (team_id, period) -> the team's score and dimensions (``team_row``) sent by the
        #: team partition owning the team, beside a team stage
        self.summaries: dict[tuple[str, str], dict[str, Any]] = {}

    def update(self, content: dict[str, Any]) -> set[tuple[str, str]]:
        """Record a rendered rep scorecard; returns the (board, period) pairs it may move."""
        if content["scope"] != "rep":
            return set()
        period, rep_id, team = content["period"], content["id"], content["team_id"]
        kpis = content["kpis"]
        rendered = (content["score"], kpis["revenue"], kpis["attainment"], kpis["weighted_attainment"])
        period_entries = self.entries.setdefault(period, {})
        company = self.company.get(period)
        if company is None:  # not setdefault: building an index for nothing costs more than the update
            company = self.company[period] = _BoardIndex()
            self.teams[period] = _TeamBoards()
        teams = self.teams[period]
        touched = {("company", period), (f"team:{team}", period)}
        rep = period_entries.get(rep_id)
        if rep is None:
            rep = period_entries[rep_id] = CachedRep(rep_id, team)
            for metric, raw in zip(METRICS, rendered, strict=True):
                rep.render(metric, raw)
            rep.check(rendered)
            company.join(rep)
            teams.join(rep)
            return touched
        # A value equal to the one cached keeps its key: no ranking work (1 and 1.0 are one value).
        changed = [i for i, (metric, raw) in enumerate(zip(METRICS, rendered, strict=True))
                   if rep.rendered(metric) != raw]
        moved = rep.team_id != team
        company.exit(rep, changed)
        if moved:  # off the old team's board, onto the new one's
            teams.leave(rep)
            touched.add((f"team:{rep.team_id}", period))
        else:
            teams.exit(rep, changed)
        for i in changed:
            rep.render(METRICS[i], rendered[i])
        rep.check(rendered)
        company.enter(rep, changed)
        if moved:
            rep.team_id = team
            teams.join(rep)
        else:
            teams.enter(rep, changed)
        return touched

    def summarise(self, row: dict[str, Any]) -> set[tuple[str, str]]:
        """Keep (or, ``removed``, drop) a team's summary row unless one of a higher revision
        is kept; returns the board it moves."""
        key = (row["id"], row["period"])
        held = self.summaries.get(key)
        if held is not None and held["revision"] > row["revision"]:
            return set()  # a row from before a rebalance, overtaken
        if row.get("removed"):
            if held is None:
                return set()
            del self.summaries[key]
        else:
            self.summaries[key] = row
        return {(f"team:{row['id']}", row["period"])}

    def summary(self, team_id: str, period: str) -> dict[str, Any] | None:
        """The team's summary row of the period, if a team partition sent one."""
        return self.summaries.get((team_id, period))

    def summarised_teams(self) -> set[str]:
        """The teams with a summary row of some period."""
        return {team for team, _ in self.summaries}

    def remove(self, rep_id: str, period: str) -> set[tuple[str, str]]:
        """Forget a rep scorecard that stopped existing; returns the boards it leaves."""
        old = self.entries.get(period, {}).pop(rep_id, None)
        if old is None:
            return set()
        self.company[period].leave(old)
        self.teams[period].leave(old)
        return {("company", period), (f"team:{old.team_id}", period)}

    def ranked(self, board: str, period: str) -> int:
        """How many reps a board of a period ranks."""
        if board == "company":
            company = self.company.get(period)
            return 0 if company is None else company.members
        teams = self.teams.get(period)
        return 0 if teams is None else teams.members.get(board[5:], 0)

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
        cached = self.entries.get(period, {}).get(rep_id)
        if cached is None or (board != "company" and board[5:] != cached.team_id):
            return None
        key = cached.key(metric)
        if key is None:
            return None
        if board == "company":
            ranking = self.company[period].ranking(metric)
            return None if ranking is None else Standing(ranking.rank_of(key), len(ranking))
        teams = self.teams[period].ranking(metric)
        if teams is None:
            return None
        return Standing(*teams.standing((cached.team_id, *key)))

    def periods(self) -> list[str]:
        """The periods whose company board ranks at least one rep."""
        return [period for period, index in self.company.items() if index.members]

    def _ranks(self, board: str, period: str, metric: str,
               limit: int | None) -> tuple[Iterator[tuple[int, str]], int] | None:
        """(rank, rep_id) of the first ``limit`` (or all) reps a board of a period ranks by
        ``metric``, and how many it ranks by it; None when it ranks none."""
        if board == "company":
            company = self.company.get(period)
            ranking = None if company is None else company.ranking(metric)
            return None if ranking is None or not len(ranking) else (ranking.ranks(limit), len(ranking))
        teams = self.teams.get(period)
        grouped = None if teams is None else teams.ranking(metric)
        if grouped is None:
            return None
        ranks, size = grouped.group_ranks(board[5:], limit)
        return (ranks, size) if size else None

    def board(self, board: str, period: str, metric: str, names: Mapping[str, str] | None = None,
              limit: int | None = None, parts: RowParts | None = None) -> list[dict[str, Any]]:
        """Ranked rows of a board from the cached values (the first ``limit``, or all); a
        row's name from ``names``, else the rep id. Boards built with the same ``parts`` (and,
        per period, the same ``names``) build each rep's shown values once."""
        found = self._ranks(board, period, metric, limit if limit else None)
        if found is None:
            return []
        ranks, ranked = found
        entries = self.entries[period]
        parts = parts if parts is not None else RowParts()
        shown, percentiles = parts.shown, parts.percentiles
        rows = []
        for rank_, rep_id in ranks:
            cached = entries[rep_id]
            fields = shown.get((period, rep_id))
            if fields is None:
                name = names.get(rep_id, rep_id) if names is not None else rep_id
                fields = shown[(period, rep_id)] = (name, cached.team_id, cached.shown())
            place = percentiles.get((rank_, ranked))
            if place is None:
                place = percentiles[(rank_, ranked)] = percentile(rank_, ranked)
            name, team_id, figures = fields
            rows.append({"rank": rank_, "rep_id": rep_id, "name": name, "team_id": team_id,
                         "value": cached.value(metric), **figures, **place})
        return rows
