"""Prometheus metrics of the worker (prometheus-client), in one registry."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    """Every metric the worker exports at ``/metrics``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.received = Counter("scorecard_records_received", "Input records received", ["topic"], registry=r)
        self.accepted = Counter("scorecard_records_accepted", "Input records that passed validation", ["topic"],
                                registry=r)
        self.rejected = Counter(
            "scorecard_records_rejected", "Input records sent to the dead-letter topic", ["topic", "reason"], registry=r
        )
        self.duplicates = Counter(
            "scorecard_duplicates_skipped", "Facts skipped as repeats of an applied event id", ["topic"], registry=r
        )
        self.facts = Counter(
            "scorecard_facts", "Facts seen by the aggregation stage, by outcome", ["type", "outcome"], registry=r
        )
        #: the labelled children of ``facts``, looked up once each (``count_fact``)
        self._fact_counts: dict[tuple[str, str], Counter] = {}
        self.errors = Counter("scorecard_processing_errors", "Unexpected errors while processing a record", ["stage"],
                              registry=r)
        self.scorecards = Counter("scorecard_scorecards_emitted", "Scorecard updates published", registry=r)
        self.leaderboards = Counter("scorecard_leaderboards_emitted", "Leaderboard snapshots published", registry=r)
        self.alerts = Counter("scorecard_alerts", "Alert state changes published", ["rule", "state"], registry=r)
        self.payroll = Counter("scorecard_payroll_events", "Payroll statements and adjustments published", ["type"],
                               registry=r)
        self.flush_seconds = Histogram(
            "scorecard_flush_seconds", "Time to compute and publish one batch of scorecard updates", registry=r
        )
        self.board_seconds = Histogram(
            "scorecard_board_publication_seconds",
            "Time to build and publish the leaderboard snapshots of the boards that moved",
            registry=r,
        )
        self.last_processed = Gauge(
            "scorecard_last_processed_timestamp_seconds", "Wall time the last record was processed", ["stage"],
            registry=r,
        )
        self.event_clock = Gauge("scorecard_event_clock_timestamp_seconds", "The engine's as_of (latest event time)",
                                 registry=r)
        self.clock_rendered = Gauge(
            "scorecard_clock_rendered_timestamp_seconds",
            "The clock instant of the latest clock refresh: clock-dependent KPIs (pace, expected to date, "
            "trailing windows) are rendered as of this instant once pending updates reach 0", registry=r)
        self.pending = Gauge("scorecard_pending_updates", "Scorecard keys marked dirty and not yet flushed", registry=r)
        self.consumer_lag = Gauge(
            "scorecard_consumer_lag_records",
            "Records in the topic (full Kafka topic name, with any prefix) not yet committed by this worker's "
            "consumer group: all partitions, whichever worker owns them, so every worker reports the same "
            "value; sampled every 15 s", ["topic"], registry=r)
        self.partition_rewinds = Counter(
            "scorecard_partition_rewinds",
            "Assigned input partitions found stalled (records left, no progress for 60 s while idle) and "
            "re-delivered from their committed offset", ["topic"], registry=r)
        self.commit_skips = Counter(
            "scorecard_commit_skips",
            "Offsets Faust committed past although no record there was acknowledged: that record may never "
            "have been processed (expected only on topics written by transactional producers)", ["topic"],
            registry=r)
        self.runtime = Gauge(
            "scorecard_runtime_info", "1, labelled with the event loop, Faust Cython paths and collector threshold "
            "this worker runs on (SCORECARD_EVENT_LOOP, SCORECARD_FAUST_CYTHON, SCORECARD_GC_THRESHOLD)",
            ["event_loop", "faust_cython", "gc_threshold"], registry=r)
        self.rebalances = Counter(
            "scorecard_rebalances",
            "Partition assignments this worker received: its own first join, then one per rebalance of its "
            "consumer group (a worker joining, leaving or missing its session); records not yet committed then "
            "may be processed again",
            registry=r)
        self.ready = Gauge("scorecard_ready", "1 when tables are recovered and the engine is loaded", registry=r)
        self.rep_facts = Counter(
            "scorecard_rep_stage_facts", "Facts applied by this worker's rep stage partitions, by partition",
            ["partition"], registry=r)
        self.team_facts = Counter(
            "scorecard_team_stage_facts", "Facts applied by this worker's team stage partitions, by partition",
            ["partition"], registry=r)
        self.rep_batches_sent, self.rep_batches_done = _hop_counters("rep", r)
        self.team_batches_sent, self.team_batches_done = _hop_counters("team", r)
        self.team_values = Counter(
            "scorecard_team_values", "Rows of the team partitions' values the org stage took "
            "(SCORECARD_COMPANY_VALUES): a day's value, a clock or an epoch's end", registry=r)
        self.progress = StageProgress(self)

    def count_fact(self, kind: str, outcome: str) -> None:
        """Count one fact seen by an aggregation stage (``facts``): once per fact, so its
        labelled child is looked up once per (type, outcome), not every time."""
        counts = self._fact_counts.get((kind, outcome))
        if counts is None:
            counts = self._fact_counts[(kind, outcome)] = self.facts.labels(kind, outcome)
        counts.inc()

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)


def _hop_counters(stage: str, registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """The messages the org stage sent a partitioned stage (``rep`` or ``team``), and those
    this worker's partitions of it processed."""
    sent = Counter(f"scorecard_{stage}_batches_sent", f"Messages the org stage sent to the {stage} stage",
                   registry=registry)
    done = Counter(
        f"scorecard_{stage}_batches_done",
        f"Messages from the org stage this worker's {stage} stage partitions processed: summed over every "
        f"worker, at least scorecard_{stage}_batches_sent_total once the {stage} stage has caught up (a "
        "message re-delivered after a rebalance is processed, and counted, again)", registry=registry)
    return sent, done


class StageProgress:
    """The pending updates and rendered clock of every stage on this worker, reported as
    one figure each: ``scorecard_pending_updates`` sums the stages' dirty keys and
    ``scorecard_clock_rendered_timestamp_seconds`` is the earliest of their refreshes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._pending: dict[str, int] = {}
        self._rendered: dict[str, float] = {}

    def report(self, stage: str, pending: int, clock_rendered: float | None = None) -> None:
        """One stage's figures now."""
        self._pending[stage] = pending
        if clock_rendered is not None:
            self._rendered[stage] = clock_rendered
        self._publish()

    def forget(self, stage: str) -> None:
        """A stage left this worker (its partition was revoked)."""
        self._pending.pop(stage, None)
        self._rendered.pop(stage, None)
        self._publish()

    def _publish(self) -> None:
        self._metrics.pending.set(sum(self._pending.values()))
        # 0 when no stage is left here: this worker then holds nothing that lags the clock
        self._metrics.clock_rendered.set(min(self._rendered.values()) if self._rendered else 0)
