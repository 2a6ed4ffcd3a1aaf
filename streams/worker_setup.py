"""Starting a Faust worker the way every process of this project does."""

from __future__ import annotations

import asyncio

import faust

from .logs import logging_config


def quiet_worker(app: faust.App, level: str, loop: asyncio.AbstractEventLoop | None = None) -> faust.Worker:
    """A Faust worker with structured logs and no terminal spinner, on ``loop`` (the one
    ``streams.runtime.install_loop`` made; ``None``: the current loop).

    Faust's spinner sets the root logger to DEBUG so that it can spin on every log line;
    every debug call in Faust and aiokafka then builds a log record (about 5-8% of the
    worker's CPU in a py-spy profile; docs/benchmarks.md). Without the spinner the root
    logger keeps the configured level.
    """
    worker = faust.Worker(app, loglevel=level, quiet=True, logging_config=logging_config(level), loop=loop)
    worker.spinner = None
    return worker
