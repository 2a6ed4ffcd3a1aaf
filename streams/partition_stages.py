"""The stages of one worker for the partitions it holds of a partitioned stage."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from .aggregation import AggregationStage, StageOutputs, StageTables
from .fact_routes import partition_of
from .metrics import Metrics
from .partition_view import PartitionView
from .publisher import Send
from .render_budget import RenderBudget
from .settings import Settings

S = TypeVar("S", bound=AggregationStage)


class PartitionStages(Generic[S]):
    """One stage per partition this worker holds, created as the partition's messages
    come, each over its own rows of the stage's tables (``PartitionView``), all sending
    back to the org stage with ``send_to_org``."""

    def __init__(self, settings: Settings, tables: StageTables, outputs: StageOutputs, metrics: Metrics,
                 send_to_org: Send, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None) -> None:
        self.settings, self.tables, self.outputs, self.metrics = settings, tables, outputs, metrics
        self.send_to_org = send_to_org
        self.monotonic = monotonic
        #: the worker's loop time for flushes off the cadence, shared by every stage of the worker
        self.budget = budget if budget is not None else RenderBudget()
        self.stages: dict[int, S] = {}

    def _new(self, partition: int, tables: StageTables) -> S:
        """A new stage of ``partition`` over its rows of the tables."""
        raise NotImplementedError

    def stage(self, partition: int) -> S:
        """The stage of ``partition`` (new and empty the first time: it rebuilds on its first message)."""
        stage = self.stages.get(partition)
        if stage is None:
            t = self.tables
            views = StageTables(
                facts=PartitionView(t.facts, partition), emitted=PartitionView(t.emitted, partition),
                payroll_state=PartitionView(t.payroll_state, partition),
                boards_emitted=PartitionView(t.boards_emitted, partition),
                alert_state=PartitionView(t.alert_state, partition),
                award_reports=PartitionView(t.award_reports, partition))
            stage = self.stages[partition] = self._new(partition, views)
        return stage

    def owner(self, key: str) -> S | None:
        """The loaded stage of the partition ``key`` (a rep or team id) hashes to, if held here."""
        return self.stages.get(partition_of(key, self.settings.partitions))

    def assign(self, partitions: set[int]) -> None:
        """This worker holds these partitions now: their stages report a rebuild owed."""
        for partition in partitions:
            self.stage(partition).on_assigned()

    def revoke(self, partitions: set[int]) -> None:
        """Drop the stages of partitions this worker no longer holds."""
        for partition in partitions:
            stage = self.stages.pop(partition, None)
            if stage is not None:
                stage.on_revoked()
