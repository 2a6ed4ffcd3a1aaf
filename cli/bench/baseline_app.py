"""Baseline for the throughput benchmark: a plain Faust agent, the way a Faust user
writes it first. It reads the four input topics, decodes each JSON value and does one
table update per event (a per-rep counter), with the same broker, transport security,
store and commit settings as the worker, and Faust's built-in web views off as there.
``/count`` reports how many events it has handled.

Run as ``python -m sales_scorecard.cli.bench.baseline_app baseline`` with the
``SCORECARD_*`` variables of the benchmark's settings; ``... baseline_app noop`` runs
the same agent without the table update (Faust's own per-event cost, the floor). It
runs on the event loop and Faust Cython paths of those settings (``SCORECARD_EVENT_LOOP``,
``SCORECARD_FAUST_CYTHON``), as the worker does, and ``/count`` says which it runs on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust
import orjson
from faust import web as faust_web

from sales_scorecard.streams import runtime
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import INPUT_TOPICS


def create_baseline(settings: Settings, table_write: bool = True) -> faust.App:
    """The baseline app: one agent, one table (written unless ``table_write`` is off),
    a ``/count`` page. Import it only after ``runtime.select_cython``: this imports Faust's streams."""
    from sales_scorecard.streams.app import connection_options

    datadir = Path(settings.data_dir) / "baseline"
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        # Brokers, credentials, web port and built-in views off, as in the worker.
        **connection_options(settings),
        store="memory://" if settings.store == "memory" else "rocksdb://",
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.partitions,
        producer_acks=-1,
        stream_wait_empty=True,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        cython_optimizations=settings.faust_cython == "optimized",
    )
    topics = app.topic(*(spec.full_name(settings) for spec in INPUT_TOPICS), key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    per_rep = app.Table("per_rep", default=int, partitions=settings.partitions)
    handled = {"count": 0}

    @app.agent(topics)
    async def count_events(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            event = orjson.loads(value)
            if table_write:
                per_rep[event.get("rep_id") or "-"] += 1
            handled["count"] += 1

    @app.page("/count")
    async def count(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        running = runtime.describe(asyncio.get_running_loop(), bool(app.conf.cython_optimizations))
        return self.json({**handled, "runtime": running})

    @app.page("/readyz")
    async def readyz(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        return self.json({"ready": True})

    return app


def main() -> None:
    """Run the baseline worker (argument ``baseline`` or ``noop``) until SIGTERM."""
    import sys

    from sales_scorecard.streams.worker_setup import quiet_worker

    mode = sys.argv[1] if len(sys.argv) > 1 else "baseline"
    if mode not in ("baseline", "noop"):
        raise SystemExit(f"unknown mode {mode!r}: use baseline or noop")
    settings = Settings.from_env()
    # Same worker set-up as the pipeline (loop, Cython paths, collector, no spinner), so the comparison
    # is of the agents; the same order as ``scorecard worker`` (cli/worker.py).
    runtime.select_cython(settings)
    runtime.tune_collector(settings)
    loop = runtime.install_loop(settings)
    app = create_baseline(settings, table_write=mode == "baseline")
    runtime.check_cython(settings, bool(app.conf.cython_optimizations))
    quiet_worker(app, "WARNING", loop).execute_from_commandline()


if __name__ == "__main__":
    main()
