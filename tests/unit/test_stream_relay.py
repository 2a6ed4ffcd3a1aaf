"""The relay of the owner's ``/api/stream`` (``streams.stream_relay``) against a local aiohttp
server that plays the owner: events relayed as they come over one streaming request, the
caller's credentials sent along, a reconnection after the owner goes away (an event equal
to the last one not sent twice), the owner's refusal passed through, public rows reduced,
and an event of a whole large board relayed intact."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient, TestServer

from sales_scorecard.streams.stream_relay import RELAYED_HEADER, Backoff, LocalStream, OwnerStream, Relay

#: generous: only a broken relay waits this long
TIMEOUT = 20.0

Plan = Callable[[aioweb.Request], Awaitable[aioweb.StreamResponse]]


def event(rows: list[dict[str, Any]], team: Any = None) -> dict[str, Any]:
    return {"board": "company", "period": "2026-11", "metric": "revenue", "rows": rows, "team": team}


def row(rank: int, rep: str, value: str) -> dict[str, Any]:
    return {"rank": rank, "rep_id": rep, "name": f"Rep {rep}", "team_id": "t1", "value": value, "revenue": value,
            "attainment": None, "score": 50.0, "top_percent": 50.0, "top_decile": False}


A = event([row(1, "r1", "300.00"), row(2, "r2", "100.00")])
B = event([row(1, "r2", "400.00"), row(2, "r1", "300.00")])
C = event([row(1, "r3", "900.00"), row(2, "r2", "400.00"), row(3, "r1", "300.00")])


async def sse(request: aioweb.Request) -> aioweb.StreamResponse:
    resp = aioweb.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    return resp


async def send(resp: aioweb.StreamResponse, data: dict[str, Any]) -> None:
    await resp.write(b"data: " + orjson.dumps(data) + b"\n\n")


def sending(*data: dict[str, Any]) -> Plan:
    """An owner's plan for one connection: send these events, then stay open."""
    async def plan(request: aioweb.Request) -> aioweb.StreamResponse:
        resp = await sse(request)
        for one in data:
            await send(resp, one)
        await asyncio.sleep(TIMEOUT)
        return resp

    return plan


class Owner:
    """An owner whose n-th connection follows the n-th plan; it records what it was asked."""

    def __init__(self, *plans: Plan) -> None:
        self.plans = list(plans)
        self.asked: list[dict[str, Any]] = []
        self.app = aioweb.Application()
        self.app.router.add_get("/api/stream", self.stream)

    async def stream(self, request: aioweb.Request) -> aioweb.StreamResponse:
        self.asked.append({"query": dict(request.query), "authorization": request.headers.get("Authorization"),
                           "relayed": request.headers.get(RELAYED_HEADER)})
        plan = self.plans.pop(0) if self.plans else self.quiet
        return await plan(request)

    @staticmethod
    async def quiet(request: aioweb.Request) -> aioweb.StreamResponse:
        resp = await sse(request)
        await asyncio.sleep(TIMEOUT)
        return resp


async def events(resp: Any, count: int) -> list[dict[str, Any]]:
    """The first ``count`` data events of an SSE response (heartbeats skipped)."""
    out: list[dict[str, Any]] = []
    buffer = b""
    async for chunk in resp.content.iter_any():
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            if block.startswith(b"data: "):
                out.append(orjson.loads(block[6:]))
                if len(out) == count:
                    return out
    return out


def run(owner: Owner, scenario: Callable[[TestClient], Awaitable[None]], authorization: str | None = "Bearer tok",
        public: bool = False, local: LocalStream | None = None) -> None:
    async def main() -> None:
        async with TestServer(owner.app) as owner_server:
            async def relayed(request: aioweb.Request) -> aioweb.StreamResponse:
                target = OwnerStream(lambda: str(owner_server.make_url("/")),
                                     {"board": "company", "period": "2026-11", "metric": "revenue"},
                                     authorization, public)
                return await Relay(target, Backoff(0.01, 0.05), local).serve(request)

            app = aioweb.Application()
            app.router.add_get("/api/stream", relayed)
            async with TestClient(TestServer(app)) as client:
                await asyncio.wait_for(scenario(client), TIMEOUT)

    asyncio.run(main())


def test_events_are_relayed_as_they_come_and_again_after_the_owner_went_away() -> None:
    moved = asyncio.Event()

    async def first(request: aioweb.Request) -> aioweb.StreamResponse:
        resp = await sse(request)
        await send(resp, A)
        await resp.write(b": keep-alive\n\n")
        await moved.wait()  # a deal moved the board
        await send(resp, B)
        return resp  # then the owner goes away (a rebalance): the stream ends

    async def away(request: aioweb.Request) -> aioweb.StreamResponse:
        return aioweb.json_response({"error": "not ready: the aggregation engine is loading"}, status=503)

    async def second(request: aioweb.Request) -> aioweb.StreamResponse:
        resp = await sse(request)
        await send(resp, B)  # a new owner starts with the board as it is: nothing new for the page
        await send(resp, C)
        await asyncio.sleep(TIMEOUT)
        return resp

    owner = Owner(first, away, second)

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream")
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
        assert await events(resp, 1) == [A]  # before anything moved: one request, no polling
        assert len(owner.asked) == 1
        moved.set()
        assert await events(resp, 2) == [B, C]  # B once, although the second owner sent it again
        resp.close()

    run(owner, scenario)
    # One streaming request per connection (the first, the refused one, the second), each
    # with the caller's token, the stream's query and the relayed mark.
    assert owner.asked == [{"query": {"board": "company", "period": "2026-11", "metric": "revenue"},
                            "authorization": "Bearer tok", "relayed": "1"}] * 3


def test_the_owners_refusal_is_the_callers_answer() -> None:
    async def refuse(request: aioweb.Request) -> aioweb.StreamResponse:
        return aioweb.json_response({"error": "this token may not read this resource"}, status=403)

    owner = Owner(refuse)

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream")
        assert resp.status == 403
        assert await resp.json() == {"error": "this token may not read this resource"}

    run(owner, scenario, authorization="Bearer payroll")


def test_a_public_caller_gets_public_rows_only() -> None:
    owner = Owner(sending(event([row(1, "r1", "300.00")], team={"team_id": "t1", "score": 80.0})))

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream")
        (got,) = await events(resp, 1)
        # Contract: a token-less office screen sees rank, name, team, value and percentiles.
        assert got["rows"] == [{"rank": 1, "name": "Rep r1", "team_id": "t1", "value": "300.00",
                                "top_percent": 50.0, "top_decile": False}]
        assert got["team"] is None
        resp.close()

    run(owner, scenario, authorization=None, public=True)
    assert owner.asked[0]["authorization"] is None


def test_an_event_of_a_whole_large_board_is_relayed_intact() -> None:
    big = event([row(i + 1, f"rep{i:05d}", f"{10_000 - i}.00") for i in range(3_000)])  # about 600 kB, one line

    async def large(request: aioweb.Request) -> aioweb.StreamResponse:
        resp = await sse(request)
        data = b"data: " + orjson.dumps(big) + b"\n\n"
        for start in range(0, len(data), 7_000):  # in pieces, as a socket delivers it
            await resp.write(data[start:start + 7_000])
        await asyncio.sleep(TIMEOUT)
        return resp

    owner = Owner(large)

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream")
        assert await events(resp, 1) == [big]
        resp.close()

    run(owner, scenario)


class Here:
    """This worker's own stream of B, whole from the start (it is the owner)."""

    def ready(self) -> bool:
        return True

    async def write(self, resp: aioweb.StreamResponse, first: dict[str, Any] | None = None) -> None:
        await send(resp, B)
        await asyncio.sleep(TIMEOUT)


def test_a_relay_that_reaches_its_own_worker_once_ready_serves_it_from_there() -> None:
    # The page connected while this worker's boards loaded; by the time the owner (this
    # worker, through localhost) answers, they are whole: the worker's own events, not
    # its own stream relayed.
    owner = Owner(sending(A))

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream")
        assert await events(resp, 1) == [B]
        resp.close()

    run(owner, scenario, local=Here())
    assert len(owner.asked) == 1


def test_the_wait_before_connecting_again_doubles_to_its_longest_and_starts_over_after_a_stream() -> None:
    backoff = Backoff(0.25, 5.0)
    assert [backoff.next() for _ in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()  # a connection streamed: the owner was back
    assert [backoff.next() for _ in range(2)] == [0.25, 0.5]
