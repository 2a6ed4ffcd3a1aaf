"""The internal hops' message format: batches of facts, with the clock and the input's age."""

from __future__ import annotations

import orjson

from sales_scorecard.streams.fact_batches import MAX_BATCH_BYTES, TICK, Batch, decode_batch, encode_batches


def test_a_batch_round_trips_with_its_clock_and_the_time_its_oldest_input_was_sent() -> None:
    facts = [{"type": "activity", "event_id": f"a{n}"} for n in range(3)]
    values = encode_batches((orjson.dumps(f) for f in facts), clock="2026-11-05T01:00:00.000Z", since=1_700_000_000_123)
    (value,) = values
    batch = decode_batch(value)
    assert batch.facts == facts and batch.clock == "2026-11-05T01:00:00.000Z" and batch.since == 1_700_000_000_123
    assert batch.age(sent_at=1_700_000_100.0, now=1_700_000_002.123) == 2.0  # from the input, not the message


def test_without_since_the_age_is_the_messages_own() -> None:
    (value,) = encode_batches([orjson.dumps({"type": "activity"})])
    batch = decode_batch(value)
    assert batch.since is None and batch.age(sent_at=100.0, now=100.25) == 0.25
    assert decode_batch(TICK) == Batch()


def test_every_message_of_a_long_batch_carries_the_clock_and_since() -> None:
    fact = orjson.dumps({"type": "activity", "note": "x" * 1000})
    values = list(encode_batches([fact] * 600, clock="c", since=5))
    assert len(values) > 1 and all(len(v) <= MAX_BATCH_BYTES for v in values)
    decoded = [decode_batch(v) for v in values]
    assert sum(len(b.facts) for b in decoded) == 600
    assert {(b.clock, b.since) for b in decoded} == {("c", 5)}
