"""Ingest agents: validate each input record, dead-letter the bad, forward the good.

One agent per input topic (concurrency 1). A record that fails validation goes to
``sales.deadletter`` with its reason; everything else is forwarded to ``sales.facts``.
Any unexpected error is dead-lettered as ``processing_error``: the loop never dies.

Duplicates are not dropped here: marking an event as seen in this stage could be
persisted while its forward was not, and a crash would then lose it (the kill -9 test
caught exactly that). The aggregation stage de-duplicates atomically with the fact
write (deal/complaint versions, activities and roster entries keyed by event id) and
counts what it skips.
"""

from __future__ import annotations

import logging
import time

import orjson

from sales_scorecard.schemas.deadletter import deadletter_record
from sales_scorecard.schemas.validation import PROCESSING_ERROR, Accepted, EventValidator
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.streams.app import Pipeline

log = logging.getLogger(__name__)


def _now_rfc3339() -> str:
    from datetime import datetime, timezone

    return format_timestamp(datetime.now(timezone.utc))


def register(pipe: Pipeline) -> None:
    """Attach one validate-and-forward agent per input topic."""
    validator = EventValidator(pipe.settings.currency)
    for logical_name, topic in pipe.input_topics.items():
        _register_one(pipe, validator, logical_name, topic)


def _register_one(pipe: Pipeline, validator: EventValidator, logical_name: str, topic) -> None:
    app, metrics = pipe.app, pipe.metrics
    facts_topic, deadletter_topic = pipe.facts_topic, pipe.deadletter_topic
    assert facts_topic is not None and deadletter_topic is not None

    async def dead_letter(message, reason: str, detail: str) -> None:
        record = deadletter_record(
            reason, detail, message.topic, message.partition, message.offset, message.key, message.value,
            _now_rfc3339(),
        )
        await deadletter_topic.send(key=message.key, value=orjson.dumps(record))
        metrics.rejected.labels(logical_name, reason).inc()

    async def validate_and_forward(stream):
        async for event in stream.events():
            message = event.message
            metrics.received.labels(logical_name).inc()
            try:
                result = validator.validate(logical_name, message.value)
                if not isinstance(result, Accepted):
                    await dead_letter(message, result.reason, result.detail)
                    continue
                payload = result.event
                await facts_topic.send(key=payload["event_id"].encode(), value=orjson.dumps(payload))
                metrics.accepted.labels(logical_name).inc()
            except Exception as exc:  # noqa: BLE001 - a poison record must not stop the stream
                log.exception("ingest failed on %s[%s]@%s", message.topic, message.partition, message.offset)
                metrics.errors.labels("ingest").inc()
                try:
                    await dead_letter(message, PROCESSING_ERROR, f"{type(exc).__name__}: {exc}")
                except Exception:  # noqa: BLE001
                    log.exception("could not dead-letter a failed record")
            finally:
                metrics.last_processed.labels("ingest").set(time.time())

    app.agent(topic, name=f"ingest.{logical_name}", concurrency=1)(validate_and_forward)
