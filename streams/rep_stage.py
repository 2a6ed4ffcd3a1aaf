"""The rep stage: rep scorecards, rep alerts and payroll, one stage per partition.

``sales.rep-facts`` has the configured number of partitions; the org stage sends each
fact to the partitions that need it (``streams.fact_routes``). A worker holds one
``RepPartitionStage`` per partition it is assigned: its own engine (``core.engine.
rep_partition``: the scorecards and payroll of the reps hashed to it), its own rows of
the stage's tables (``PartitionView``) and its own pacing. Table writes happen while a
message of that partition is processed, so they land in that partition's changelog and
move with it on a rebalance. After each flush the stage sends the org stage the board
rows of the rep scorecards it published and what it paid.

Awards (contract §11): once its payroll for a close is out, the stage reports its reps'
figures of every period the close ends to the org stage and keeps the report
(``core.award_reports.PartitionReports``) until the org stage's decision of the period
comes back, with the events of its winning reps, whose bonuses it posts in their paid
states (``PayrollLedger.post_bonus``: once per id). A rebuild sends every report not
settled yet again; so does a request of the org stage (``award_requests``) after its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from sales_scorecard.core.award_figures import previous_rep_figures, rep_figures
from sales_scorecard.core.award_reports import ReportChunk, report_chunks
from sales_scorecard.core.awards import bonus_request
from sales_scorecard.core.engine import EngineRole, ScorecardEngine, rep_partition
from sales_scorecard.core.payroll import PayrollOutput
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.schemas.records import record_from_event

from .aggregation import StageOutputs, StageTables
from .fact_batches import Batch
from .fact_routes import PREVIOUS, partition_of
from .metrics import Metrics
from .partition_stages import PartitionStage, PartitionStages
from .publisher import Send
from .render_budget import RenderBudget
from .settings import Settings


def board_row(content: dict[str, Any], revision: int) -> dict[str, Any]:
    """What the leaderboards need of a rep scorecard (``core.boards.BoardCache.update``)."""
    kpis = content["kpis"]
    return {"scope": "rep", "id": content["id"], "period": content["period"], "team_id": content["team_id"],
            "score": content["score"], "revision": revision,
            "kpis": {"revenue": kpis["revenue"], "attainment": kpis["attainment"],
                     "weighted_attainment": kpis["weighted_attainment"]}}


class RepPartitionStage(PartitionStage):
    """The rep scorecards, rep alerts and payroll of the reps of one partition."""

    label, rows_field, reports_field = "rep", "board_rows", "award_reports"

    def __init__(self, settings: Settings, partition: int, tables: StageTables, outputs: StageOutputs,
                 metrics: Metrics, send_to_org: Send, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None) -> None:
        super().__init__(settings, partition, tables, outputs, metrics, send_to_org, monotonic, budget)
        self._paid: list[dict[str, Any]] = []
        #: decided periods whose bonuses wait for their month's close here
        self._awaiting: set[str] = set()

    def _fact_counter(self, metrics: Metrics) -> Counter:
        return metrics.rep_facts

    def _done_counter(self) -> Counter:
        return self.metrics.rep_batches_done

    def engine_role(self) -> EngineRole:
        partitions, mine = self.settings.partitions, self.partition
        return rep_partition(lambda rep_id: partition_of(rep_id, partitions) == mine,  # partition_of is cached
                             share=partitions)

    async def _apply(self, engine: ScorecardEngine, payload: dict[str, Any]) -> bool:
        previous = payload.get(PREVIOUS)
        if previous is not None:
            # A deal reassigned to a rep of this partition: the version it replaces first,
            # so the change is a reassignment here too (never stored: the new one replaces it).
            payload = {k: v for k, v in payload.items() if k != PREVIOUS}
            engine.apply(record_from_event(previous))
        return await super()._apply(engine, payload)

    def _rep_published(self, content: dict[str, Any]) -> set[tuple[str, str]]:
        revision = self._unsent_revision(content)
        if revision is not None:
            self._rows.append(board_row(content, revision))
        return set()

    def _rep_withdrawn(self, rep_id: str, label: str) -> set[tuple[str, str]]:
        self._rows.append({"scope": "rep", **self._removed_row("rep", rep_id, label)})
        return set()

    async def _publish_payroll(self, outs: Sequence[PayrollOutput]) -> None:
        await super()._publish_payroll(outs)
        self._paid += ({"key": out.state_key, "state": out.state.to_json()} for out in outs)

    def _rows_out(self) -> list[tuple[str, list[dict[str, Any]]]]:
        paid, self._paid = self._paid, []
        return [*super()._rows_out(), ("paid", paid)]

    # ------------------------------------------------------------------ awards
    async def _decide_awards(self, engine: ScorecardEngine, posted_at: str) -> None:
        """After a close's payroll (and a rebuild's): post the bonuses that waited for their
        month, then report this partition's figures of every period the closed months end
        that it has not reported yet, and keep the report."""
        if self.outputs.awards is None:
            return
        await self._settle_decided(engine, posted_at)
        self._report_due(engine)

    def _report_chunks(self, engine: ScorecardEngine, period: str) -> list[ReportChunk]:
        return list(report_chunks(period, self.partition, rep_figures(engine, period),
                                  previous_rep_figures(engine, period)))

    async def _resend_awards(self) -> None:
        self._bonuses_owed, self._awaiting = [], set()
        await super()._resend_awards()

    async def _after_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        if self.outputs.awards is None:
            return
        for row in batch.award_requests:
            self._report_again(engine, row["period"])
        if batch.award_decisions:
            for row in batch.award_decisions:
                self._bonuses_owed += filter(None, map(bonus_request, row["events"]))
                self._awaiting.add(row["period"])
            await self._settle_decided(engine, format_timestamp(datetime.now(UTC)))

    async def _settle_decided(self, engine: ScorecardEngine, posted_at: str) -> None:
        """Post (or send again) the decided bonuses whose month is closed here, then mark
        settled each decided period with nothing left owed."""
        await self._settle_owed_bonuses(engine, posted_at)
        owed = {request.period for request in self._bonuses_owed}
        for period in sorted(self._awaiting - owed):
            self.award_reports.settle(period)
        self._awaiting &= owed


class RepStages(PartitionStages[RepPartitionStage]):
    """The rep partition stages of one worker, created as their partitions' messages come."""

    kind = RepPartitionStage
