"""The team stage: team scorecards and team alerts, one stage per partition.

A team-stage partition owns the teams hashed to it (``partition_of(team_id)``; the
``unassigned`` team is no partition's). The org stage sends it every fact its teams'
figures read (``streams.team_routes``), with the organisation's event clock. A worker
holds one ``TeamPartitionStage`` per partition it is assigned: its own engine
(``core.engine.team_partition``), its own rows of the stage's tables (``PartitionView``)
and its own pacing, as a rep partition does (``streams.rep_stage``). It pays nobody and
ranks nothing.

Awards (contract §11): at a close it reports its teams' figures of every period the close
ends to the org stage, as a rep partition reports its reps', and keeps the report
(``core.award_reports.PartitionReports``) until the org stage's decision of the period
comes back; a rebuild sends every report not settled yet again, and so does a request of
the org stage (``award_requests``) after its own. A partition not fed yet reports nothing
(its figures may lack facts): once fed, it reports every period closed since its last
report, rendered then.

The org stage published the team scorecards and raised the team alerts before a team
stage ran. After each of its rebuilds it hands each team partition what it recorded of
them (``handover``: revisions and alert states): a deployment that starts running the
team stage goes on from those revisions instead of publishing revision 1 again, and
does not raise an alert that is already firing again.

A team partition asks the org stage for every fact it needs (``team_requests``) at each
rebuild of its own or of the org stage, until the org stage's answer
(``TeamRoutes.bootstrap``), which ends with a ``team_fed`` fact, is stored with its
facts: at its first start, or the first start of a deployment's team stage. Until then
it publishes nothing, withdraws nothing and answers no query, so no scorecard or alert
goes out from a part of its teams' facts. An org stage that starts with no stored fact
sends every team partition ``team_fed`` before any fact (everything it routes from then on
is everything): a new deployment's team partitions need not ask, and report the awards
of every close at the close.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from sales_scorecard.core.award_figures import team_figures
from sales_scorecard.core.award_reports import ReportChunk, team_report_chunks
from sales_scorecard.core.boards import team_row
from sales_scorecard.core.disputes import AdjustmentRequest
from sales_scorecard.core.engine import EngineRole, Outcome, ScorecardEngine, team_partition
from sales_scorecard.core.team_values import Epoch, Marker, value_rows
from sales_scorecard.schemas.fact_types import TEAM_FED

from .aggregation import StageOutputs, StageTables
from .fact_batches import REBUILT, Batch
from .fact_routes import partition_of
from .metrics import Metrics
from .partition_stages import PartitionStage, PartitionStages
from .publisher import Send
from .render_budget import RenderBudget
from .settings import Settings


class TeamPartitionStage(PartitionStage):
    """The team scorecards and team alerts of the teams of one partition."""

    label, rows_field, reports_field = "team", "team_rows", "team_award_reports"

    def __init__(self, settings: Settings, partition: int, tables: StageTables, outputs: StageOutputs,
                 metrics: Metrics, send_to_org: Send, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None, generation: Callable[[], int] = lambda: 0) -> None:
        super().__init__(settings, partition, tables, outputs, metrics, send_to_org, monotonic, budget)
        #: the consumer group's generation now (the epoch of the values, ``core.team_values``)
        self._generation = generation
        #: with ``company_values``: this build's epoch, whether every value is owed (once
        #: fed, after each rebuild), and the marker (clock, closed months) last sent with them
        self.epoch: Epoch = (0, 0)
        self._values_owed = True
        self._values_marker: Marker | None = None
        #: when values were last sent (monotonic s): at most once per flush interval
        self._values_sent_at = float("-inf")
        #: whether the org stage has sent every fact this partition needs (``team_fed`` is
        #: among its facts): until then it publishes nothing and asks for them
        self.fed = False
        #: whether to ask after this message (a rebuild of this partition or of the org stage)
        self._asks = False
        #: whether published keys the engine lacks are withdrawn at the next run (fed now)
        self._stale_due = False
        #: whether the periods closed while it was not fed are reported after this message
        self._fed_reports_due = False

    def _fact_counter(self, metrics: Metrics) -> Counter:
        return metrics.team_facts

    def _done_counter(self) -> Counter:
        return self.metrics.team_batches_done

    def engine_role(self) -> EngineRole:
        partitions, mine = self.settings.partitions, self.partition
        return team_partition(lambda team_id: partition_of(team_id, partitions) == mine, share=partitions,
                              sends_values=self.settings.company_values)

    def _team_published(self, engine: ScorecardEngine, content: dict[str, Any]) -> None:
        revision = self._unsent_revision(content)
        if revision is not None:
            self._rows.append(team_row(engine, content, revision))

    def _team_withdrawn(self, team_id: str, label: str) -> None:
        self._rows.append(self._removed_row("team", team_id, label))

    async def _before_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        await super()._before_facts(engine, batch)
        for row in batch.handover:
            self._take_over(row)

    def _take_over(self, row: dict[str, Any]) -> None:
        """Keep what the org stage recorded of one of this partition's team keys when it
        published them itself (before the team stage ran): the revision goes on from the
        higher one, an alert state is kept unless this partition has its own. A row that
        only says the org stage was rebuilt has this partition ask again if not fed."""
        if row["table"] == REBUILT:
            self._asks = self._asks or not self.fed
            self._new_epoch()  # whatever the org stage's rebuild found, every value comes again
            return
        key, value = row["key"], row["value"]
        if row["table"] == "emitted":
            held = self.tables.emitted.get(key)
            if held is None or held[0] < value[0]:
                self.tables.emitted[key] = value
        elif self.tables.alert_state.get(key) is None:
            self.tables.alert_state[key] = value

    def _new_epoch(self) -> None:
        """Start an epoch of values: every one is sent again (``core.team_values``)."""
        self.epoch, self._values_owed, self._values_marker = (self._generation(), time.time_ns()), True, None

    def _replay(self, engine: ScorecardEngine) -> tuple[int, list[AdjustmentRequest]]:
        self._new_epoch()  # values sent before this build may be lost
        self.fed = False
        loaded = super()._replay(engine)
        self._asks = not self.fed  # a rebuild that finds no ``team_fed`` asks again
        return loaded

    def _loaded_fact(self, key: str, value: dict[str, Any]) -> None:
        if value["type"] == TEAM_FED:
            self.fed = True

    def _handled(self, payload: dict[str, Any], key: str, outcome: Outcome, stored: dict[str, Any] | None) -> None:
        if payload["type"] == TEAM_FED and not self.fed:
            self.fed, self._stale_due, self._fed_reports_due = True, True, True

    def withdraws_stale(self) -> bool:
        return self.fed  # else a key it lacks may only lack the facts still to come

    @property
    def answering(self) -> ScorecardEngine | None:
        return self.engine if self.fed else None

    async def _run_due(self, engine: ScorecardEngine) -> None:
        if not self.fed:  # its figures may lack facts it has not been sent: nothing goes out
            self.metrics.progress.report(self.name, self.pending())
            return
        if self._stale_due:
            self._stale_due = False
            await self.withdraw_stale(engine)
        await super()._run_due(engine)

    def tick_due(self) -> bool:
        if not self.fed:
            return self.engine is None
        return super().tick_due() or self._values_waiting()

    def _values_due(self) -> bool:
        """Whether values may be sent now: when owed, else once per flush interval."""
        return self.settings.company_values and self.fed and (
            self._values_owed or self._monotonic() - self._values_sent_at >= self.pacing.flush_interval)

    def _values_waiting(self) -> bool:
        """Whether values (or their marker: the clock, a close) are due and wait to be sent."""
        engine = self.engine
        if engine is None or not self._values_due():
            return False
        return self._values_owed or engine.team_days_moved() or Marker.of(engine) != self._values_marker

    async def _after_run(self, engine: ScorecardEngine) -> None:
        if self._asks and not self.fed:
            # Asked at each rebuild of this partition or of the org stage until the
            # answer's last fact is stored: a crash can lose the request after facts were
            # stored here, and an older worker holding the org stage during a rolling
            # upgrade drops it. Facts routed here meanwhile are version-gated duplicates
            # of the answer's.
            await self._send_rows("team_requests", [{"partition": self.partition}])
        self._asks = False
        if self._values_due():
            await self._send_values(engine)
        await super()._after_run(engine)

    async def _send_values(self, engine: ScorecardEngine) -> None:
        """Send the org stage the values of its teams' days that moved (all of them when
        owed), and their marker when it moved: the clock they are computed at, the months
        closed (``core.team_values``)."""
        marker = Marker.of(engine)
        every, self._values_owed = self._values_owed, False
        moved = marker != self._values_marker
        self._values_marker = marker
        rows = value_rows(engine, self.partition, self.epoch, every, marker if every or moved else None)
        if rows:
            self._values_sent_at = self._monotonic()
        try:
            await self._send_rows("team_values", rows)
        except BaseException:
            # the days taken are not sent: every value is owed again, so that no later
            # marker confirms a clock or a close whose values never arrived
            self._values_owed, self._values_marker = True, None
            raise

    # ------------------------------------------------------------------ awards
    async def _decide_awards(self, engine: ScorecardEngine, posted_at: str) -> None:
        """At a close (and after a rebuild): report this partition's teams' figures of every
        period the closed months end that it has not reported yet, and keep the report;
        nothing while not fed."""
        if self.outputs.awards is None or not self.fed:
            return
        self._report_due(engine)

    def _report_chunks(self, engine: ScorecardEngine, period: str) -> list[ReportChunk]:
        return list(team_report_chunks(period, self.partition, team_figures(engine, period)))

    @property
    def _reports_ready(self) -> bool:
        return self.fed

    async def _after_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        if self.outputs.awards is None:
            return
        if self._fed_reports_due:  # fed by this message: what closed before is reported now
            self._fed_reports_due = False
            await self._decide_awards(engine, "")
        for row in batch.award_requests:
            self._report_again(engine, row["period"])
        for row in batch.award_decisions:  # a team partition has no bonus to post
            self.award_reports.settle(row["period"])


class TeamStages(PartitionStages[TeamPartitionStage]):
    """The team partition stages of one worker, created as their partitions' messages come."""

    kind = TeamPartitionStage

    def __init__(self, settings: Settings, tables: StageTables, outputs: StageOutputs, metrics: Metrics,
                 send_to_org: Send, monotonic: Callable[[], float] = time.monotonic,
                 budget: RenderBudget | None = None, generation: Callable[[], int] = lambda: 0) -> None:
        super().__init__(settings, tables, outputs, metrics, send_to_org, monotonic, budget)
        #: the consumer group's generation now (Faust's ``consumer_generation_id``)
        self.generation = generation

    def _new(self, partition: int, tables: StageTables) -> TeamPartitionStage:
        return TeamPartitionStage(self.settings, partition, tables, self.outputs, self.metrics, self.send_to_org,
                                  self.monotonic, self.budget, self.generation)
