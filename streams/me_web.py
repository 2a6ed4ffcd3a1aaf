"""My scorecard (contract §13): the rep's own page ``/me`` and ``/api/me``, who is signed in
and whose scorecard the page shows.

``/me`` is a static shell like ``/`` (its sign-in form is the way in); everything it shows
comes from the query API (scorecards, explain, leaderboards, awards) with the caller's
sign-in cookie. ``/api/me[?rep=ID]`` is routed like the query API to the owner of the
aggregation stage. It answers the caller (``principal``, null with auth off), the configured
``currency``, the reps a manager may pick (``members``: those whose current team is one of
theirs) and ``rep``: the rep shown (``core.access.me_subject``: the one asked for, else the
caller's own) with its name, current team, months with a scorecard and the month to start
on; null when there is none to show. A rep the caller may not read is 403
(``core.access.may_view_rep``), checked before the lookup, so an unknown rep is 403 too;
a readable rep without any scorecard is 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faust import web as faust_web

from sales_scorecard.core.access import Principal, is_id, may_view_rep, me_subject, own_rep
from sales_scorecard.core.boards import default_month
from sales_scorecard.core.labels import period_kind

from .auth import access_of
from .page_assets import static_file
from .pipeline import Pipeline
from .web import aiohttp_request, current_team, engine_route

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine


def register(pipe: Pipeline) -> None:
    """Attach ``/me`` and ``/api/me``."""
    app, facts, currency = pipe.app, pipe.facts, pipe.settings.currency
    page = static_file("me.html")

    @app.page("/me")
    async def me_page(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        return self.bytes(page, content_type="text/html")

    @app.page("/api/me")
    class MeView(faust_web.View):
        @engine_route(app, facts)
        async def get(self, request: faust_web.Request) -> faust_web.Response:
            engine = pipe.engine
            if engine is None:
                return self.json({"error": "not ready: the aggregation engine is loading"}, status=503)
            access = access_of(aiohttp_request(request))
            principal = access.principal if access is not None else None
            if access is not None and principal is None:
                return self.json({"error": "sign in to see a scorecard"}, status=401)
            requested = request.query.get("rep") or None
            if requested is not None and not is_id(requested):
                return self.json({"error": f"rep must be a rep id, got {requested!r}"}, status=400)
            rep = me_subject(principal, requested)
            answer: dict[str, Any] = {
                "principal": principal_json(principal), "currency": currency, "rep": None,
                "members": members(engine, principal.scope) if principal and principal.role == "manager" else [],
            }
            if rep is None:
                return self.json(answer)
            if not may_view_rep(principal, rep, current_team(engine, rep)):
                return self.json({"error": f"this token may not see the scorecard of rep {rep}"}, status=403)
            shown = rep_summary(engine, rep)
            if shown is None:
                return self.json({"error": f"no scorecard for rep {rep}"}, status=404)
            return self.json({**answer, "rep": shown})


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
    as_of = engine.clock()
    clock_month = engine.calendar.containing(as_of)[0].label if as_of is not None else None
    start = default_month(clock_month, months)
    return {"rep_id": rep_id, "name": rep_name(engine, rep_id), "team_id": current_team(engine, rep_id),
            "months": months, "current_month": start if start in months else months[0]}
