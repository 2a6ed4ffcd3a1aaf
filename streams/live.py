"""What the live leaderboard page (``/``, served by ``streams.page_assets``) reads: the
boards list and the server-sent event stream.

``/api/boards`` lists the boards and periods to choose from and the currency money is shown
in. ``/api/stream?board=&period=&metric=`` is an SSE stream that pushes the ranked rows
whenever they change. On the worker that owns the aggregation stage the rows come from its
board cache, pushed as soon as a flush moved them; any other worker relays the owner's
``/api/leaderboard`` answer (with the caller's ``Authorization`` header, or the token of
their sign-in cookie, asked every 250 ms), so the page works on every worker. A token-less
request let in by the public-leaderboard setting gets rows of name, team, rank and value
only.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import ClientSession, ClientTimeout
from aiohttp import web as aioweb
from faust import web as faust_web

from sales_scorecard.core.access import public_row

from .auth import forwarded_authorization, is_public
from .pipeline import Pipeline
from .web import ENGINE_KEY, aiohttp_request, engine_get

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0


def register(pipe: Pipeline) -> None:
    """Attach the boards list and the SSE stream."""
    from sales_scorecard.core.boards import METRICS, BoardError, check_period, current_month, team_summary

    app = pipe.app
    facts = pipe.facts

    @engine_get(pipe, "/api/boards")
    async def boards(view: faust_web.View, request: faust_web.Request, engine: ScorecardEngine) -> faust_web.Response:
        teams = sorted({id for (scope, id) in engine.known if scope == "team"})
        periods = sorted(
            {label for (scope, _), labels in engine.known.items() if scope == "rep" for label in labels},
            reverse=True)
        return view.json({"teams": teams, "periods": periods + ["R30D", "R90D"],
                          "current_period": current_month(engine), "currency": pipe.settings.currency})

    def local_rows(board: str, period: str, metric: str) -> list[dict[str, Any]] | None:
        engine = pipe.engine
        if engine is None:
            return None
        names = {rep: (h.entries[-1].name or rep) for rep, h in engine.roster.reps.items() if h.entries}
        stage = pipe.aggregation
        return stage.boards.board(board, period, metric, names) if stage is not None else None

    def local_team(board: str, period: str) -> dict[str, Any] | None:
        """The team board's manager, score and dimensions (contract §12), None otherwise."""
        engine = pipe.engine
        if engine is None or not board.startswith("team:"):
            return None
        return team_summary(engine, board[5:], period)

    async def owner_rows(session: ClientSession, board: str, period: str, metric: str,
                         authorization: str | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None] | None:
        try:
            url = app.router.key_store(facts.name, ENGINE_KEY)
            headers = {"Authorization": authorization} if authorization else None
            async with session.get(f"{str(url).rstrip('/')}/api/leaderboard", headers=headers,
                                   params={"board": board, "period": period, "metric": metric}) as resp:
                if resp.status != 200:
                    return None
                answer = await resp.json()
                return answer["rows"], answer.get("team")
        except Exception:  # noqa: BLE001 - the owner may be rebalancing; try again next tick
            return None

    @app.page("/api/stream")
    async def stream(self: faust_web.View, request: faust_web.Request) -> Any:
        q = request.query
        board, period, metric = q.get("board", "company"), q.get("period", ""), q.get("metric", "score")
        engine = pipe.engine
        public = is_public(aiohttp_request(request))
        authorization = forwarded_authorization(aiohttp_request(request))
        try:
            if metric not in METRICS:
                raise BoardError(f"metric must be one of {', '.join(METRICS)}")
            if board != "company" and not (board.startswith("team:") and len(board) > 5):
                raise BoardError("board must be 'company' or 'team:<id>'")
            if engine is not None:
                check_period(engine, period)
        except BoardError as exc:
            return self.json({"error": str(exc)}, status=400)
        loop = asyncio.get_running_loop()
        resp = aioweb.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(aiohttp_request(request))
        last: bytes | None = None
        idle = 0.0
        async with ClientSession(timeout=ClientTimeout(total=5)) as session:
            try:
                while True:
                    signal = pipe.aggregation.boards_changed if pipe.aggregation is not None else None
                    seen = signal.version if signal is not None else 0
                    rows = local_rows(board, period, metric)
                    team = local_team(board, period) if rows is not None else None
                    owner = rows is not None
                    if rows is None:
                        relayed = await owner_rows(session, board, period, metric, authorization)
                        rows, team = relayed if relayed is not None else (None, None)
                    if rows is not None:
                        if public:  # rows reduced to the public columns, no team figures
                            rows, team = [public_row(r) for r in rows], None
                        data = orjson.dumps({"board": board, "period": period, "metric": metric, "rows": rows,
                                             "team": team})
                        if data != last:
                            await resp.write(b"data: " + data + b"\n\n")
                            last, idle = data, 0.0
                    if owner and signal is not None:
                        # The owner pushes right after a flush moved the boards, and only then.
                        started = loop.time()
                        await signal.wait(seen, HEARTBEAT_SECONDS - idle)
                        idle += loop.time() - started
                    else:
                        # Another worker relays the owner's rows, asked at a steady pace.
                        await asyncio.sleep(POLL_SECONDS)
                        idle += POLL_SECONDS
                    if idle >= HEARTBEAT_SECONDS:
                        await resp.write(b": keep-alive\n\n")
                        idle = 0.0
            except (ConnectionResetError, asyncio.CancelledError):
                pass
        return resp
