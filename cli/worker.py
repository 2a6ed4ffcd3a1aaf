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

    import faust

    from sales_scorecard.streams.app import create_app
    from sales_scorecard.streams.logs import logging_config

    settings = Settings.from_env()
    if web_port is not None:
        settings = dataclasses.replace(settings, web_port=web_port)
    level = (loglevel or settings.log_level).upper()
    config = logging_config(level)
    logging.config.dictConfig(config)
    pipe = create_app(settings)
    worker = faust.Worker(pipe.app, loglevel=level, quiet=True, logging_config=config)
    worker.execute_from_commandline()
