"""``scorecard worker``: run the stream processor with its web server."""

from __future__ import annotations

import logging
import logging.config

import click

from sales_scorecard.streams.settings import Settings


@click.command("worker")
@click.option("--web-port", type=int, default=None, help="Override SCORECARD_WEB_PORT.")
@click.option("--loglevel", default=None, help="Override SCORECARD_LOG_LEVEL (e.g. INFO).")
def command(web_port: int | None, loglevel: str | None) -> None:
    """Run the Faust worker: ingest, aggregation and web views (/metrics, /healthz, /readyz)."""
    import dataclasses

    from sales_scorecard.streams import internals_guard

    # Before anything is built: the consumer and producer fixes patch Faust's internals, so
    # another faust-streaming, mode-streaming or aiokafka than they were verified with stops
    # the worker here, with one line (cli.main prints InternalsMismatch).
    internals_guard.verify()

    from sales_scorecard.streams.app import create_app
    from sales_scorecard.streams.logs import logging_config
    from sales_scorecard.streams.worker_setup import quiet_worker

    settings = Settings.from_env()
    if web_port is not None:
        settings = dataclasses.replace(settings, web_port=web_port)
    level = (loglevel or settings.log_level).upper()
    logging.config.dictConfig(logging_config(level))
    pipe = create_app(settings)
    quiet_worker(pipe.app, level).execute_from_commandline()
