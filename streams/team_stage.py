"""The team stage: team scorecards and team alerts, one stage per partition.

A team-stage partition owns the teams hashed to it (``partition_of(team_id)``; the
``unassigned`` team is no partition's). The org stage sends it every fact its teams'
figures read (``streams.team_routes``), with the organisation's event clock. A worker
holds one ``TeamPartitionStage`` per partition it is assigned: its own engine
(``core.engine.team_partition``), its own rows of the stage's tables (``PartitionView``)
and its own pacing, as a rep partition does (``streams.rep_stage``). It pays nobody and
ranks nothing; the awards' team figures are the org stage's, whose engine keeps every
team's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sales_scorecard.core.engine import EngineRole, Outcome, ScorecardEngine, team_partition
from sales_scorecard.core.periods import parse_timestamp
from sales_scorecard.core.roster import UNASSIGNED

from .aggregation import AggregationStage, StageOutputs, StageTables
from .fact_batches import Batch
from .fact_routes import partition_of
from .metrics import Metrics
from .partition_stages import PartitionStages
from .render_budget import RenderBudget
from .settings import Settings


class TeamPartitionStage(AggregationStage):
    """The team scorecards and team alerts of the teams of one partition."""

    def __init__(self, settings: Settings, partition: int, tables: StageTables, outputs: StageOutputs,
                 metrics: Metrics, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None) -> None:
        super().__init__(settings, tables, outputs, metrics, monotonic, budget)
        self.partition = partition
        self.name = f"team:{partition}"
        self.stage_label = "team"
        # the org stage's engine and clock are the worker's; this one follows them
        self.owns_worker_gauges = False

    def engine_role(self) -> EngineRole:
        partitions, mine = self.settings.partitions, self.partition
        return team_partition(lambda team_id: team_id != UNASSIGNED and partition_of(team_id, partitions) == mine,
                              share=partitions)

    def _count(self, kind: str, outcome: Outcome) -> None:
        """Counted once, by the org stage, which applied the input (a per-partition count
        comes with the worker's team stage)."""

    async def _before_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        if batch.clock:
            engine.advance_clock(parse_timestamp(batch.clock))

    async def _decide_awards(self, engine: ScorecardEngine, posted_at: str) -> None:
        """The org stage decides the awards from its own team figures."""

    async def _resend_awards(self) -> None:
        """Nothing recorded here to send again."""


class TeamStages(PartitionStages[TeamPartitionStage]):
    """The team partition stages of one worker, created as their partitions' messages come."""

    def __init__(self, settings: Settings, tables: StageTables, outputs: StageOutputs, metrics: Metrics,
                 monotonic: Callable[[], float] = time.monotonic, budget: RenderBudget | None = None) -> None:
        super().__init__(settings, tables)
        self.outputs, self.metrics = outputs, metrics
        self._monotonic = monotonic
        #: the worker's loop time for flushes off the cadence, shared with its other stages
        self.budget = budget if budget is not None else RenderBudget()

    def _new(self, partition: int, tables: StageTables) -> TeamPartitionStage:
        return TeamPartitionStage(self.settings, partition, tables, self.outputs, self.metrics, self._monotonic,
                                  self.budget)
