"""A partition's stage of a partitioned stage (the rep stage, the team stage), and the
stages of one worker for the partitions it holds.

What a rep partition and a team partition share (``PartitionStage``): each follows the org
stage's engine and clock, counts its facts per partition, and after each message sends
the org stage rows: a summary of each scorecard it published (a board row, a team
summary) once per revision, and its award reports (contract §11). A report is kept
(``core.award_reports.PartitionReports``) until the org stage's decision comes back; the
org stage asks again for what it lost (``_report_again``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from prometheus_client import Counter

from sales_scorecard.core.award_reports import PartitionReports, ReportChunk
from sales_scorecard.core.engine import Outcome, ScorecardEngine, scorecard_key
from sales_scorecard.core.labels import months_of
from sales_scorecard.core.periods import parse_timestamp

from .aggregation import AggregationStage, StageOutputs, StageTables
from .fact_batches import Batch, encode_rows
from .fact_routes import partition_of
from .metrics import Metrics
from .partition_view import PartitionView
from .publisher import Send
from .render_budget import RenderBudget
from .settings import Settings


class PartitionStage(AggregationStage):
    """The stage of one partition: what the rep and team partitions share."""

    #: the stage's label (``stage_label``, the prefix of ``name``)
    label: ClassVar[str]
    #: the field the summaries of its published scorecards travel on to the org stage
    rows_field: ClassVar[str]
    #: the field its award reports travel on (each stage its own: an org stage of an
    #: earlier version ignores a field it does not know instead of misreading it)
    reports_field: ClassVar[str]

    def __init__(self, settings: Settings, partition: int, tables: StageTables, outputs: StageOutputs,
                 metrics: Metrics, send_to_org: Send, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None) -> None:
        super().__init__(settings, tables, outputs, metrics, monotonic, budget)
        self.partition = partition
        self.name = f"{self.label}:{partition}"
        self.stage_label = self.label
        # the org stage's engine and clock are the worker's; this one follows them
        self.owns_worker_gauges = False
        self._send_to_org = send_to_org
        #: the partition's count of facts, looked up once (``labels`` per fact was 3 % of the stage)
        self._facts_counted = self._fact_counter(metrics).labels(str(partition))
        #: summaries of published scorecards to send the org stage after this message
        self._rows: list[dict[str, Any]] = []
        #: scorecard key -> the revision last sent to the org stage as a row
        self._rows_sent: dict[str, int] = {}
        #: the periods this partition reported for the awards (contract §11)
        self.award_reports = PartitionReports(tables.award_reports)
        #: report chunks to send the org stage after this message
        self._reports: list[ReportChunk] = []

    def _fact_counter(self, metrics: Metrics) -> Counter:
        """The stage's counter of facts per partition."""
        raise NotImplementedError

    def _done_counter(self) -> Counter:
        """The stage's counter of the org stage's messages processed (its hop's "done")."""
        raise NotImplementedError

    async def _before_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        if batch.facts or batch.clock:  # sent by the org stage's batches (a tick or a handover is neither)
            self._done_counter().inc()
        if batch.clock:
            engine.advance_clock(parse_timestamp(batch.clock))

    def _count(self, kind: str, outcome: Outcome) -> None:
        self._facts_counted.inc()

    def _loaded(self) -> None:
        self._rows_sent = {}  # the first flush after a rebuild sends every row again

    # ------------------------------------------------------------------ rows
    def _unsent_revision(self, content: dict[str, Any]) -> int | None:
        """The revision of the scorecard just published, when the org stage has no row of it yet."""
        key = scorecard_key(content["scope"], content["id"], content["period"])
        emitted = self.tables.emitted.get(key)
        revision = emitted[0] if emitted else 0
        if self._rows_sent.get(key) == revision:
            return None
        self._rows_sent[key] = revision
        return revision

    def _removed_row(self, scope: str, id: str, label: str) -> dict[str, Any]:
        """The row telling the org stage a published scorecard stopped existing."""
        key = scorecard_key(scope, id, label)
        emitted = self.tables.emitted.get(key)
        self._rows_sent.pop(key, None)
        return {"id": id, "period": label, "removed": True, "revision": emitted[0] if emitted else 0}

    def _rows_out(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """What goes to the org stage after this message, field by field, before the reports."""
        rows, self._rows = self._rows, []
        return [(self.rows_field, rows)]

    async def _after_run(self, engine: ScorecardEngine) -> None:
        for field_name, rows in self._rows_out():
            await self._send_rows(field_name, rows)
        reports, self._reports = self._reports, []
        await self._send_rows(self.reports_field, (chunk.to_json() for chunk in reports))

    async def _send_rows(self, field_name: str, rows: Iterable[dict[str, Any]]) -> None:
        for value in encode_rows(field_name, rows):
            await self._send_to_org(b"rows", value)

    # ------------------------------------------------------------------ awards
    def _report_chunks(self, engine: ScorecardEngine, period: str) -> list[ReportChunk]:
        """This partition's figures of the closed ``period``, rendered now."""
        raise NotImplementedError

    @property
    def _reports_ready(self) -> bool:
        """Whether this partition's figures are whole (a team partition not fed yet's are not)."""
        return True

    def _report(self, engine: ScorecardEngine, period: str) -> None:
        """Render, keep and send (after this message) the report of ``period``."""
        chunks = self._report_chunks(engine, period)
        self.award_reports.record(chunks)
        self._reports += chunks

    def _report_due(self, engine: ScorecardEngine) -> None:
        """Report every period the closed months end that this partition has not reported yet."""
        for period in self.award_reports.due(engine.closed_months):
            self._report(engine, period)

    def _report_again(self, engine: ScorecardEngine, period: str) -> None:
        """The org stage lacks this partition's report of ``period`` (it lost it in a crash):
        send the report kept, or once settled (or never made here), the figures rendered
        now, kept unless settled; nothing while the period's last month is not closed here
        or the figures are not whole (both report it later)."""
        chunks = self.award_reports.kept(period)
        if chunks:
            self._reports += chunks
        elif self._reports_ready and months_of(period)[-1] in engine.closed_months:
            if self.award_reports.settled(period):
                self._reports += self._report_chunks(engine, period)
            else:
                self._report(engine, period)

    async def _resend_awards(self) -> None:
        """After a rebuild, send the org stage every report it has not answered yet: a
        kill -9 can keep the record and lose the send."""
        if self.outputs.awards is not None:
            self._reports = self.award_reports.unsettled()


S = TypeVar("S", bound=PartitionStage)


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

    #: the stage class of each partition
    kind: type[S]

    def _new(self, partition: int, tables: StageTables) -> S:
        """A new stage of ``partition`` over its rows of the tables."""
        return self.kind(self.settings, partition, tables, self.outputs, self.metrics, self.send_to_org,
                         self.monotonic, self.budget)

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
