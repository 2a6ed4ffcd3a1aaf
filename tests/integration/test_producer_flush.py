"""The producer fix of ``streams.flushing_producer`` against the real broker.

The worker's app queues 40 table-style writes (``send_soon``, as every table change
goes to its changelog) while handing messages on to the Kafka client is slow, then
flushes its producer, as Faust does right before it commits input offsets. With
Faust's own producer the flush returns with most of them still queued: had the worker
died right after that commit, they would be lost. With ``FlushingProducer`` every one
of them is on the broker when the flush returns."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.kafka_security import aiokafka_options
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import DEADLETTER

pytestmark = [pytest.mark.integration, pytest.mark.fault]

MESSAGES = 40
#: Every tenth hand-off waits this long: longer than Faust's 0.1 s of patience.
SLOW_SECONDS = 0.25


async def end_offset(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()


async def on_broker_after_flush(settings: Settings, stock: bool) -> tuple[int, int]:
    """(messages on the broker when the flush returned, messages that were queued)."""
    app = create_app(settings).app
    if stock:
        app.transport.Producer = faust_aiokafka.Producer
    topic = app.topic(DEADLETTER.full_name(settings), partitions=settings.partitions,
                      key_serializer="raw", value_serializer="raw")
    name = topic.get_topic_name()
    publish = topic.publish_message
    handed = 0

    async def slow_publish(fut, wait: bool = False):
        nonlocal handed
        handed += 1
        if handed % 10 == 1:
            await asyncio.sleep(SLOW_SECONDS)
        return await publish(fut, wait=wait)

    topic.publish_message = slow_publish  # type: ignore[method-assign]
    producer = app.producer
    await producer.start()
    try:
        before = await end_offset(settings, name)
        for i in range(MESSAGES):
            topic.send_soon(key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0)
        await producer.flush()
        on_broker = await end_offset(settings, name) - before
        await producer.flush()  # let the stock buffer drain before stopping
        while producer.buffer.size:
            await asyncio.sleep(0.1)
        return on_broker, MESSAGES
    finally:
        await producer.stop()


def test_fausts_producer_flush_leaves_queued_table_writes_unsent(test_settings: Settings) -> None:
    # The premise of the fix: if Faust's flush ever waits for its buffer, this says so.
    on_broker, queued = asyncio.run(on_broker_after_flush(test_settings, stock=True))
    assert on_broker < queued


def test_every_queued_table_write_is_on_the_broker_when_the_flush_returns(test_settings: Settings) -> None:
    on_broker, queued = asyncio.run(on_broker_after_flush(test_settings, stock=False))
    assert on_broker == queued
