"""The producer fix of ``streams.flushing_producer``: a flush waits for every message
queued before it (Faust's own gives up after 0.1 s without progress)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.exceptions import ProducerSendError
from faust.transport.producer import ProducerBuffer

from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.flushing_producer import POLL_SECONDS, CountingProducerBuffer, FlushingProducer
from sales_scorecard.streams.settings import Settings

#: A hand-off to the Kafka client slower than Faust's 0.1 s of patience, as when the
#: event loop is busy rendering scorecards on a loaded machine.
SLOW_SECONDS = 0.25


def new_buffer(cls: type[ProducerBuffer]) -> ProducerBuffer:
    buffer = cls()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))
    return buffer


def slow_messages(count: int, sent: list, prefix: str = "m") -> list[Any]:
    """Stand-ins for Faust's FutureMessage whose publication takes SLOW_SECONDS and is
    recorded in ``sent``: the buffer's own ``_send_pending`` hands them on."""

    async def publish_message(fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(SLOW_SECONDS)
        sent.append(fut.value)

    channel = SimpleNamespace(publish_message=publish_message)
    return [SimpleNamespace(value=f"{prefix}{i}", message=SimpleNamespace(channel=channel)) for i in range(count)]


async def stop(buffer: ProducerBuffer) -> None:
    if buffer.size:  # a stop would flush (and wait for) what is left
        buffer._stopped.set()
    else:
        await buffer.stop()


async def flush_after_putting(cls: type[ProducerBuffer], count: int) -> tuple[list, int]:
    """(messages sent when flush returned, messages still queued then)."""
    sent: list = []
    buffer = new_buffer(cls)
    await buffer.start()
    try:
        for fut in slow_messages(count, sent):
            buffer.put(fut)
        await buffer.flush()
        return list(sent), buffer.size
    finally:
        await stop(buffer)


def test_fausts_flush_returns_with_messages_still_in_the_buffer() -> None:
    # The premise of the fix: if Faust's buffer ever waits for its messages, this says so.
    sent, left = asyncio.run(flush_after_putting(ProducerBuffer, 3))
    assert len(sent) < 3 and left > 0


def test_the_counting_buffer_flush_waits_for_every_message_in_order() -> None:
    sent, left = asyncio.run(flush_after_putting(CountingProducerBuffer, 3))
    assert (sent, left) == (["m0", "m1", "m2"], 0)


def test_a_flush_does_not_wait_for_messages_queued_after_it_began() -> None:
    async def scenario() -> tuple[list, int, int]:
        sent: list = []
        buffer = new_buffer(CountingProducerBuffer)
        await buffer.start()
        for fut in slow_messages(2, sent, "before"):
            buffer.put(fut)
        flush = asyncio.create_task(buffer.flush())
        await asyncio.sleep(0.01)
        for fut in slow_messages(6, sent, "after"):
            buffer.put(fut)
        await flush
        at_return = list(sent)
        counts = buffer.queued, buffer.size
        await stop(buffer)
        return at_return, *counts

    sent, queued, left = asyncio.run(scenario())
    assert sent[:2] == ["before0", "before1"] and len(sent) < 8
    assert queued == 8 and left > 0


def test_a_flush_of_a_crashed_buffer_raises_instead_of_waiting_forever() -> None:
    async def scenario() -> None:
        buffer = new_buffer(CountingProducerBuffer)
        buffer.put(slow_messages(1, [])[0])  # never started: nothing hands it on
        buffer._started.set()
        await buffer.crash(RuntimeError("Kafka client gone"))
        await buffer.flush()

    with pytest.raises(RuntimeError, match="crashed with 1 messages not sent"):
        asyncio.run(scenario())


def test_the_worker_app_creates_the_flushing_producer(tmp_path: Any) -> None:
    app = create_app(Settings(data_dir=str(tmp_path))).app
    assert isinstance(app.producer, FlushingProducer)
    assert isinstance(app.producer.buffer, CountingProducerBuffer)
    assert POLL_SECONDS <= 0.1  # a flush notices a hand-off as soon as Faust's would


def test_once_a_message_is_refused_every_flush_fails(tmp_path: Any) -> None:
    producer = create_app(Settings(data_dir=str(tmp_path))).app.producer

    async def scenario() -> list[str]:
        delivered, refused = asyncio.get_running_loop().create_future(), asyncio.get_running_loop().create_future()
        delivered.set_result("metadata")
        refused.set_exception(TimeoutError("delivery timed out"))
        outcomes = []
        for delivery in (delivered, refused, delivered):
            producer._on_delivery("t.sales.facts", delivery)
            try:
                await producer.flush()
                outcomes.append("ok")
            except ProducerSendError as exc:
                outcomes.append(str(exc))
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes[0] == "ok"
    assert outcomes[1] == outcomes[2] and "refused 1 messages" in outcomes[1] and "delivery timed out" in outcomes[1]
