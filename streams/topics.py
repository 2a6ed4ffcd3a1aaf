"""The registry of every Kafka topic: name, key, cleanup policy and partitioning.

This is the one place that says which topics exist (contract §2). The Faust app, the
``scorecard topics create`` command and the CLI producers all read it.

``sales.disputes`` (the appeal inputs, contract §10) is read by the dispute stage itself
(agents/disputes.py), not by the ingest agents: it is one of ``STAGE_INPUT_TOPICS``, not of
``INPUT_TOPICS``. It has one partition, like ``sales.dispute-links`` and the dispute tables,
so Faust's assignor places them with ``sales.facts``: the dispute stage runs on the worker
whose engine holds the roster and the event clock it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sales_scorecard.schemas.contracts import DISPUTE_TYPES, DISPUTES_TOPIC
from sales_scorecard.schemas.fact_types import FACT_TYPES, fact_type

from .settings import Settings

Cleanup = Literal["delete", "compact"]

#: Retention used for "delete, long" topics: 10 years; Kafka has no "forever" that
#: survives every broker default, and CRM facts must outlive any re-processing.
LONG_RETENTION_MS = 10 * 365 * 24 * 3600 * 1000
#: Retention for short-lived "delete" topics (alerts, control, dead letters): 30 days.
SHORT_RETENTION_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract."""

    name: str  # logical name, without prefix
    key: str  # what the record key holds
    carries: str
    cleanup: Cleanup
    retention_ms: int | None  # None for compacted topics
    #: ``None`` means the configured partition count; internal single-partition
    #: topics set 1 (see streams/app.py for why the aggregation stage is global).
    partitions: int | None = None

    def full_name(self, settings: Settings) -> str:
        """The topic name with the configured prefix."""
        return settings.topic(self.name)

    def partition_count(self, settings: Settings) -> int:
        """Partitions this topic is created with."""
        return self.partitions if self.partitions is not None else settings.partitions

    def config(self) -> dict[str, str]:
        """Topic-level configuration for ``CreateTopics``."""
        cfg: dict[str, str] = {"cleanup.policy": self.cleanup}
        if self.retention_ms is not None:
            cfg["retention.ms"] = str(self.retention_ms)
        return cfg


#: Reviews and engagement answers (contract §12); a review is keyed ``{subject_id}:{period}``,
#: an engagement answer ``{team_id}:{period}`` (``input_key``).
REVIEWS = TopicSpec("sales.reviews", "{subject_id}:{period}", "reviews and engagement answers", "delete",
                    LONG_RETENTION_MS)
DEALS = TopicSpec("sales.deals", "deal_id", "deal state upserts", "delete", LONG_RETENTION_MS)
COMPLAINTS = TopicSpec(
    "sales.complaints", "complaint_id", "complaint state upserts", "delete", LONG_RETENTION_MS
)
ACTIVITIES = TopicSpec("sales.activities", "rep_id", "activity facts", "delete", LONG_RETENTION_MS)
ROSTER = TopicSpec(
    "sales.roster", "rep_id", "rep <-> team <-> manager, effective-dated", "compact", None
)
TARGETS = TopicSpec(
    "sales.targets", "{scope}:{id}:{period}", "targets and market sizes", "compact", None
)
CONTROL = TopicSpec("sales.control", "period", "period-close commands", "delete", SHORT_RETENTION_MS)
SCORECARDS = TopicSpec("sales.scorecards", "{scope}:{id}:{period}", "scorecard updates", "compact", None)
LEADERBOARDS = TopicSpec("sales.leaderboards", "{board}:{period}:{metric}", "ranked snapshots", "compact", None)
ALERTS = TopicSpec("sales.alerts", "{rule}:{scope}:{id}:{period}", "alert state changes", "delete", SHORT_RETENTION_MS)
PAYROLL = TopicSpec("sales.payroll", "{rep_id}:{period}", "statements and adjustments", "delete", LONG_RETENTION_MS)
DEADLETTER = TopicSpec("sales.deadletter", "original key", "rejected input with reason", "delete", SHORT_RETENTION_MS)
#: Award decisions (contract §11), key ``event_id`` (``award:{award}:{period}:{winner_id}``), each once.
AWARDS = TopicSpec("sales.awards", "award:{award}:{period}:{winner_id}", "award decisions", "compact", None)
#: Internal: validated, de-duplicated input facts re-keyed for the aggregation stage.
FACTS = TopicSpec("sales.facts", "sender", "batches of validated input facts (internal)", "delete", SHORT_RETENTION_MS,
                  partitions=1)

#: Internal: facts routed by the org stage to the rep stage partitions that need them
#: (streams/fact_routes.py), with the organisation's clock; the configured partition count.
REP_FACTS = TopicSpec("sales.rep-facts", "rep partition", "batches of facts for the rep stage (internal)", "delete",
                      SHORT_RETENTION_MS)

#: Internal: facts routed by the org stage to the team stage partitions that need them
#: (streams/team_routes.py), with the organisation's clock; the configured partition count.
TEAM_FACTS = TopicSpec("sales.team-facts", "team partition", "batches of facts for the team stage (internal)",
                       "delete", SHORT_RETENTION_MS)

#: Appeal inputs (contract §10), key ``dispute_id``; one partition (see the module docstring).
DISPUTES = TopicSpec(DISPUTES_TOPIC, "dispute_id", "appeal inputs", "delete", LONG_RETENTION_MS, partitions=1)
#: Dispute states (contract §10), key ``dispute_id``: the latest ``dispute`` event of each.
APPEALS = TopicSpec("sales.appeals", "dispute_id", "dispute states", "compact", None)
#: Internal: payroll adjustments linked to the disputes they name, and the dispute stage's
#: ticks (agents/disputes.py); one partition, like ``sales.disputes``.
DISPUTE_LINKS = TopicSpec("sales.dispute-links", "dispute_id", "adjustment links and ticks for the dispute stage "
                          "(internal)", "delete", SHORT_RETENTION_MS, partitions=1)

#: The input topics the ingest agents subscribe to.
INPUT_TOPICS: tuple[TopicSpec, ...] = (DEALS, COMPLAINTS, ACTIVITIES, ROSTER, TARGETS, CONTROL, REVIEWS)
#: Input topics a stage reads and validates itself (no ingest): the dispute stage's.
STAGE_INPUT_TOPICS: tuple[TopicSpec, ...] = (DISPUTES,)
OUTPUT_TOPICS: tuple[TopicSpec, ...] = (SCORECARDS, LEADERBOARDS, ALERTS, PAYROLL, DEADLETTER, APPEALS, AWARDS)
INTERNAL_TOPICS: tuple[TopicSpec, ...] = (FACTS, REP_FACTS, TEAM_FACTS, DISPUTE_LINKS)
ALL_TOPICS: tuple[TopicSpec, ...] = INPUT_TOPICS + STAGE_INPUT_TOPICS + OUTPUT_TOPICS + INTERNAL_TOPICS

#: Input ``type`` -> the topic it must arrive on (from the fact-type registry; a fact a
#: stage sends itself arrives on no input topic).
TOPIC_FOR_TYPE: dict[str, TopicSpec] = {
    name: next(spec for spec in INPUT_TOPICS if spec.name == t.topic) for name, t in FACT_TYPES.items()
    if t.topic is not None
}


#: Appeal input ``type`` -> its topic. Kept apart from ``TOPIC_FOR_TYPE``, which lists the
#: types the worker's ingest validates.
DISPUTE_TOPIC_FOR_TYPE: dict[str, TopicSpec] = dict.fromkeys(DISPUTE_TYPES, DISPUTES)
#: Every ``type`` a producer may send -> its topic: the facts, then the appeal inputs.
TOPIC_FOR_PRODUCED_TYPE: dict[str, TopicSpec] = {**TOPIC_FOR_TYPE, **DISPUTE_TOPIC_FOR_TYPE}


def input_key(event: dict) -> str:
    """The record key the contract (§2) prescribes for a (valid) input event."""
    return fact_type(event).input_key(event)


def produce_route(event: dict) -> tuple[TopicSpec, str]:
    """(topic, record key) of any input a producer sends: a fact (``input_key``) or an appeal
    input (key ``dispute_id``). KeyError for an unknown type or a missing key field."""
    kind = event.get("type")
    if isinstance(kind, str) and kind in DISPUTE_TOPIC_FOR_TYPE:
        return DISPUTES, str(event["dispute_id"])
    return TOPIC_FOR_TYPE[fact_type(event).name], input_key(event)


def table_changelog(settings: Settings, table: str) -> str:
    """The changelog topic of one of the worker's tables, as Faust names it
    (``{app_id}-{table}-changelog``, compacted). The ``facts`` table's holds every fact a
    stage applied (streams/fact_log.py), for as long as the worker runs: what a what-if
    reads (contract §13)."""
    return f"{settings.app_id}-{table}-changelog"
