"""Web views on the worker: metrics, health and the query API.

Operational (no business data): ``/metrics`` (prometheus-client text format),
``/healthz`` (the process is alive), ``/readyz`` (tables recovered and, on the worker
that owns the aggregation stage, the engine rebuilt; 503 otherwise).

Query API (routed to the worker that owns what answers, so any worker answers the
same): ``/api/scorecards/{scope}/{id}/{period}`` and
``/api/scorecards/{scope}/{id}/{period}/explain`` (by scope, ``streams.scorecard_sources``:
with partitioned stages a rep's on the owner of its rep stage partition, the rest on the
owner of the aggregation stage), and on the owner of the aggregation stage
``/api/leaderboard?board=&period=&metric=&limit=``, ``/api/payroll/{period}`` (the
paid state of a closed month) and ``/api/awards?period=`` (the awards decided at a
period's close, contract §11). The leaderboard is the board as last published, from the
stage's board cache (``core.boards.leaderboard``: no rep scorecard rendered, nothing
ranked per request). Errors are JSON: 400 for a malformed request, 404 for an
unknown key, 503 while the engine is not loaded (and the leaderboard until the first flush
after its rebuild made the board cache whole); with a tokens file, 401/403 from
``streams.auth`` (checked before forwarding and again on the owner, docs/access-control.md).

Appeals (contract §10, ``register_appeals``): ``/api/disputes`` and its routes
(``streams.dispute_web``) over the dispute stage of this worker, and the browser sign-in
``/api/session`` (``streams.auth``). The dispute stage runs on the worker that owns the
aggregation stage (one partition each); another worker answers the appeals routes 503.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import faust
from aiohttp import web as aioweb
from faust import web as faust_web
from faust.exceptions import SameNode
from faust.tables.manager import TableManager

from sales_scorecard.core.access import Resource, public_row

from .auth import denied, is_public, register_session_api
from .dispute_api import DisputeApi
from .dispute_stage import ServedDisputes
from .dispute_web import register_disputes_api
from .pipeline import Pipeline
from .scorecard_sources import ENGINE_KEY as ENGINE_KEY
from .scorecard_sources import scorecard_sources

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[faust_web.Response]])

#: A stream with no record processed for this long while records wait is "stalled".
STALL_SECONDS = 120.0


def register(pipe: Pipeline) -> None:
    """Attach the operational views."""
    app, metrics = pipe.app, pipe.metrics

    @app.page("/metrics")
    async def metrics_view(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        return self.bytes(metrics.exposition(), content_type="text/plain")

    @app.page("/healthz")
    async def healthz(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        return self.json({"status": "alive", "time": time.time()})

    @app.page("/readyz")
    async def readyz(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        ready, detail = readiness(pipe)
        return self.json({"ready": ready, **detail}, status=200 if ready else 503)

    register_api(pipe)
    register_appeals(pipe)


def register_appeals(pipe: Pipeline) -> None:
    """Attach the appeals routes and the browser sign-in to the worker's aiohttp app
    (before the web server starts: aiohttp freezes its router then)."""
    stage = pipe.dispute_stage
    if stage is None:
        raise RuntimeError("register the dispute agent (agents.disputes) before the web views")
    disputes_topic = pipe.disputes_topic

    async def publish(key: str, value: bytes) -> None:
        sent = await disputes_topic.send(key=key.encode(), value=value)
        await sent  # the broker's acknowledgement

    def team_of(rep_id: str) -> str | None:
        engine = pipe.engine
        return None if engine is None else current_team(engine, rep_id)

    web_app = cast(aioweb.Application, pipe.app.web.web_app)  # type: ignore[attr-defined]  # Faust types app.web as the abstract Web; the aiohttp driver has web_app
    register_disputes_api(web_app, DisputeApi(publish, ServedDisputes(stage), team_of), ready=pipe.owns_aggregation)
    register_session_api(web_app)


SCOPES = ("rep", "team", "company")
#: A period awards are decided for: a year, a quarter or a month (contract §11).
AWARD_PERIOD = re.compile(r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?\Z")


def engine_route(app: faust.App, table: faust.Table[Any, Any]) -> Callable[[Handler], Handler]:
    """Faust's ``table_route`` to the owner of ``ENGINE_KEY``, typed for the ``get`` methods of
    View classes: Faust types a handler as ``(View, Request, *Any)``, which no method of a
    subclass with path parameters matches, although that is the use its docs show."""
    return cast(Callable[[Handler], Handler], app.table_route(table=table, exact_key=ENGINE_KEY))


#: A GET handler of the query API: the view, the request and the loaded engine.
EngineHandler = Callable[[faust_web.View, faust_web.Request, "ScorecardEngine"], Awaitable[faust_web.Response]]


def engine_get(pipe: Pipeline, route: str) -> Callable[[EngineHandler], EngineHandler]:
    """Attach a handler as ``GET route`` on the worker that owns the aggregation stage
    (``engine_route``), called with its loaded engine; 503 while the engine loads."""
    def attach(handler: EngineHandler) -> EngineHandler:
        @pipe.app.page(route, name=route)
        class EngineView(faust_web.View):
            @engine_route(pipe.app, pipe.facts)
            async def get(self, request: faust_web.Request) -> faust_web.Response:
                engine = pipe.engine
                if engine is None:
                    return self.json({"error": "not ready: the aggregation engine is loading"}, status=503)
                return await handler(self, request, engine)

        return handler

    return attach


def aiohttp_request(request: faust_web.Request) -> aioweb.Request:
    """The request as what it is: Faust's aiohttp driver hands views aiohttp's request (and
    casts it the same way itself)."""
    return cast(aioweb.Request, request)


def check_denied(request: faust_web.Request, resource: Resource) -> faust_web.Response | None:
    """``auth.denied`` for a Faust view: the 403 is an aiohttp response, as every response of
    Faust's aiohttp driver is, whatever Faust's types say."""
    return cast(faust_web.Response | None, denied(aiohttp_request(request), resource))


def register_api(pipe: Pipeline) -> None:
    """Attach the query API views."""
    from sales_scorecard.core.boards import BoardError, explain, leaderboard
    from sales_scorecard.core.engine import scorecard_key

    app = pipe.app
    facts, payroll_state, awards = pipe.facts, pipe.payroll_state, pipe.awards

    sources = scorecard_sources(pipe)

    async def serve_scorecard(view: faust_web.View, request: faust_web.Request, scope: str, id: str, period: str,
                              kind: str) -> faust_web.Response:
        """Answer a scorecard (``kind`` "scorecard") or its explanation ("explain") on the
        worker that owns the scope's source, forwarding the request there."""
        source = sources.get(scope)
        if source is None:
            return view.json({"error": f"scope must be one of {', '.join(SCOPES)}, got {scope!r}"}, status=400)
        try:
            return await source.route(id, view.web, request)
        except SameNode:
            pass
        engine = source.engine(id)
        if engine is None:
            return view.json({"error": f"not ready: {source.loading}"}, status=503)
        error = scorecard_denied(request, engine, kind, scope, id) or check_key(view, engine, scope, id, period)
        if error is not None:
            return error
        if kind == "explain":
            return view.json(explain(engine, scope, id, period))
        content = engine.render(scope, id, period)
        if content is None:
            return view.json({"error": f"no scorecard {scorecard_key(scope, id, period)}"}, status=404)
        return view.json({**content, "revision": source.revision(id, scorecard_key(scope, id, period))})

    def engine_or_error(view: faust_web.View) -> tuple[Any, faust_web.Response | None]:
        engine = pipe.engine
        if engine is None:
            return None, view.json({"error": "not ready: the aggregation engine is loading"}, status=503)
        return engine, None

    def scorecard_denied(request: faust_web.Request, engine: ScorecardEngine, kind: str, scope: str,
                         id: str) -> faust_web.Response | None:
        """403 unless the caller may read this scorecard (the rep's current team from the roster)."""
        rep_team = current_team(engine, id) if scope == "rep" else None
        return check_denied(request, Resource(kind, scope, id, rep_team))

    def check_key(view: faust_web.View, engine: ScorecardEngine, scope: str, id: str,
                  period: str) -> faust_web.Response | None:
        try:
            from sales_scorecard.core.boards import check_period

            check_period(engine, period)
        except BoardError as exc:
            return view.json({"error": str(exc)}, status=400)
        if (scope, id) not in engine.known or not engine.known[(scope, id)] or (
                period not in engine.known[(scope, id)] and period not in ("R30D", "R90D")):
            return view.json({"error": f"no scorecard {scorecard_key(scope, id, period)}"}, status=404)
        return None

    @app.page("/api/scorecards/{scope}/{id}/{period}")
    class ScorecardView(faust_web.View):
        async def get(self, request: faust_web.Request, scope: str, id: str, period: str) -> faust_web.Response:
            return await serve_scorecard(self, request, scope, id, period, "scorecard")

    @app.page("/api/scorecards/{scope}/{id}/{period}/explain")
    class ExplainView(faust_web.View):
        async def get(self, request: faust_web.Request, scope: str, id: str, period: str) -> faust_web.Response:
            return await serve_scorecard(self, request, scope, id, period, "explain")

    @engine_get(pipe, "/api/leaderboard")
    async def leaderboard_view(view: faust_web.View, request: faust_web.Request,
                               engine: ScorecardEngine) -> faust_web.Response:
        q = request.query
        try:
            limit = int(q.get("limit", "0")) or None
            if limit is not None and limit < 0:
                raise ValueError
        except ValueError:
            return view.json({"error": "limit must be a positive integer"}, status=400)
        stage = pipe.aggregation
        assert stage is not None  # the engine is the stage's
        if not stage.boards_ready:
            return view.json({"error": "not ready: the leaderboards are being ranked after a rebuild"}, status=503)
        try:
            board = leaderboard(stage.boards, engine, q.get("board", "company"), q.get("period") or None,
                                q.get("metric", "score"), limit)
        except BoardError as exc:
            return view.json({"error": str(exc)}, status=400)
        if is_public(aiohttp_request(request)):
            board = {**board, "rows": [public_row(r) for r in board["rows"]]}
            if "team" in board:
                board["team"] = None  # no team figures on the public board
        return view.json(board)

    @app.page("/api/awards")
    class AwardsView(faust_web.View):
        @engine_route(app, facts)
        async def get(self, request: faust_web.Request) -> faust_web.Response:
            error = check_denied(request, Resource("awards"))
            if error is not None:
                return error
            engine, error = engine_or_error(self)
            if error is not None:
                return error
            period = request.query.get("period", "")
            if not AWARD_PERIOD.match(period):
                return self.json({"error": f"period must be YYYY, YYYY-Qn or YYYY-MM, got {period!r}"}, status=400)
            events = awards.get(period)
            if events is None:
                return self.json({"error": f"no awards decided for {period} (not closed)"}, status=404)
            return self.json({"period": period, "awards": events})

    @app.page("/api/payroll/{period}")
    class PayrollView(faust_web.View):
        @engine_route(app, facts)
        async def get(self, request: faust_web.Request, period: str) -> faust_web.Response:
            error = check_denied(request, Resource("payroll"))
            if error is not None:
                return error
            engine, error = engine_or_error(self)
            if error is not None:
                return error
            if period not in engine.closed_months:
                return self.json({"error": f"month {period} is not closed (no statements)"}, status=404)
            return self.json({"period": period, "statements": payroll_statements(payroll_state.items(), period)})


def current_team(engine: ScorecardEngine, rep_id: str) -> str | None:
    """The rep's team now (at the engine clock; the latest roster entry before any event)."""
    history = engine.roster.reps.get(rep_id)
    if history is None or not history.entries:
        return None
    as_of = engine.clock()
    entry = engine.roster.entry_at(rep_id, as_of) if as_of is not None else None
    return (entry or history.entries[-1]).team_id


def payroll_statements(items: Iterable[tuple[Any, Any]], month: str) -> list[dict]:
    """The paid state of every rep for ``month`` from the payroll_state table's items, by rep."""
    out = []
    for key, value in items:
        rep_id, _, key_month = str(key).rpartition(":")
        if key_month == month and value is not None:
            out.append({"rep_id": rep_id, "period": month, **value})
    return sorted(out, key=lambda s: s["rep_id"])


def readiness(pipe: Pipeline) -> tuple[bool, dict]:
    """Whether the worker is ready to serve, with the reasons."""
    app = pipe.app
    recovery = cast(TableManager, app.tables).recovery  # the App's manager; TableManagerT omits recovery
    recovered = bool(recovery.completed.is_set()) if recovery.started else False
    rebalancing = bool(app.rebalancing)
    engine_needed = pipe.owns_aggregation()
    engine_loaded = pipe.engine is not None
    ready = recovered and not rebalancing and (engine_loaded or not engine_needed)
    return ready, {
        "recovered": recovered,
        "rebalancing": rebalancing,
        "aggregation_owner": engine_needed,
        "engine_loaded": engine_loaded,
        "rep_partitions": len(pipe.rep_partitions()),
        "team_partitions": len(pipe.assigned(pipe.team_facts_topic)),
    }
