"""Starting a Faust worker the way every process of this project does."""

from __future__ import annotations

import faust

from .logs import logging_config


def quiet_worker(app: faust.App, level: str) -> faust.Worker:
    """A Faust worker with structured logs and no terminal spinner.

    Faust's spinner sets the root logger to DEBUG so that it can spin on every log line;
    every debug call in Faust and aiokafka then builds a log record (about 5-8% of the
    worker's CPU in a py-spy profile; docs/benchmarks.md). Without the spinner the root
    logger keeps the configured level.
    """
    worker = faust.Worker(app, loglevel=level, quiet=True, logging_config=logging_config(level))
    worker.spinner = None
    return worker
