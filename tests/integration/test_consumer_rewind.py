"""The consumer fix of ``streams.rewinding_consumer`` against the real broker.

A consumer of a group reads three partitions to their end: one with a committed offset
(3), one committed at 0, one never committed. Seeking back to the committed offsets is
what Faust does after a rebalance to re-deliver records it fetched but dropped. aiokafka's
own ``seek_to_committed`` leaves the last two at the end (the defect behind the stalled
survivor of ``test_scale_out``); ``seek_to_committed_or_reset`` brings every partition
back to where its records are delivered again, and so does the stall guard's
``rewind_to_committed``."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from sales_scorecard.streams.kafka_security import aiokafka_options
from sales_scorecard.streams.rewinding_consumer import rewind_to_committed, seek_to_committed_or_reset
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import INPUT_TOPICS

pytestmark = [pytest.mark.integration, pytest.mark.fault]

RECORDS_PER_PARTITION = 10


async def read_to_end(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
    for _ in range(100):
        if [await consumer.position(tp) for tp in tps] == [RECORDS_PER_PARTITION] * len(tps):
            return
        await consumer.getmany(timeout_ms=500)
    raise AssertionError([await consumer.position(tp) for tp in tps])


async def positions_after_rewind(settings: Settings, how: str) -> dict[int, int]:
    topic = INPUT_TOPICS[0].full_name(settings)
    tps = [TopicPartition(topic, p) for p in range(3)]
    options = {"bootstrap_servers": settings.bootstrap_servers, **aiokafka_options(settings)}
    producer = AIOKafkaProducer(**options, acks="all")
    await producer.start()
    try:
        for tp in tps:
            for i in range(RECORDS_PER_PARTITION):
                await producer.send_and_wait(topic, f"r{i}".encode(), partition=tp.partition)
    finally:
        await producer.stop()

    group = f"rewind-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(**options, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.commit({tps[0]: OffsetAndMetadata(3, ""), tps[1]: OffsetAndMetadata(0, "")})
        await read_to_end(consumer, tps)  # fetched, as if Faust had dropped them in a rebalance
        if how == "aiokafka":
            await consumer.seek_to_committed()
        else:
            if how == "after a rebalance":
                sought = await seek_to_committed_or_reset(consumer, "earliest")
            else:  # the stall guard's rewind of chosen partitions
                sought = await rewind_to_committed(consumer, tps, "earliest")
            # the positions the commit guard measures each partition's head from, as sought
            assert {tp.partition: offset for tp, offset in sought.positions.items()} == {
                tp.partition: await consumer.position(tp) for tp in tps}
        return {tp.partition: await consumer.position(tp) for tp in tps}
    finally:
        await consumer.stop()


def test_aiokafka_alone_leaves_uncommitted_partitions_at_the_end(test_settings: Settings) -> None:
    # The premise of the fix: if aiokafka ever rewinds these itself, this test says so.
    assert asyncio.run(positions_after_rewind(test_settings, "aiokafka")) == {0: 3, 1: 10, 2: 10}


def test_every_partition_is_rewound_to_its_committed_offset_or_the_log_start(test_settings: Settings) -> None:
    assert asyncio.run(positions_after_rewind(test_settings, "after a rebalance")) == {0: 3, 1: 0, 2: 0}


def test_the_stall_guard_rewind_brings_chosen_partitions_back_the_same_way(test_settings: Settings) -> None:
    assert asyncio.run(positions_after_rewind(test_settings, "stall guard")) == {0: 3, 1: 0, 2: 0}
