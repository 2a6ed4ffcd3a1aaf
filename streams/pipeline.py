"""What the agents and web views of one worker share: app, topics, tables, metrics.

Built once by ``streams.app.create_app``; the modules that register agents and views
take it as their one argument (and import this module, never ``streams.app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faust

from .metrics import Metrics
from .settings import Settings

if TYPE_CHECKING:
    from sales_scorecard.core.engine import ScorecardEngine

    from .aggregation import AggregationStage
    from .dispute_stage import DisputeStage
    from .rep_stage import RepStages
    from .team_stage import TeamStages

Table = faust.Table[Any, Any]


@dataclass(frozen=True)
class TeamTables:
    """The team stage's tables, keyed "{partition}/{key}" (streams/partition_view.py), the
    configured partitions like ``sales.team-facts``, and the org stage's table of what the
    team stage sends it for the team boards (``team_rows``)."""

    #: fact key -> validated event, every fact the partition's teams read
    facts: Table
    #: scorecard key -> [revision, digest] of the last published update
    emitted: Table
    #: "{rule}:{scope}:{id}:{period}" -> core.alert_rules.AlertState
    alert_state: Table
    #: period -> the award figures the partition reported (core.award_reports.PartitionReports)
    award_reports: Table
    #: "{team_id}:{period}" -> a team board's summary row sent by the team partitions
    #: (core.boards.team_row), kept by the org stage; 1 partition
    team_rows: Table
    #: with ``SCORECARD_COMPANY_VALUES``: the team partitions' values the company holds
    #: (core.team_values.CompanyValues), kept by the org stage; 1 partition
    team_values: Table | None = None


@dataclass
class Pipeline:
    """One worker's app with every topic and table."""

    settings: Settings
    app: faust.App
    metrics: Metrics
    input_topics: dict[str, faust.TopicT]  # logical name -> topic
    facts_topic: faust.TopicT
    rep_facts_topic: faust.TopicT
    team_facts_topic: faust.TopicT
    scorecards_topic: faust.TopicT
    deadletter_topic: faust.TopicT
    payroll_topic: faust.TopicT
    leaderboards_topic: faust.TopicT
    alerts_topic: faust.TopicT
    #: the appeal inputs (1 partition), the dispute states, the dispute stage's links and ticks (1 partition)
    disputes_topic: faust.TopicT
    appeals_topic: faust.TopicT
    dispute_links_topic: faust.TopicT
    #: fact key (schemas/fact_types.py) -> validated event; 1 partition.
    facts: Table
    #: scorecard key -> [revision, digest] of the last published update; 1 partition.
    emitted: Table
    #: "{rep_id}:{month}" -> what has been paid (core.payroll.PaidState); 1 partition.
    payroll_state: Table
    #: "{board}:{period}:{metric}" -> [revision, digest] of the last published snapshot; 1 partition.
    boards_emitted: Table
    #: "{rule}:{scope}:{id}:{period}" -> core.alert_rules.AlertState; 1 partition.
    alert_state: Table
    #: "{rep_id}:{period}" -> the board row of a rep scorecard (streams/org_stage.py); 1 partition.
    board_rows: Table
    #: The rep stage's tables, keyed "{partition}/{key}" (streams/partition_view.py); the
    #: configured partitions, like ``sales.rep-facts``: facts, scorecard revisions, what
    #: has been paid, alert states.
    rep_facts: Table
    rep_emitted: Table
    rep_payroll_state: Table
    rep_alert_state: Table
    #: The award figures reported per closed period (core/award_reports.py), partitioned
    #: stages only: the rep stage's reports ("{partition}/{period}", N partitions) and what
    #: the org stage collects until it decides a period (1 partition).
    rep_award_reports: Table
    award_reports: Table
    #: The team stage's tables; None where the workers run no team stage (declaring them
    #: would make every worker recover their changelogs).
    team_tables: TeamTables | None
    #: The dispute stage's tables (streams/dispute_stage.py), 1 partition like sales.disputes:
    #: dispute_id -> core.disputes.Dispute.to_json(); dispute_id -> its overdue alert's state.
    disputes: Table
    dispute_alert_state: Table
    #: ``sales.awards`` (contract §11) and period -> the award events decided at its close; 1 partition.
    awards_topic: faust.TopicT
    awards: Table
    #: The stage on sales.facts (the whole computation, or the org stage with
    #: SCORECARD_STAGES=partitioned), set by agents.scorecards.
    aggregation: AggregationStage | None = None
    #: This worker's rep stage partitions (SCORECARD_STAGES=partitioned), set by agents.scorecards.
    rep_stages: RepStages | None = None
    #: This worker's team stage partitions (SCORECARD_STAGES=partitioned), set by agents.scorecards.
    team_stages: TeamStages | None = None
    #: The dispute stage, set by agents.disputes.
    dispute_stage: DisputeStage | None = None

    @property
    def engine(self) -> ScorecardEngine | None:
        """The loaded org engine on the worker that owns the org stage, else None."""
        return self.aggregation.engine if self.aggregation is not None else None

    def assigned(self, topic: faust.TopicT) -> list[int]:
        """The partitions of ``topic`` assigned to this worker (none before the consumer starts)."""
        try:
            assignment = self.app.consumer.assignment()
        except Exception:  # noqa: BLE001 - the consumer is not started yet: nothing assigned
            return []
        name = topic.get_topic_name()
        return sorted(tp.partition for tp in assignment if tp.topic == name)

    def rep_partitions(self) -> list[int]:
        """The partitions of ``sales.rep-facts`` assigned to this worker."""
        return self.assigned(self.rep_facts_topic)

    def owns_aggregation(self) -> bool:
        """True when this worker is assigned the (single) partition of ``sales.facts``."""
        return bool(self.assigned(self.facts_topic))
