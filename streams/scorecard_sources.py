"""Where the query API serves each scope's scorecards and explanations (docs/web-api.md).

A scope's source says how Faust's router finds the worker that answers, the engine that
renders the scorecard there and the revision that worker last published for it:

- company scorecards, the ``unassigned`` team's, and every scorecard with
  ``SCORECARD_STAGES=single``: the stage on ``sales.facts``, routed to the owner of ``ENGINE_KEY`` in its one-partition
  ``facts`` table; its engine and its ``emitted`` table;
- rep scorecards with ``SCORECARD_STAGES=partitioned``: the rep stage partition that owns
  the rep, ``partition_of(rep_id)`` of ``sales.rep-facts``, whose ``RepPartitionStage``
  renders and publishes the rep's scorecards; the request goes to the worker Faust's
  assignor gives that partition (503 while none is known, a rebalance); the revision is
  the one in that partition's own ``rep_emitted`` rows. (Not Faust's topic route: it asks
  the producer's metadata for the topic's partitions and fails (500, not 503) while the
  producer holds none of ``sales.rep-facts``: before it started, or once it tracks only
  the topics it sent to (aiokafka then fetches no other). Nor a route by the rep
  stage's tables: their keys are str, which Faust serializes as JSON, so the router would
  hash ``"r1"`` with its quotes, another partition.)
- team scorecards with ``SCORECARD_STAGES=partitioned``: the same way, the team stage
  partition that owns the team, ``partition_of(team_id)`` of ``sales.team-facts``
  (``TeamPartitionStage``), and its own ``team_emitted`` rows.

A forwarded rep request is forwarded once (``forward_once``, Faust's forwarding plus a
header): while two workers disagree about the assignment during a rebalance, the one a
request reached second answers it itself if it holds the partition, else 503, instead of
sending it back to the first until they agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faust
from faust.exceptions import SameNode
from faust.types import AppT
from faust.types.assignor import HostToPartitionMap
from faust.web import Request, Response, Web
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

from sales_scorecard.core.roster import UNASSIGNED

from .fact_routes import partition_of
from .pipeline import Pipeline

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine

    from .partition_stages import PartitionStages
    from .team_stage import TeamStages

#: The key whose owner serves the org stage's queries: its tables have one partition.
ENGINE_KEY = "engine"
#: A request one worker forwarded to another carries this header; it is not forwarded again.
FORWARDED_HEADER = "X-Scorecard-Forwarded"


@dataclass(frozen=True)
class ScorecardSource:
    """Where one scope's scorecards are answered (see the module docstring)."""

    #: forwards the request of a scorecard id to the worker that answers it; raises
    #: ``SameNode`` when that is this worker (Faust's ``Router.route_req``)
    route: Callable[[str, Web, Request], Awaitable[Response]]
    #: the loaded engine that renders the id's scorecards on this worker, else None
    engine: Callable[[str], ScorecardEngine | None]
    #: the revision last published of (id, scorecard key) on this worker, None if never
    revision: Callable[[str, str], int | None]
    #: what a 503 says while ``engine`` is None
    loading: str


def org_source(pipe: Pipeline) -> ScorecardSource:
    """The stage on ``sales.facts``: the whole computation, or the org stage."""
    emitted = pipe.emitted

    def revision(id: str, key: str) -> int | None:
        row = emitted.get(key)
        return row[0] if row else None

    def route(id: str, web: Web, request: Request) -> Awaitable[Response]:
        return pipe.app.router.route_req(pipe.facts.name, ENGINE_KEY, web, request)

    return ScorecardSource(route, lambda id: pipe.engine, revision, "the aggregation engine is loading")


def partition_source(pipe: Pipeline, stages: PartitionStages[Any], topic: faust.TopicT,
                     loading: str) -> ScorecardSource:
    """The partition of a partitioned stage that owns the id: the rep stage's for a rep,
    the team stage's for a team (partitioned stages)."""
    def engine(id: str) -> ScorecardEngine | None:
        stage = stages.owner(id)
        return stage.answering if stage is not None else None

    def revision(id: str, key: str) -> int | None:
        stage = stages.owner(id)
        row = stage.tables.emitted.get(key) if stage is not None else None
        return row[0] if row else None

    name = topic.get_topic_name()

    def route(id: str, web: Web, request: Request) -> Awaitable[Response]:
        router = pipe.app.router
        url = partition_owner(router.external_topics_metadata(), name, partition_of(id, stages.settings.partitions))
        if url is None:
            raise ServiceUnavailable()
        return forward_once(pipe.app, URL(url), web, request)

    return ScorecardSource(route, engine, revision, loading)


def team_source(pipe: Pipeline, stages: TeamStages) -> ScorecardSource:
    """The team stage partition of the team; ``unassigned``'s scorecards are the org
    stage's (no team partition owns that team)."""
    teams = partition_source(pipe, stages, pipe.team_facts_topic, "the team stage partition of this team is loading")
    org = org_source(pipe)

    def of(team_id: str) -> ScorecardSource:
        return org if team_id == UNASSIGNED else teams

    return ScorecardSource(lambda id, web, request: of(id).route(id, web, request), lambda id: of(id).engine(id),
                           lambda id, key: of(id).revision(id, key), teams.loading)


def _host_and_port(url: URL) -> tuple[str, int]:
    """A worker's identity in a URL, as Faust's router compares them."""
    return (url.host if url.scheme else url.path) or "", int(url.port or 80)


async def forward_once(app: AppT, url: URL, web: Web, request: Request) -> Response:
    """The answer of the worker at ``url`` to ``request`` (``SameNode`` when that is this
    worker, which then answers it itself); a request forwarded here already is refused
    (``ServiceUnavailable``, 503) rather than forwarded again."""
    if _host_and_port(url) == _host_and_port(URL(str(app.conf.canonical_url))):
        raise SameNode()
    if request.headers.get(FORWARDED_HEADER):
        raise ServiceUnavailable()
    headers = {**request.headers, FORWARDED_HEADER: "1"}
    routed = request.url.with_host(url.host or "").with_port(url.port)
    async with app.http_client.request(method=request.method, headers=headers, url=routed) as response:
        return web.text(await response.text(), content_type=response.content_type, status=response.status)


def partition_owner(distribution: HostToPartitionMap, topic: str, partition: int) -> str | None:
    """The URL of the worker Faust's assignor gives ``partition`` of ``topic``; None while
    no worker is known to hold it."""
    for url, topics in distribution.items():
        if partition in topics.get(topic, ()):
            return url
    return None


def scorecard_sources(pipe: Pipeline) -> dict[str, ScorecardSource]:
    """Scope -> its source on this worker's pipeline (the agents must be registered first)."""
    org = org_source(pipe)
    sources = {"rep": org, "team": org, "company": org}
    if pipe.rep_stages is not None:
        sources["rep"] = partition_source(pipe, pipe.rep_stages, pipe.rep_facts_topic,
                                          "the rep stage partition of this rep is loading")
    if pipe.team_stages is not None:
        sources["team"] = team_source(pipe, pipe.team_stages)
    return sources
