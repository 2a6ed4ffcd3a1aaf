"""Where a rep's scorecard request goes with partitioned stages (streams/scorecard_sources.py):
the worker Faust's assignor gives the rep's partition of ``sales.rep-facts``, found from
the assignment alone (a worker whose producer never sent to that topic has no metadata of
its partitions), 503 while no worker holds it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.exceptions import SameNode
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

from sales_scorecard.streams.fact_routes import partition_of
from sales_scorecard.streams.scorecard_sources import rep_source

HERE, THERE = "http://w1:6066", "http://w2:6067"
REP_IDS = ["r1", "r2", "r10", "0", "销售-007", "ü" * 3, "x" * 500, "rep with spaces"]


def source_on(distribution: dict[str, dict[str, list[int]]]) -> tuple[Any, list[str]]:
    """The rep source of a worker at ``HERE`` (a real Faust app, its producer never started),
    and the URLs it forwards to."""
    app = faust.App("sources-test", broker="kafka://localhost:1", canonical_url=HERE)
    app.assignor.external_topic_distribution = distribution
    topic = app.topic("sales.rep-facts", key_serializer="raw", partitions=4)
    forwarded: list[str] = []
    same_node = app.router._route_req

    async def route_req(url: URL, web: Any, request: Any) -> str:
        if str(url) == HERE:
            return await same_node(url, web, request)  # Faust raises SameNode before any request
        forwarded.append(str(url))
        return "answered there"

    app.router._route_req = route_req
    pipe = SimpleNamespace(app=app, rep_facts_topic=topic)
    stages = SimpleNamespace(settings=SimpleNamespace(partitions=4), for_rep=lambda rep_id: None)
    return rep_source(pipe, stages), forwarded  # type: ignore[arg-type]


def test_a_rep_request_goes_to_the_worker_holding_the_reps_partition_without_producer_metadata() -> None:
    source, forwarded = source_on({HERE: {"sales.rep-facts": [0, 1]}, THERE: {"sales.rep-facts": [2, 3]}})
    for rep_id in REP_IDS:
        forwarded.clear()
        call = source.route(rep_id, None, None)
        if partition_of(rep_id, 4) in (0, 1):
            with pytest.raises(SameNode):
                asyncio.run(call)
            assert forwarded == []
        else:
            assert asyncio.run(call) == "answered there"
            assert forwarded == [THERE], rep_id


def test_a_rep_whose_partition_no_worker_holds_yet_is_answered_503() -> None:
    # a rebalance: the assignment names no worker for partitions 2 and 3
    source, forwarded = source_on({HERE: {"sales.rep-facts": [0, 1]}})
    rep_id = next(r for r in REP_IDS if partition_of(r, 4) >= 2)
    with pytest.raises(ServiceUnavailable):
        asyncio.run(source.route(rep_id, None, None))
    assert forwarded == []
