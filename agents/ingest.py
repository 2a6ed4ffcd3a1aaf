"""Ingest agents: validate each input record, dead-letter the bad, forward the good.

One agent per input topic (concurrency 1). A record that fails validation goes to
``sales.deadletter`` with its reason; everything else is forwarded to ``sales.facts``,
many facts per message (streams/fact_batches.py): the aggregation stage then pays
Faust's per-message cost once per batch, not once per record.
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
from datetime import UTC
from typing import cast

import faust
import orjson
from faust.types import Message

from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.schemas.deadletter import deadletter_record, withheld
from sales_scorecard.schemas.validation import PROCESSING_ERROR, Accepted, EventValidator
from sales_scorecard.streams.fact_batches import encode_batches
from sales_scorecard.streams.pipeline import Pipeline

log = logging.getLogger(__name__)

#: At most this many input records per forwarded batch (one Kafka message on sales.facts).
INGEST_BATCH = 1000
#: Key of forwarded batches: sales.facts has one partition, the key only names the sender.
FACTS_KEY = b"batch"


def _now_rfc3339() -> str:
    from datetime import datetime

    return format_timestamp(datetime.now(UTC))


def register(pipe: Pipeline) -> None:
    """Attach one validate-and-forward agent per input topic."""
    validator = EventValidator(pipe.settings.currency)
    for logical_name, topic in pipe.input_topics.items():
        _register_one(pipe, validator, logical_name, topic)


def _register_one(pipe: Pipeline, validator: EventValidator, logical_name: str, topic: faust.TopicT) -> None:
    app, metrics = pipe.app, pipe.metrics
    facts_topic, deadletter_topic = pipe.facts_topic, pipe.deadletter_topic

    async def dead_letter(message: Message, reason: str, detail: str) -> None:
        raw, detail = withheld(message.value, detail)
        record = deadletter_record(
            reason, detail, message.topic, message.partition, message.offset, message.key, raw, _now_rfc3339(),
        )
        await deadletter_topic.send(key=message.key, value=orjson.dumps(record))
        metrics.rejected.labels(logical_name, reason).inc()

    batch_seconds = pipe.settings.ingest_batch_ms / 1000.0
    received, accepted = metrics.received.labels(logical_name), metrics.accepted.labels(logical_name)
    last_processed = metrics.last_processed.labels("ingest")

    def validate_one(message: Message) -> bytes | tuple[str, str]:
        """The encoded fact of a valid record, else the (reason, detail) to dead-letter it with."""
        try:
            result = validator.validate(logical_name, message.value)
            if not isinstance(result, Accepted):
                return result.reason, result.detail
            return orjson.dumps(result.event)
        except Exception as exc:  # a poison record must not stop the stream: dead-letter it
            log.exception("ingest failed on %s[%s]@%s", message.topic, message.partition, message.offset)
            metrics.errors.labels("ingest").inc()
            return PROCESSING_ERROR, f"{type(exc).__name__}: {exc}"

    async def validate_and_forward(stream: faust.StreamT[bytes]) -> None:
        # take_events acks a batch only after this body has forwarded it, so a commit
        # never passes a record whose fact is not yet handed to the producer.
        # StreamT does not declare take_events; every stream Faust hands an agent is a Stream.
        batches = cast(faust.Stream[bytes], stream).take_events(INGEST_BATCH, within=batch_seconds)
        async for events in batches:
            received.inc(len(events))
            facts: list[bytes] = []
            for event in events:
                outcome = validate_one(event.message)
                if isinstance(outcome, bytes):
                    facts.append(outcome)
                    continue
                try:
                    await dead_letter(event.message, *outcome)
                except Exception:  # the stream goes on; counted and logged
                    metrics.errors.labels("ingest").inc()
                    log.exception("could not dead-letter a failed record")
            # how old the batch's input is: a stage that is behind flushes on the cadence only
            since = round(1000 * min(e.message.timestamp for e in events)) if events else None
            for value in encode_batches(facts, since=since):
                await facts_topic.send(key=FACTS_KEY, value=value)
            accepted.inc(len(facts))
            last_processed.set(time.time())

    app.agent(topic, name=f"ingest.{logical_name}", concurrency=1)(validate_and_forward)
