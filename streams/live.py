"""What the live leaderboard page (``/``, served by ``streams.page_assets``) reads: the
boards list and the server-sent event stream.

``/api/boards`` lists the boards and periods to choose from and the currency money is shown
in. ``/api/stream?board=&period=&metric=`` is an SSE stream that pushes the ranked rows
whenever they change. On the worker that owns the aggregation stage the rows come from its
board cache (``core.boards.leaderboard``, the rows ``/api/leaderboard`` answers), pushed as
soon as a flush moved them, with a heartbeat after 15 s of quiet. Any other worker relays
the owner's own stream (``streams.stream_relay``: one streaming request with the caller's
``Authorization`` header, or the token of their sign-in cookie; connected again with a
back-off when the owner goes away), so the page works on every worker; so does the owner
while its boards load, until they are whole (then it serves the page itself). A token-less
request let in by the public-leaderboard setting gets rows of name, team, rank and value
only.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web as aioweb
from faust import web as faust_web

from sales_scorecard.core.access import public_row

from .auth import forwarded_authorization, is_public
from .pipeline import Pipeline
from .stream_relay import HEARTBEAT, HEARTBEAT_SECONDS, RELAYED_HEADER, OwnerStream, Relay
from .web import ENGINE_KEY, aiohttp_request, engine_get

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine


def register(pipe: Pipeline) -> None:
    """Attach the boards list and the SSE stream."""
    from sales_scorecard.core.boards import METRICS, BoardError, check_board, current_month

    app = pipe.app
    facts = pipe.facts

    @engine_get(pipe, "/api/boards")
    async def boards(view: faust_web.View, request: faust_web.Request, engine: ScorecardEngine) -> faust_web.Response:
        # the teams the engine keeps, and beside a team stage those whose partitions sent a summary
        stage = pipe.aggregation
        summarised = stage.boards.summarised_teams() if stage is not None else set()
        teams = sorted({id for (scope, id) in engine.known if scope == "team"} | summarised)
        periods = sorted(
            {label for (scope, _), labels in engine.known.items() if scope == "rep" for label in labels},
            reverse=True)
        return view.json({"teams": teams, "periods": periods + ["R30D", "R90D"],
                          "current_period": current_month(engine), "currency": pipe.settings.currency})

    def owner_url() -> str:
        return str(app.router.key_store(facts.name, ENGINE_KEY))

    @app.page("/api/stream")
    async def stream(self: faust_web.View, request: faust_web.Request) -> Any:
        q = request.query
        query = BoardQuery(q.get("board", "company"), q.get("period", ""), q.get("metric", "score"))
        local = LocalBoard(pipe, query, is_public(aiohttp_request(request)))
        try:
            if query.metric not in METRICS:
                raise BoardError(f"metric must be one of {', '.join(METRICS)}")
            check_board(query.board)
            first = local.answer()
        except BoardError as exc:
            return self.json({"error": str(exc)}, status=400)
        if first is None:
            if request.headers.get(RELAYED_HEADER):
                # Named the owner but not loaded: the relaying worker tries again later.
                return self.json({"error": "not ready: the aggregation engine is loading"}, status=503)
            target = OwnerStream(owner_url, {"board": query.board, "period": query.period, "metric": query.metric},
                                 forwarded_authorization(aiohttp_request(request)), local.public)
            return await Relay(target, local=local).serve(aiohttp_request(request))
        resp = aioweb.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(aiohttp_request(request))
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):  # the page went away
            await local.write(resp, first)
        return resp


@dataclass(frozen=True)
class BoardQuery:
    """The board, period and metric a page streams."""

    board: str
    period: str
    metric: str


@dataclass(frozen=True)
class LocalBoard:
    """A page's events from this worker's board cache (``stream_relay.LocalStream``)."""

    pipe: Pipeline
    query: BoardQuery
    #: a token-less caller let in by the public-leaderboard setting: public rows, no team
    public: bool

    def ready(self) -> bool:
        """True on the worker that owns the stage once its board cache is whole."""
        stage = self.pipe.aggregation
        return stage is not None and stage.engine is not None and stage.boards_ready

    def answer(self) -> dict[str, Any] | None:
        """The rows and team summary ``/api/leaderboard`` answers, from this worker's board
        cache; None without the engine or a whole cache (another worker owns the stage, or
        it loads)."""
        from sales_scorecard.core.boards import leaderboard

        stage, engine = self.pipe.aggregation, self.pipe.engine
        if stage is None or engine is None or not stage.boards_ready:
            return None
        q = self.query
        return leaderboard(stage.boards, engine, q.board, q.period, q.metric)

    async def write(self, resp: aioweb.StreamResponse, first: dict[str, Any] | None = None) -> None:
        """Write an event whenever the rows change (``first`` is the current answer, when
        known), a heartbeat after 15 s of quiet; return when this worker no longer has the
        board (the stage moved away, or the query is refused)."""
        from sales_scorecard.core.boards import BoardError

        loop = asyncio.get_running_loop()
        last: bytes | None = None
        idle = 0.0
        answer = first
        q = self.query
        while True:
            stage = self.pipe.aggregation
            signal = stage.boards_changed if stage is not None else None
            seen = signal.version if signal is not None else 0
            if answer is None:
                try:
                    answer = self.answer()
                except BoardError:
                    return  # the page connects again and gets the refusal
            if answer is None or signal is None:
                return  # the stage moved to another worker: the page connects again
            rows, team = answer["rows"], answer.get("team")
            if self.public:  # rows reduced to the public columns, no team figures
                rows, team = [public_row(r) for r in rows], None
            data = orjson.dumps({"board": q.board, "period": q.period, "metric": q.metric, "rows": rows, "team": team})
            if data != last:
                await resp.write(b"data: " + data + b"\n\n")
                last, idle = data, 0.0
            answer = None
            # Pushed right after a flush moved the boards, and only then.
            started = loop.time()
            await signal.wait(seen, HEARTBEAT_SECONDS - idle)
            idle += loop.time() - started
            if idle >= HEARTBEAT_SECONDS:
                await resp.write(HEARTBEAT)
                idle = 0.0
