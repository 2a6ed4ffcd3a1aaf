"""Where a rep's scorecard request goes with partitioned stages (streams/scorecard_sources.py):
the worker Faust's assignor gives the rep's partition of ``sales.rep-facts``, found from
the assignment alone (a worker whose producer never sent to that topic has no metadata of
its partitions), 503 while no worker holds it; a forwarded request is not forwarded again."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.exceptions import SameNode
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

from sales_scorecard.streams.fact_routes import partition_of
from sales_scorecard.streams.scorecard_sources import FORWARDED_HEADER, partition_source

HERE, THERE = "http://w1:6066", "http://w2:6067"
REP_IDS = ["r1", "r2", "r10", "0", "销售-007", "ü" * 3, "x" * 500, "rep with spaces"]


class HttpClient:
    """Records the requests a worker forwards; answers each as the other worker would."""

    def __init__(self) -> None:
        #: (method, url, headers) of every request sent
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    @contextlib.asynccontextmanager
    async def request(self, method: str, headers: dict[str, str], url: URL) -> Any:
        self.sent.append((method, str(url), dict(headers)))
        yield SimpleNamespace(status=200, content_type="application/json", text=_text('{"answered": "there"}'))


def _text(body: str) -> Any:
    async def text() -> str:
        return body
    return text


WEB = SimpleNamespace(text=lambda value, content_type, status: (value, content_type, status))


def incoming(path: str = "/api/scorecards/rep/r1/2026-11", **headers: str) -> Any:
    """A request as this worker received it."""
    return SimpleNamespace(method="GET", url=URL(HERE + path), headers={"Authorization": "Bearer t", **headers})


def source_on(distribution: dict[str, dict[str, list[int]]]) -> tuple[Any, HttpClient]:
    """The rep source of a worker at ``HERE`` (a real Faust app, its producer never started),
    and the requests it forwards."""
    app = faust.App("sources-test", broker="kafka://localhost:1", canonical_url=HERE)
    app.assignor.external_topic_distribution = distribution
    client = HttpClient()
    app._http_client = client
    topic = app.topic("sales.rep-facts", key_serializer="raw", partitions=4)
    pipe = SimpleNamespace(app=app)
    stages = SimpleNamespace(settings=SimpleNamespace(partitions=4), owner=lambda rep_id: None)
    return partition_source(pipe, stages, topic, "loading"), client  # type: ignore[arg-type]


def test_a_rep_request_goes_to_the_worker_holding_the_reps_partition_without_producer_metadata() -> None:
    source, client = source_on({HERE: {"sales.rep-facts": [0, 1]}, THERE: {"sales.rep-facts": [2, 3]}})
    for rep_id in REP_IDS:
        client.sent.clear()
        call = source.route(rep_id, WEB, incoming())
        if partition_of(rep_id, 4) in (0, 1):
            with pytest.raises(SameNode):
                asyncio.run(call)
            assert client.sent == []
        else:
            assert asyncio.run(call) == ('{"answered": "there"}', "application/json", 200)
            assert [url for _, url, _ in client.sent] == [THERE + "/api/scorecards/rep/r1/2026-11"], rep_id


def test_a_rep_whose_partition_no_worker_holds_yet_is_answered_503() -> None:
    # a rebalance: the assignment names no worker for partitions 2 and 3
    source, client = source_on({HERE: {"sales.rep-facts": [0, 1]}})
    rep_id = next(r for r in REP_IDS if partition_of(r, 4) >= 2)
    with pytest.raises(ServiceUnavailable):
        asyncio.run(source.route(rep_id, WEB, incoming()))
    assert client.sent == []


def test_a_forwarded_request_keeps_its_method_path_query_and_credentials_and_is_marked() -> None:
    source, client = source_on({THERE: {"sales.rep-facts": [0, 1, 2, 3]}})
    asyncio.run(source.route("r1", WEB, incoming("/api/scorecards/rep/r1/2026-11/explain?x=1")))
    [(method, url, headers)] = client.sent
    assert (method, url) == ("GET", THERE + "/api/scorecards/rep/r1/2026-11/explain?x=1")
    assert headers == {"Authorization": "Bearer t", FORWARDED_HEADER: "1"}


def test_a_request_forwarded_here_is_answered_here_or_503_never_forwarded_again() -> None:
    # Mid-rebalance: the worker that forwarded it believes this one holds the partition,
    # this one believes the other does. Without the mark the two would bounce it.
    rep_id = next(r for r in REP_IDS if partition_of(r, 4) >= 2)
    source, client = source_on({HERE: {"sales.rep-facts": [0, 1]}, THERE: {"sales.rep-facts": [2, 3]}})
    with pytest.raises(ServiceUnavailable):
        asyncio.run(source.route(rep_id, WEB, incoming(**{FORWARDED_HEADER: "1"})))
    assert client.sent == []
    # once this worker holds the partition it answers the forwarded request itself
    source, client = source_on({HERE: {"sales.rep-facts": [0, 1, 2, 3]}})
    with pytest.raises(SameNode):
        asyncio.run(source.route(rep_id, WEB, incoming(**{FORWARDED_HEADER: "1"})))
    assert client.sent == []
