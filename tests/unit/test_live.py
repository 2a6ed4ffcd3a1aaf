"""``/api/stream`` (``streams/live.py``) of a worker with a real Faust app (no broker) over
aiohttp's test server: a worker without whole boards relays the owner's stream, one named
the owner but not loaded refuses a relayed request (503) instead of relaying it again, and
the owner a page connected to while it loaded serves the page itself once its boards are
whole, not its own stream through localhost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import faust
from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from sales_scorecard.streams import live
from sales_scorecard.streams.aggregation import AggregationStage
from sales_scorecard.streams.fact_batches import Batch
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.stream_relay import RELAYED_HEADER
from tests.unit.test_aggregation_stage import NOVEMBER, Outputs, new_tables, stage_over
from tests.unit.test_stream_relay import TIMEOUT, A, Owner, events, sending

QUERY = {"board": "company", "period": "2026-11", "metric": "revenue"}


class Worker:
    """The part of ``streams.pipeline.Pipeline`` the live views read, with a stage to swap."""

    def __init__(self, stage: AggregationStage) -> None:
        self.settings = Settings()
        self.app = faust.App("live-test", broker="kafka://localhost:1")
        self.facts = SimpleNamespace(name="facts")
        self.aggregation: AggregationStage | None = stage
        self.owner = URL("http://owner.invalid")
        self.app.router.key_store = lambda table, key: self.owner  # type: ignore[method-assign]
        live.register(self)  # type: ignore[arg-type]

    @property
    def engine(self) -> Any:
        return self.aggregation.engine if self.aggregation is not None else None


def loading_stage() -> AggregationStage:
    """A stage whose board cache is not whole yet (nothing flushed)."""
    stage, _ = stage_over(new_tables(), Outputs())
    assert not stage.boards_ready
    return stage


def ready_stage() -> AggregationStage:
    """A stage whose first flush ranked r1's November (10,000.00 of revenue)."""
    stage, _ = stage_over(new_tables(), Outputs())
    asyncio.run(stage.on_batch(Batch(NOVEMBER), offset=0))
    assert stage.boards_ready
    return stage


def serve(worker: Worker, scenario: Callable[[TestClient], Awaitable[None]],
          owner: Owner | None = None) -> None:
    async def main() -> None:
        if owner is not None:
            owner_server = TestServer(owner.app)
            await owner_server.start_server()
            worker.owner = owner_server.make_url("/")
        try:
            async with TestClient(TestServer(worker.app.web.web_app)) as client:
                await asyncio.wait_for(scenario(client), TIMEOUT)
        finally:
            if owner is not None:
                await owner_server.close()

    asyncio.run(main())


def test_a_worker_without_whole_boards_relays_the_owners_stream() -> None:
    owner = Owner(sending(A))

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream", params=QUERY, headers={"Authorization": "Bearer tok"})
        assert resp.status == 200
        assert await events(resp, 1) == [A]
        resp.close()

    serve(Worker(loading_stage()), scenario, owner)
    assert owner.asked == [{"query": QUERY, "authorization": "Bearer tok", "relayed": "1"}]


def test_a_relayed_request_to_a_worker_without_whole_boards_is_refused_not_relayed_again() -> None:
    # The worker the relaying one took for the owner is not loaded: relaying on would send
    # the request to the owner's address again, that is to itself, over and over.
    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/stream", params=QUERY, headers={RELAYED_HEADER: "1"})
        assert resp.status == 503
        assert await resp.json() == {"error": "not ready: the aggregation engine is loading"}

    loading, unassigned = Worker(loading_stage()), Worker(loading_stage())
    unassigned.aggregation = None  # no stage at all (the assignment has not come yet): refused the same
    for worker in (loading, unassigned):
        owner = Owner()
        serve(worker, scenario, owner)
        assert owner.asked == []


def test_the_owner_a_page_connected_to_while_it_loaded_serves_the_page_itself_once_ready() -> None:
    worker = Worker(loading_stage())
    ready = ready_stage()
    relayed: list[bool] = []  # for each request the worker relayed to itself: were its boards whole?

    @aioweb.middleware
    async def record(request: aioweb.Request, handler: Any) -> aioweb.StreamResponse:
        if not request.headers.get(RELAYED_HEADER):
            return await handler(request)
        relayed.append(worker.aggregation is ready)
        resp = await handler(request)
        worker.aggregation = ready  # the boards are whole right after the first refusal
        return resp

    worker.app.web.web_app.middlewares.append(record)

    async def scenario(client: TestClient) -> None:
        worker.owner = client.make_url("/")  # the worker is the owner
        resp = await client.get("/api/stream", params=QUERY)
        assert resp.status == 200
        (got,) = await events(resp, 1)
        # r1 alone on November's board: 10,000.00 of revenue (tests/unit/test_aggregation_stage.py NOVEMBER)
        assert got["board"] == "company" and got["period"] == "2026-11" and got["metric"] == "revenue"
        assert [(r["rank"], r["rep_id"], r["value"]) for r in got["rows"]] == [(1, "r1", "10000.00")]
        resp.close()

    serve(worker, scenario)
    # One request to itself while loading (refused); none once its boards were whole.
    assert relayed == [False]
