"""Web views on the worker: Prometheus metrics and health.

``/metrics`` (prometheus-client text format), ``/healthz`` (the process is alive) and
``/readyz`` (tables recovered and, on the worker that owns the aggregation stage, the
engine rebuilt; 503 otherwise). They carry no business data.
"""

from __future__ import annotations

import time

from faust import web as faust_web

from .app import Pipeline

#: A stream with no record processed for this long while records wait is "stalled".
STALL_SECONDS = 120.0


def register(pipe: Pipeline) -> None:
    """Attach the operational views."""
    app, metrics = pipe.app, pipe.metrics

    @app.page("/metrics")
    async def metrics_view(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        return self.bytes(metrics.exposition(), content_type="text/plain")

    @app.page("/healthz")
    async def healthz(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        return self.json({"status": "alive", "time": time.time()})

    @app.page("/readyz")
    async def readyz(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        ready, detail = readiness(pipe)
        return self.json({"ready": ready, **detail}, status=200 if ready else 503)


def readiness(pipe: Pipeline) -> tuple[bool, dict]:
    """Whether the worker is ready to serve, with the reasons."""
    app = pipe.app
    recovered = bool(app.tables.recovery.completed.is_set()) if app.tables.recovery.started else False
    rebalancing = bool(app.rebalancing)
    engine_needed = _owns_facts(pipe)
    engine_loaded = pipe.state.get("engine") is not None
    ready = recovered and not rebalancing and (engine_loaded or not engine_needed)
    return ready, {
        "recovered": recovered,
        "rebalancing": rebalancing,
        "aggregation_owner": engine_needed,
        "engine_loaded": engine_loaded,
    }


def _owns_facts(pipe: Pipeline) -> bool:
    assert pipe.facts_topic is not None
    try:
        assignment = pipe.app.consumer.assignment()
    except Exception:  # noqa: BLE001 - consumer not started yet
        return False
    name = pipe.facts_topic.get_topic_name()
    return any(tp.topic == name for tp in assignment)
