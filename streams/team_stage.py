"""The team stage: team scorecards and team alerts, one stage per partition.

A team-stage partition owns the teams hashed to it (``partition_of(team_id)``; the
``unassigned`` team is no partition's). The org stage sends it every fact its teams'
figures read (``streams.team_routes``), with the organisation's event clock. A worker
holds one ``TeamPartitionStage`` per partition it is assigned: its own engine
(``core.engine.team_partition``), its own rows of the stage's tables (``PartitionView``)
and its own pacing, as a rep partition does (``streams.rep_stage``). It pays nobody and
ranks nothing; the awards' team figures are the org stage's, whose engine keeps every
team's.

The org stage published the team scorecards and raised the team alerts before a team
stage ran. After each of its rebuilds it hands each team partition what it recorded of
them (``handover``: revisions and alert states): a deployment that starts running the
team stage goes on from those revisions instead of publishing revision 1 again, and
does not raise an alert that is already firing again.

A team partition whose rebuild finds no fact (its first start, or the first start of a
deployment's team stage) asks the org stage for them (``team_requests``); the org stage
sends it every stored fact it needs (``TeamRoutes.bootstrap``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sales_scorecard.core.disputes import AdjustmentRequest
from sales_scorecard.core.engine import EngineRole, Outcome, ScorecardEngine, team_partition
from sales_scorecard.core.periods import parse_timestamp

from .aggregation import AggregationStage, StageOutputs, StageTables
from .fact_batches import Batch, encode_rows
from .fact_routes import partition_of
from .metrics import Metrics
from .partition_stages import PartitionStages
from .publisher import Send
from .render_budget import RenderBudget
from .settings import Settings


class TeamPartitionStage(AggregationStage):
    """The team scorecards and team alerts of the teams of one partition."""

    def __init__(self, settings: Settings, partition: int, tables: StageTables, outputs: StageOutputs,
                 metrics: Metrics, send_to_org: Send, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None) -> None:
        super().__init__(settings, tables, outputs, metrics, monotonic, budget)
        self.partition = partition
        self.name = f"team:{partition}"
        self.stage_label = "team"
        # the org stage's engine and clock are the worker's; this one follows them
        self.owns_worker_gauges = False
        self._send_to_org = send_to_org
        #: whether the rebuild found no fact: the org stage is asked for them
        self._asks = False

    def engine_role(self) -> EngineRole:
        partitions, mine = self.settings.partitions, self.partition
        return team_partition(lambda team_id: partition_of(team_id, partitions) == mine, share=partitions)

    def _count(self, kind: str, outcome: Outcome) -> None:
        """Counted once, by the org stage, which applied the input (a per-partition count
        comes with the worker's team stage)."""

    async def _before_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        if batch.clock:
            engine.advance_clock(parse_timestamp(batch.clock))
        for row in batch.handover:
            self._take_over(row)

    def _take_over(self, row: dict[str, Any]) -> None:
        """Keep what the org stage recorded of one of this partition's team keys when it
        published them itself (before the team stage ran): the revision goes on from the
        higher one, an alert state is kept unless this partition has its own."""
        key, value = row["key"], row["value"]
        if row["table"] == "emitted":
            held = self.tables.emitted.get(key)
            if held is None or held[0] < value[0]:
                self.tables.emitted[key] = value
        elif self.tables.alert_state.get(key) is None:
            self.tables.alert_state[key] = value

    def _replay(self, engine: ScorecardEngine) -> tuple[int, list[AdjustmentRequest]]:
        loaded, requests = super()._replay(engine)
        self._asks = loaded == 0
        return loaded, requests

    async def _after_run(self, engine: ScorecardEngine) -> None:
        if self._asks:
            # What is stored is lost with nothing: a partition that asks is sent every
            # stored fact it needs again, and the facts routed to it meanwhile are
            # version-gated duplicates.
            self._asks = False
            for value in encode_rows("team_requests", [{"partition": self.partition}]):
                await self._send_to_org(b"rows", value)

    async def _decide_awards(self, engine: ScorecardEngine, posted_at: str) -> None:
        """The org stage decides the awards from its own team figures."""

    async def _resend_awards(self) -> None:
        """Nothing recorded here to send again."""


class TeamStages(PartitionStages[TeamPartitionStage]):
    """The team partition stages of one worker, created as their partitions' messages come."""

    def _new(self, partition: int, tables: StageTables) -> TeamPartitionStage:
        return TeamPartitionStage(self.settings, partition, tables, self.outputs, self.metrics, self.send_to_org,
                       self.monotonic, self.budget)
