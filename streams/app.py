"""The Faust application: topics, tables and agents wired in one place.

Data flow (docs/architecture.md has the picture):

    sales.deals / complaints / activities / roster / targets / control   (N partitions)
        │  agents.ingest.validate_and_forward — validate, dead-letter, forward
        ▼
    sales.facts (internal, 1 partition) ◄─── board rows, paid states, reports ─┐
        │  agents.scorecards.apply_facts — org stage: every fact, team and      │
        │  company scorecards, leaderboards, awards; routes each fact to the    │
        │  rep stage (and award decisions)                                      │
        ▼                                                                        │
    sales.rep-facts (internal, N partitions, by rep)                             │
        │  agents.scorecards.apply_rep_facts — rep stage, one per partition:     │
        │  rep scorecards, rep alerts, payroll, award bonuses ───────────────────┘
        ▼
    sales.scorecards, sales.payroll, sales.alerts, sales.leaderboards,
    sales.awards (awards decided at a close)

    sales.disputes (1 partition) + sales.dispute-links (adjustment links, ticks)
        │  agents.disputes.apply_disputes — the dispute stage: validate, apply,
        │  dead-letter; an upheld decision's adjustment goes to the ledger as an
        │  ``appeal_adjustment`` fact on sales.facts; the stage that pays sends each
        │  adjustment naming a dispute back on sales.dispute-links
        ▼
    sales.appeals, sales.alerts (dispute_overdue), sales.deadletter

The ingest stage scales with the input partitions, the rep stage with the partitions of
``sales.rep-facts``: a second worker takes half of the rep partitions. The org stage is
one partition: it applies every fact (team KPIs need the roster of every member, a
customer's acquisition is ordered across all reps) but renders only team and company
scorecards. Each stage keeps its facts in tables, one write per fact, and rebuilds its
in-memory engine from them after a restart.
"""

from __future__ import annotations

from pathlib import Path

import faust

from . import codecs, flushing_producer, rewinding_consumer, table_store
from .fetch_pacing import FetchSettings
from .kafka_security import faust_credentials
from .metrics import Metrics
from .pipeline import Pipeline, Table, TeamTables
from .settings import Settings
from .topics import (
    ALERTS,
    APPEALS,
    AWARDS,
    DEADLETTER,
    DISPUTE_LINKS,
    DISPUTES,
    FACTS,
    INPUT_TOPICS,
    LEADERBOARDS,
    PAYROLL,
    REP_FACTS,
    SCORECARDS,
    STAGE_INPUT_TOPICS,
    TEAM_FACTS,
    TopicSpec,
)


def _topic(app: faust.App, settings: Settings, spec: TopicSpec, value_serializer: str) -> faust.TopicT:
    return app.topic(
        spec.full_name(settings),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer=value_serializer,
        partitions=spec.partition_count(settings),
        internal=False,
    )


#: Per-table RocksDB sizes. Faust's defaults (64 MiB write buffers x 3, a 2 GiB block
#: cache per table) are sized for a few big tables; ours are small ones read mostly at
#: start-up (a rebuild reads each once, in order), and the defaults made the worker's RSS
#: grow by hundreds of MiB. 2 MiB buffers and a 4 MiB cache held 2,000 reps x 13 months in
#: 650 B less per rep-period than 8 and 16 MiB, at the same recovery time (docs/benchmarks.md).
ROCKSDB_OPTIONS = {
    "write_buffer_size": 2 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 4 * 1024 * 1024,
}


#: Faust's built-in web views expose table contents and internals: all off, in every app.
BUILT_IN_VIEWS_OFF = {
    "web_router_enabled": False,
    "web_tables_enabled": False,
    "web_graph_enabled": False,
    "web_stats_enabled": False,
    "web_metrics_enabled": False,
}


def connection_options(settings: Settings) -> dict:
    """The ``faust.App`` options every app of ours shares: brokers, credentials, web
    port, built-in views off."""
    return {
        "broker": [f"kafka://{h.strip()}" for h in settings.bootstrap_servers.split(",")],
        "broker_credentials": faust_credentials(settings),
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        **BUILT_IN_VIEWS_OFF,
    }


def create_app(settings: Settings) -> Pipeline:
    """Build the Faust app with every topic, table, agent and web view."""
    codecs.register()
    store = "memory://" if settings.store == "memory" else table_store.register()
    datadir = Path(settings.data_dir) / "worker"
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        **connection_options(settings),
        store=store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        web_host=settings.public_web_host,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="orjson",  # tables' changelogs; topics set their own serializers
        producer_acks=-1,
        # Batch sends for up to 10 ms: with Faust's default of 0 every send became its own
        # produce request, and the socket writes took a fifth of the worker's CPU (docs/benchmarks.md).
        producer_linger=0.01,
        # A flush sends hundreds of ~1.5 KB scorecards; aiokafka fills one batch per
        # partition at a time, so Faust's 16 KB default meant a broker round trip per ten
        # updates and flushes of a second or more.
        producer_max_batch_size=512 * 1024,
        processing_guarantee=settings.processing_guarantee,
        table_standby_replicas=settings.standby_replicas,
        # Stateful agents run with concurrency 1: with more, Faust can commit past a message
        # still being processed and lose it on a restart.
        stream_wait_empty=True,
        # A replacement takes over a crashed worker's partitions after this long (Faust's
        # default of 60 s kept them idle a minute); heartbeats every third of it.
        broker_session_timeout=float(settings.session_timeout_seconds),
        broker_heartbeat_interval=settings.session_timeout_seconds / 3.0,
        consumer_group_instance_id=settings.group_instance_id or None,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # The repaired fast paths of Faust's compiled stream iterator and conductor (streams/runtime.py).
        cython_optimizations=settings.faust_cython == "optimized",
    )
    # Faust's consumer, fixed not to skip partitions nobody has committed yet, and its
    # producer, fixed to flush every table write before offsets are committed (docs/faust-workarounds.md).
    metrics = Metrics()
    rewinding_consumer.install(app, on_commit_skip=lambda tp, offset: metrics.commit_skips.labels(tp.topic).inc(),
                               on_hole_rewind=lambda tp: metrics.partition_rewinds.labels(tp.topic).inc(),
                               fetch=FetchSettings(settings.fetch_wait_ms, settings.fetch_min_bytes,
                                                   settings.fetch_fill_above,
                                                   frozenset(spec.full_name(settings)
                                                             for spec in INPUT_TOPICS + STAGE_INPUT_TOPICS)))
    flushing_producer.install(app)

    def table(name: str, partitions: int = 1) -> Table:
        return app.Table(name, default=None, partitions=partitions, key_type=str, options=ROCKSDB_OPTIONS)  # type: ignore[return-value]  # Faust's factory is typed as the TableT protocol

    rep_partitions = REP_FACTS.partition_count(settings)

    pipe = Pipeline(
        settings=settings, app=app, metrics=metrics,
        input_topics={spec.name: _topic(app, settings, spec, "raw") for spec in INPUT_TOPICS},
        facts_topic=_topic(app, settings, FACTS, "raw"),
        rep_facts_topic=_topic(app, settings, REP_FACTS, "raw"),
        team_facts_topic=_topic(app, settings, TEAM_FACTS, "raw"),
        scorecards_topic=_topic(app, settings, SCORECARDS, "raw"),
        deadletter_topic=_topic(app, settings, DEADLETTER, "raw"),
        payroll_topic=_topic(app, settings, PAYROLL, "raw"),
        leaderboards_topic=_topic(app, settings, LEADERBOARDS, "raw"),
        alerts_topic=_topic(app, settings, ALERTS, "raw"),
        disputes_topic=_topic(app, settings, DISPUTES, "raw"),
        appeals_topic=_topic(app, settings, APPEALS, "raw"),
        dispute_links_topic=_topic(app, settings, DISPUTE_LINKS, "raw"),
        awards_topic=_topic(app, settings, AWARDS, "raw"),
        facts=table("facts"), emitted=table("emitted"), payroll_state=table("payroll_state"),
        boards_emitted=table("boards_emitted"), alert_state=table("alert_state"), board_rows=table("board_rows"),
        rep_facts=table("rep_facts", rep_partitions), rep_emitted=table("rep_emitted", rep_partitions),
        rep_payroll_state=table("rep_payroll_state", rep_partitions),
        rep_alert_state=table("rep_alert_state", rep_partitions),
        rep_award_reports=table("rep_award_reports", rep_partitions), award_reports=table("award_reports"),
        team_tables=TeamTables(facts=table("team_facts", rep_partitions), emitted=table("team_emitted", rep_partitions),
                               alert_state=table("team_alert_state", rep_partitions),
                               award_reports=table("team_award_reports", rep_partitions),
                               team_rows=table("team_rows"),
                               team_values=table("team_values") if settings.company_values else None)
        if settings.runs_team_stage else None,
        disputes=table("disputes"), dispute_alert_state=table("dispute_alert_state"),
        awards=table("awards"),
    )

    from sales_scorecard.agents import disputes, ingest, scorecards

    from . import auth, lag, live, me_web, page_assets, runtime, stall_guard, web

    auth.install(app.web.web_app, settings)  # type: ignore[attr-defined]  # Faust types app.web as the abstract Web; the aiohttp driver has web_app

    ingest.register(pipe)
    scorecards.register(pipe)
    disputes.register(pipe)
    web.register(pipe)
    live.register(pipe)
    page_assets.register(pipe)
    me_web.register(pipe)
    lag.register(pipe)
    stall_guard.register(pipe)
    runtime.register(pipe)
    return pipe
