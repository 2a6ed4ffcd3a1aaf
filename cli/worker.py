"""``scorecard worker``: run the stream processor with its web server."""

from __future__ import annotations

import logging
import logging.config
from typing import TYPE_CHECKING

import click

from sales_scorecard.cli.topics import CREATED, EXISTS, WantedTopic, ensure_topics
from sales_scorecard.streams.settings import Settings

if TYPE_CHECKING:
    import faust


@click.command("worker")
@click.option("--web-port", type=int, default=None, help="Override SCORECARD_WEB_PORT.")
@click.option("--loglevel", default=None, help="Override SCORECARD_LOG_LEVEL (e.g. INFO).")
def command(web_port: int | None, loglevel: str | None) -> None:
    """Run the Faust worker: ingest, aggregation and web views (/metrics, /healthz, /readyz)."""
    import dataclasses

    settings = Settings.from_env()
    if web_port is not None:
        settings = dataclasses.replace(settings, web_port=web_port)
    worker = build_worker(settings, (loglevel or settings.log_level).upper())
    create_faust_topics(settings, worker.app)
    worker.execute_from_commandline()


def build_worker(settings: Settings, level: str) -> faust.Worker:
    """The worker of ``settings``, built in the order its runtime needs (streams/runtime.py),
    not started."""
    from sales_scorecard.streams import internals_guard, runtime

    # Before any thread starts (Faust's consumer thread, RocksDB's): they take their arenas then.
    runtime.limit_malloc_arenas(settings)
    # Faust reads NO_CYTHON when its stream modules are first imported, which the check
    # below already does: the choice of SCORECARD_FAUST_CYTHON comes first.
    runtime.select_cython(settings)

    # Before anything is built: the consumer and producer fixes patch Faust's internals, so
    # another faust-streaming, mode-streaming or aiokafka than they were verified with stops
    # the worker here, with one line (cli.main prints InternalsMismatch).
    internals_guard.verify()

    from sales_scorecard.streams.app import create_app
    from sales_scorecard.streams.logs import logging_config
    from sales_scorecard.streams.worker_setup import quiet_worker

    logging.config.dictConfig(logging_config(level))
    runtime.tune_collector(settings)
    # The loop before the app, so that the app and everything it creates bind to it.
    loop = runtime.install_loop(settings)
    pipe = create_app(settings)
    runtime.check_cython(settings, bool(pipe.app.conf.cython_optimizations))
    return quiet_worker(pipe.app, level, loop)


def faust_topics(app: faust.types.AppT) -> list[WantedTopic]:
    """The topics Faust declares for itself, as it declares them: every table's changelog
    (compacted, the table's partitions) and the assignor's leader topic."""
    from mode.utils.times import want_seconds

    wanted = []
    for table in app.tables.values():
        topic = table.changelog_topic
        policies = [name for name, on in (("compact", topic.compacting), ("delete", topic.deleting)) if on]
        configs = {**(topic.config or {})}
        if policies:
            configs["cleanup.policy"] = ",".join(policies)
        if topic.retention:
            configs["retention.ms"] = str(int(want_seconds(topic.retention) * 1000))
        wanted.append(WantedTopic(topic.get_topic_name(), topic.partitions or app.conf.topic_partitions, configs))
    if not app.conf.topic_disable_leader:
        wanted.append(WantedTopic(f"{app.conf.id}-__assignor-__leader", 1, {}))
    return wanted


def create_faust_topics(settings: Settings, app: faust.types.AppT) -> dict[str, str]:
    """Create the topics Faust declares for itself (``faust_topics``) before the worker
    joins its group (full name -> ``created`` or ``exists``, as ``ensure_topics`` says).

    Faust declares them itself when it starts, but its consumer may subscribe before a
    topic that another worker of the group is creating at the same moment exists. Its
    metadata then lacks the topic until the next refresh: the table's changelog is
    assigned to nobody, and a write to the table fails ("changelog topic has 0
    partitions", seen with two workers started together under CPU load)."""
    from kafka.errors import KafkaError

    from sales_scorecard.cli.main import UserError

    try:
        states = ensure_topics(settings, faust_topics(app))
    except KafkaError as exc:
        raise UserError(f"cannot create the worker's own topics: {exc}") from None
    for name, state in states.items():
        if state not in (CREATED, EXISTS):
            logging.getLogger(__name__).warning("%s %s; left as it is", name, state)
    return states
