"""Faust's Kafka producer, fixed so that a flush waits for every buffered message.

The defect (docs/faust-workarounds.md, defect 4; found with
``tests/integration/test_scale_out.py`` under CPU load): Faust writes every table
change to the table's changelog through a buffer (``Producer.send_soon``) that a
background task hands on to the Kafka client one message at a time. Before it commits
the input offsets, Faust flushes the producer, but ``ProducerBuffer.flush`` returns as
soon as 0.1 s pass without a message leaving the buffer, with the rest still in it,
and the commit goes ahead. The event loop is busy for longer than that whenever a
flush renders a few thousand scorecards, and on a loaded machine more often. If the
worker dies after such a commit, the changes still in the buffer are lost: the next
owner restores the table from the changelog without them, and the records that made
them are committed, so it never reads them again. For the ``facts`` table that is a
fact gone for good (a rep's target was missing from a final scorecard in one run).

The fix: the buffer counts the messages put into it and the messages it has handed
on, and a flush waits until everything queued before it began is handed on (or the
producer stops or crashes, as before). The Kafka client's own flush, which Faust runs
next, then waits for the broker's acknowledgements of all of them.

A second hole of the same kind: the client's flush also returns when the broker refused
a message for good (a non-retriable error, or retries past the producer's request
timeout); Faust logs a warning and commits anyway, so the write is lost. Here every
refused send is logged as an error and makes every later flush fail with
``ProducerSendError``: no offset is committed past it, Faust stops the worker, and a
restarted worker processes the uncommitted records again.

A third (defect 6; found with ``test_deal_reassigned_between_reps_on_different_workers``
under CPU load): aiokafka's client asks the broker for the metadata of every topic until
it is told of one topic to follow (``add_topic``); from then on it asks only for the
topics it follows and forgets every other one. A send looks up the metadata of its topic
but follows the topic only if the metadata is unknown. A message to a topic known from the
first, complete answer (``sales.awards``, a table's changelog) that waited in the
client's batches when the client began to follow another topic lost its partition's
leader: the client asked again and again for the metadata of the topics it follows, never
for that one, and the flush before every commit waited on the message (Faust's request
timeout, 20 minutes). Commits stopped, and with them the flow of every partition. The fix:
the client never narrows its requests to the topics it follows; it asks for every
topic's metadata, as it does until the first topic it does not know. (Faust's router
relies on that too: it finds the partition of a table's key from the producer's
metadata of the table's changelog, which a worker that never wrote the table knows only
from a complete answer.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, cast

import faust
from faust.exceptions import ProducerSendError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer

from .internals_guard import Internal

log = logging.getLogger(__name__)

#: What this module overrides or reads of Faust's producer (checked when the worker starts,
#: streams.internals_guard).
RELIES_ON = (
    Internal("faust-streaming", "faust.transport.producer:ProducerBuffer",
             ("put", "_send_pending", "flush", "message_sent", "app")),
    Internal("faust-streaming", "faust.transport.drivers.aiokafka:Producer",
             ("buffer", "send", "flush", "app", "_new_producer")),
    Internal("faust-streaming", "faust.transport.base:Transport", ("Producer",)),
    Internal("mode-streaming", "mode:Service", ("__post_init__", "state", "loop", "beacon")),
    Internal("aiokafka", "aiokafka:AIOKafkaProducer", ("send", "flush", "client")),
    Internal("aiokafka", "aiokafka.client:AIOKafkaClient",
             ("_wait_on_metadata", "add_topic", "force_metadata_update")),
)

#: How often a waiting flush looks again when no message was handed on meanwhile.
POLL_SECONDS = 0.1


class CountingProducerBuffer(ProducerBuffer):
    """Faust's producer buffer, whose flush waits for every message queued before it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.queued = 0  # messages ever put into the buffer
        self.handed_on = 0  # messages ever handed on to the Kafka client

    def put(self, fut: Any) -> None:
        super().put(fut)
        self.queued += 1

    async def _send_pending(self, fut: Any) -> None:
        await super()._send_pending(fut)
        self.handed_on += 1

    async def flush(self) -> None:
        """Wait until every message put into the buffer before this call has been handed
        on to the Kafka client; raises if the buffer stops or crashes first."""
        target = self.queued
        while self.handed_on < target:
            if self.state != "running":
                raise RuntimeError(f"Cannot flush: producer buffer {self.state} with "
                                   f"{target - self.handed_on} messages not sent")
            self.message_sent.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=POLL_SECONDS)


class FlushingProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer with a :class:`CountingProducerBuffer`, whose flush
    fails once the broker has refused any message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.app.conf.producer_threaded:  # a threaded producer queues elsewhere
            self.buffer = CountingProducerBuffer(loop=self.loop, beacon=self.beacon)
            self.buffer.app = self.app
        self.refused = 0  # messages the broker refused for good
        self.first_refusal: BaseException | None = None

    def _new_producer(self, transactional_id: str | None = None) -> Any:
        producer = super()._new_producer(transactional_id)
        ask_for_every_topic(producer.client)
        return producer

    async def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
                   timestamp: float | None, headers: Any, *, transactional_id: str | None = None) -> Awaitable:
        # aiokafka's send returns an asyncio.Future (Faust's types say only Awaitable).
        delivery = cast(asyncio.Future, await super().send(topic, key, value, partition, timestamp, headers,
                                                           transactional_id=transactional_id))
        delivery.add_done_callback(lambda fut: self._on_delivery(topic, fut))
        return delivery

    def _on_delivery(self, topic: str, delivery: asyncio.Future) -> None:
        if delivery.cancelled() or delivery.exception() is None:
            return
        self.refused += 1
        self.first_refusal = self.first_refusal or delivery.exception()
        log.error("Kafka refused a message to %s or never acknowledged it (%r): no offset is committed "
                  "from now on and the worker stops; a restarted worker processes the uncommitted records again",
                  topic, delivery.exception())

    async def flush(self) -> None:
        """Wait until every message queued so far is acknowledged by the broker; raises
        ``ProducerSendError`` if the broker ever refused one."""
        await super().flush()
        if self.refused:
            raise ProducerSendError(f"Kafka refused {self.refused} messages (first: {self.first_refusal!r}); "
                                    "committing offsets past them would lose them")


def ask_for_every_topic(client: Any) -> None:
    """Make aiokafka's ``client`` keep asking for the metadata of every topic (defect 6):
    a topic it does not know yet is asked for by a complete request, never followed alone."""

    def add_topic(topic: str) -> Any:
        return client.force_metadata_update()

    client.add_topic = add_topic


def install(app: faust.App) -> None:
    """Make ``app`` create a :class:`FlushingProducer` (before its producer exists)."""
    # This app's transport only: Faust's Transport class (declared a ClassVar) stays as it is.
    app.transport.Producer = FlushingProducer  # type: ignore[misc]  # per-app override of a ClassVar
