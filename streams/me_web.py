"""My scorecard (contract §13): ``/api/me``, who is signed in and whose scorecard the page
``/me`` shows, and ``/api/me/ranks``, that rep's ranks.

``/me`` is a static shell like ``/`` (``streams.page_assets``; its sign-in form is the way
in); everything it shows comes from these two and the query API (scorecards, explain,
awards) with the caller's sign-in cookie. Both are routed like the query API to the owner
of the aggregation stage. ``/api/me[?rep=ID]`` answers the caller (``principal``, null with auth off), the configured
``currency``, the reps a manager may pick (``members``: those whose current team is one of
theirs) and ``rep``: the rep shown (``core.access.me_subject``: the one asked for, else the
caller's own) with its name, current team, months with a scorecard and the month to start
on; null when there is none to show. A rep the caller may not read is 403
(``core.access.may_view_rep``), checked before the lookup, so an unknown rep is 403 too;
a readable rep without any scorecard is 404.

``/api/me/ranks[?rep=ID][&month=YYYY-MM]`` answers the same rep's ranks in a month (its
starting month without one): by score and revenue on the company board and on its team's,
with the rank on the same board the month before (``core.my_ranks``), each looked up in the
board cache's ordered indexes, never by reading a board. The same rules decide who may ask;
a month without a scorecard of the rep is 404, one whose scorecards are not rendered yet
(after a restart, before the first flush) 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from faust import web as faust_web

from sales_scorecard.core.access import Principal, is_id, may_view_rep, me_subject, own_rep
from sales_scorecard.core.boards import clock_month, default_month
from sales_scorecard.core.labels import parses_as_month, period_kind
from sales_scorecard.core.my_ranks import my_ranks

from .auth import access_of
from .pipeline import Pipeline
from .web import aiohttp_request, current_team, engine_get

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine

def register(pipe: Pipeline) -> None:
    """Attach ``/api/me`` and ``/api/me/ranks`` (the page itself is ``streams.page_assets``'s)."""
    currency = pipe.settings.currency

    @engine_get(pipe, "/api/me")
    async def me(view: faust_web.View, request: faust_web.Request, engine: ScorecardEngine) -> faust_web.Response:
        asked = subject(request, engine)
        if isinstance(asked, Refusal):
            return view.json({"error": asked.error}, status=asked.status)
        principal, shown = asked
        return view.json({
            "principal": principal_json(principal), "currency": currency, "rep": shown,
            "members": members(engine, principal.scope) if principal and principal.role == "manager" else [],
        })

    @engine_get(pipe, "/api/me/ranks")
    async def ranks(view: faust_web.View, request: faust_web.Request, engine: ScorecardEngine) -> faust_web.Response:
        asked = subject(request, engine)
        if isinstance(asked, Refusal):
            return view.json({"error": asked.error}, status=asked.status)
        shown = asked[1]
        if shown is None:
            return view.json({"error": "rep is required: there is no rep of this token to show"}, status=400)
        rep, month = shown["rep_id"], request.query.get("month") or shown["current_month"]
        if not parses_as_month(month):
            return view.json({"error": f"month must be YYYY-MM, got {month!r}"}, status=400)
        if month not in shown["months"]:
            return view.json({"error": f"no scorecard for rep {rep} in {month}"}, status=404)
        stage = pipe.aggregation
        assert stage is not None  # the engine is this stage's
        answer = my_ranks(stage.boards, rep, month)
        if answer is None:  # known to the engine, not rendered yet
            return view.json({"error": "ranks are loading: the month's scorecards are not rendered yet, "
                                       "try again in a few seconds"}, status=503)
        return view.json(answer)


@dataclass(frozen=True)
class Refusal:
    """Why ``/api/me`` or ``/api/me/ranks`` does not answer: the status and the message."""

    status: int
    error: str


def subject(request: faust_web.Request,
            engine: ScorecardEngine) -> tuple[Principal | None, dict[str, Any] | None] | Refusal:
    """The caller and the rep ``/me`` shows them (``me_subject``) as ``rep_summary`` says it
    (None: no rep to show), or why not: 401 without a sign-in, 400 for a ``rep`` that is not
    an id, 403 for a rep the caller may not read (``may_view_rep``, before any lookup: an
    unknown rep is 403 too), 404 for a rep without any scorecard."""
    access = access_of(aiohttp_request(request))
    principal = access.principal if access is not None else None
    if access is not None and principal is None:
        return Refusal(401, "sign in to see a scorecard")
    requested = request.query.get("rep") or None
    if requested is not None and not is_id(requested):
        return Refusal(400, f"rep must be a rep id, got {requested!r}")
    rep = me_subject(principal, requested)
    if rep is None:
        return principal, None
    if not may_view_rep(principal, rep, current_team(engine, rep)):
        return Refusal(403, f"this token may not see the scorecard of rep {rep}")
    shown = rep_summary(engine, rep)
    if shown is None:
        return Refusal(404, f"no scorecard for rep {rep}")
    return principal, shown


def principal_json(principal: Principal | None) -> dict[str, Any] | None:
    """The caller as ``/api/me`` answers it (None: auth is off)."""
    if principal is None:
        return None
    return {"name": principal.name, "role": principal.role, "scope": list(principal.scope),
            "rep_id": own_rep(principal)}


def rep_name(engine: ScorecardEngine, rep_id: str) -> str:
    """The rep's name in its latest roster entry, else its id."""
    history = engine.roster.reps.get(rep_id)
    entry = history.entries[-1] if history is not None and history.entries else None
    return entry.name if entry is not None and entry.name else rep_id


def members(engine: ScorecardEngine, teams: tuple[str, ...]) -> list[dict[str, Any]]:
    """The reps whose current team is one of ``teams`` (a manager's), by id."""
    return [{"rep_id": rep, "name": rep_name(engine, rep), "team_id": team}
            for rep in sorted(engine.roster.reps)
            if (team := current_team(engine, rep)) is not None and team in teams]


def rep_summary(engine: ScorecardEngine, rep_id: str) -> dict[str, Any] | None:
    """Who the page shows: name, current team, the months with a scorecard (latest first) and
    the month to start on (the clock's, else the latest before it); None without a scorecard."""
    labels = engine.known.get(("rep", rep_id))
    if not labels:
        return None
    months = sorted((label for label in labels if period_kind(label) == "month"), reverse=True)
    if not months:
        return None
    start = default_month(clock_month(engine), months)
    return {"rep_id": rep_id, "name": rep_name(engine, rep_id), "team_id": current_team(engine, rep_id),
            "months": months, "current_month": start if start in months else months[0]}
