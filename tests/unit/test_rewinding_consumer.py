"""The consumer fix of ``streams.rewinding_consumer``: which partitions are rewound after
aiokafka's ``seek_to_committed``, and that the worker's Faust app uses it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from sales_scorecard.streams import rewinding_consumer
from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.fetch_pacing import FetchSettings
from sales_scorecard.streams.rewinding_consumer import (
    Hole,
    RewindingConsumer,
    RewindingConsumerThread,
    rewind_after_seek,
    rewind_to_committed,
    seek_to_committed_or_reset,
    unacknowledged,
)
from sales_scorecard.streams.settings import Settings, SettingsError
from sales_scorecard.streams.topics import INPUT_TOPICS, STAGE_INPUT_TOPICS


def tp(partition: int, topic: str = "sales.deals") -> TopicPartition:
    return TopicPartition(topic, partition)


def test_only_partitions_aiokafka_leaves_alone_are_rewound() -> None:
    rewind = rewind_after_seek({tp(0): 7, tp(1): None, tp(2): 0, tp(3): 1, tp(4): -1})
    assert rewind.to_zero == (tp(2),)
    assert set(rewind.to_reset) == {tp(1), tp(4)}


def test_nothing_to_rewind_when_everything_is_committed_above_zero() -> None:
    rewind = rewind_after_seek({tp(0): 3, tp(1): 12})
    assert rewind.to_zero == () and rewind.to_reset == ()


def test_table_changelogs_are_never_rewound() -> None:
    changelog = "app-facts-changelog"
    rewind = rewind_after_seek({tp(0, changelog): None, tp(1, changelog): 0, tp(0): None}, {changelog})
    assert rewind.to_zero == () and rewind.to_reset == (tp(0),)


class FakeAiokafkaConsumer:
    """Records the seeks; ``seek_to_committed`` behaves like aiokafka 0.14 (only offsets > 0)."""

    def __init__(self, committed: dict[TopicPartition, int | None], position: int) -> None:
        self.committed_offsets = committed
        self.positions = {tp: position for tp in committed}

    async def seek_to_committed(self) -> dict[TopicPartition, int | None]:
        for tp, offset in self.committed_offsets.items():
            if offset and offset > 0:
                self.positions[tp] = offset
        return dict(self.committed_offsets)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        for tp in tps:
            self.positions[tp] = -2  # "the log start", whatever offset that is

    async def seek_to_end(self, *tps: TopicPartition) -> None:
        for tp in tps:
            self.positions[tp] = -1

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 3 for tp in tps}  # the log start, as the broker says

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 90 for tp in tps}


A, NEVER, ZERO, CHANGELOG = tp(0), tp(1), tp(2), tp(0, "app-facts-changelog")


def test_every_partition_ends_at_its_committed_offset_or_the_reset_position() -> None:
    consumer = FakeAiokafkaConsumer({A: 5, NEVER: None, ZERO: 0, CHANGELOG: None}, position=40)
    sought = asyncio.run(seek_to_committed_or_reset(consumer, "earliest", {CHANGELOG.topic}))
    assert sought.committed == {A: 5, NEVER: None, ZERO: 0, CHANGELOG: None}
    assert consumer.positions == {A: 5, NEVER: -2, ZERO: 0, CHANGELOG: 40}
    # where the guard measures each stream partition's head from: the log start is offset 3 here
    assert sought.positions == {A: 5, NEVER: 3, ZERO: 0}


def test_latest_reset_seeks_uncommitted_partitions_to_the_end() -> None:
    consumer = FakeAiokafkaConsumer({NEVER: None}, position=40)
    sought = asyncio.run(seek_to_committed_or_reset(consumer, "latest"))
    assert consumer.positions == {NEVER: -1}
    assert sought.positions == {NEVER: 90}


def test_the_worker_app_creates_the_rewinding_consumer(tmp_path: Any) -> None:
    pipe = create_app(Settings(data_dir=str(tmp_path)))
    consumer = pipe.app.consumer
    assert isinstance(consumer, RewindingConsumer)
    assert isinstance(consumer._thread, RewindingConsumerThread)
    assert pipe.app.conf.consumer_auto_offset_reset == "earliest"


def test_the_worker_thread_rewinds_input_partitions_but_not_its_table_changelogs(tmp_path: Any) -> None:
    pipe = create_app(Settings(data_dir=str(tmp_path)))
    assert pipe.facts is not None and pipe.facts_topic is not None
    changelog = TopicPartition(pipe.facts.changelog_topic.get_topic_name(), 0)
    facts = TopicPartition(pipe.facts_topic.get_topic_name(), 0)
    fake = FakeAiokafkaConsumer({changelog: None, facts: None}, position=40)
    thread = pipe.app.consumer._thread
    thread._consumer = fake
    asyncio.run(thread._seek_to_committed_or_reset())
    assert fake.positions == {changelog: 40, facts: -2}


def test_install_only_changes_the_consumer_class_of_that_app(tmp_path: Any) -> None:
    import faust

    plain = faust.App("plain-test", broker="kafka://localhost:1", web_enabled=False)
    fixed = faust.App("fixed-test", broker="kafka://localhost:1", web_enabled=False)
    rewinding_consumer.install(fixed)
    assert not isinstance(plain.consumer, RewindingConsumer)
    assert isinstance(fixed.consumer, RewindingConsumer)


class CommittedFake(FakeAiokafkaConsumer):
    """Adds aiokafka's ``committed(tp)``."""

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.committed_offsets[tp]


def test_rewind_to_committed_seeks_each_partition_back() -> None:
    consumer = CommittedFake({A: 158, NEVER: None, ZERO: 0}, position=2026)
    sought = asyncio.run(rewind_to_committed(consumer, [A, NEVER, ZERO], "earliest"))
    assert sought.committed == {A: 158, NEVER: None, ZERO: 0}
    assert consumer.positions == {A: 158, NEVER: -2, ZERO: 0}
    assert sought.positions == {A: 158, NEVER: 3, ZERO: 0}


def test_rewind_forgets_what_faust_tracked_for_the_partitions_and_nothing_else(tmp_path: Any) -> None:
    pipe = create_app(Settings(data_dir=str(tmp_path)))
    consumer = pipe.app.consumer
    stuck, other = TopicPartition("t.sales.activities", 2), TopicPartition("t.sales.activities", 0)
    # the state test_scale_out found: everything read, committed stuck at 158 behind a missing ack
    consumer._acked[stuck] = list(range(160, 2026))
    consumer._acked_index[stuck] = set(range(160, 2026))
    consumer._read_offset[stuck], consumer._committed_offset[stuck] = 2025, 158
    consumer._acked[other], consumer._read_offset[other], consumer._committed_offset[other] = [7], 7, 5
    thread = consumer._thread
    thread._consumer = CommittedFake({stuck: 158}, position=2026)
    thread.rewind = lambda tps: thread._rewind(list(tps))  # the same call, without the consumer's thread
    assert consumer._new_offset(stuck) is None  # no commit past the hole

    asyncio.run(consumer.rewind([stuck]))
    assert stuck not in consumer._acked and stuck not in consumer._acked_index and stuck not in consumer._gap
    assert consumer._read_offset[stuck] == 158 and consumer._committed_offset[stuck] == 158
    assert consumer._thread._consumer.positions == {stuck: 158}
    assert consumer._acked[other] == [7] and consumer._read_offset[other] == 7
    # re-delivered records are acknowledged from the committed offset on, so commits resume
    for offset in (158, 159, 160):
        consumer._acked[stuck].append(offset)
    assert consumer._new_offset(stuck) == 161


def _consumer(tmp_path: Any, guarantee: str = "at_least_once") -> Any:
    return create_app(Settings(data_dir=str(tmp_path), processing_guarantee=guarantee)).app.consumer


def test_with_transactions_a_commit_past_an_unacknowledged_offset_is_reported(tmp_path: Any) -> None:
    consumer = _consumer(tmp_path, "exactly_once")
    skips: list = []
    consumer.on_commit_skip = lambda tp, offset: skips.append((tp, offset))
    hole, fine, marker = (TopicPartition("t.sales.targets", p) for p in range(3))
    consumer._committed_offset.update({hole: 32, fine: 32, marker: 32})
    consumer._acked[hole] = [33, 34]  # 32 was never acknowledged: Faust commits past it anyway
    consumer._acked[fine] = [32, 33, 34]
    consumer._acked[marker] = [33, 34]
    consumer._gap[marker].addi(32, 33)  # a known gap at 32 (no record there) is not a skip
    assert [consumer._new_offset(tp) for tp in (hole, fine, marker)] == [35, 35, 35]
    assert skips == [(hole, 32)]


def test_at_least_once_a_hole_is_re_delivered_instead_of_committed_past(tmp_path: Any) -> None:
    consumer = _consumer(tmp_path)
    one, many, fine = (TopicPartition("t.sales.rep-facts", p) for p in range(3))
    consumer._committed_offset.update({one: 22, many: 22, fine: 22})
    consumer._acked[one] = [23, 24]  # 22 never acknowledged
    consumer._acked[many] = [30, 31]  # 22..29 never acknowledged (a stuck commit in Faust)
    consumer._acked[fine] = [22, 23]
    assert [consumer._new_offset(tp) for tp in (one, many, fine)] == [None, None, 24]
    assert consumer.hole_repair.requested == {one, many}
    assert consumer._new_offset(one) is None  # still requested: no second request, no commit


def _batches(monkeypatch: Any, batches: list[list[tuple[Any, int]]]) -> None:
    """Faust's getmany hands out ``batches`` (partition, offset) one call at a time."""
    calls = iter(batches)

    async def getmany(self: Any, timeout: float) -> Any:
        for tp, offset in next(calls):
            yield tp, offset

    monkeypatch.setattr(faust_consumer.Consumer, "getmany", getmany)


def test_a_requested_re_delivery_is_applied_between_two_batches_and_holds_back_its_records(
        tmp_path: Any, monkeypatch: Any) -> None:
    consumer = _consumer(tmp_path)
    hole, other = TopicPartition("t.sales.rep-facts", 0), TopicPartition("t.sales.rep-facts", 1)
    rewound: list = []

    async def rewind(tps: Any) -> dict:
        rewound.append(set(tps))
        for tp in tps:
            consumer._read_offset[tp] = consumer._committed_offset[tp]
        return {}

    consumer.rewind = rewind
    consumer.assignment = lambda: {hole, other}
    _batches(monkeypatch, [[(hole, 23), (other, 5), (hole, 24)], [(hole, 22), (hole, 23)]])

    async def consume() -> list:
        got = []
        async for tp, offset in consumer.getmany(timeout=1.0):
            got.append((tp.partition, offset))
            if offset == 23 and tp == hole:
                # a commit in the middle of the batch finds the hole at 22
                consumer._committed_offset[hole], consumer._acked[hole] = 22, [23]
                assert consumer._new_offset(hole) is None
        assert rewound == []  # never while a batch is being handed out
        consumer._read_offset[hole] = 24
        async for tp, offset in consumer.getmany(timeout=1.0):
            got.append((tp.partition, offset))
        return got

    got = asyncio.run(consume())
    assert got == [(0, 23), (1, 5), (0, 22), (0, 23)]  # 24 held back; the partition re-read from 22
    assert rewound == [{hole}]
    # re-reading: acknowledgements from before the rewind are no new hole ...
    consumer._read_offset[hole], consumer._acked[hole] = 23, [24]
    assert consumer._new_offset(hole) is None and not consumer.hole_repair.requested
    # ... until the partition is read again as far as before the rewind (24): a hole then is real
    consumer._read_offset[hole] = 24
    assert consumer._new_offset(hole) is None and consumer.hole_repair.requested == {hole}


def test_a_hole_that_stays_for_minutes_falls_back_to_faust(tmp_path: Any) -> None:
    consumer = _consumer(tmp_path)
    skips: list = []
    consumer.on_commit_skip = lambda tp, offset: skips.append((tp.partition, offset))
    now = [0.0]
    consumer.hole_repair = rewinding_consumer.HoleRepair(rewinding_consumer.HoleTracker(clock=lambda: now[0]))
    tp = TopicPartition("t.sales.rep-facts", 4)
    consumer._committed_offset[tp] = 7
    answers = []
    for now[0] in (0.0, 1.0, rewinding_consumer.GIVE_UP_SECONDS - 1, rewinding_consumer.GIVE_UP_SECONDS):
        consumer._acked[tp] = [8, 9]
        answers.append(consumer._new_offset(tp))
        consumer.hole_repair.requested.clear()  # re-delivered, and the hole is back
    assert answers == [None, None, None, 10]
    assert skips == [(4, 7)]


def test_the_hole_tracker_times_each_hole_from_when_it_was_first_seen() -> None:
    now = [0.0]
    tracker = rewinding_consumer.HoleTracker(clock=lambda: now[0])
    tp = TopicPartition("t", 0)
    limit = rewinding_consumer.GIVE_UP_SECONDS
    assert tracker.should_rewind(tp, Hole(5, 5)) is True
    now[0] = limit - 0.5
    assert tracker.should_rewind(tp, Hole(5, 7)) is True
    now[0] = limit
    assert tracker.should_rewind(tp, Hole(5, 5)) is False  # given up at this offset
    assert tracker.should_rewind(tp, Hole(9, 9)) is True  # a hole elsewhere starts again


def test_unacknowledged_offsets_are_the_head_before_the_first_ack_and_what_a_gap_covers() -> None:
    assert unacknowledged(5, [5, 6, 7]) == []
    assert unacknowledged(5, [3, 4, 5]) == []  # re-read records below the committed offset
    assert unacknowledged(5, [6, 7]) == [Hole(5, 5)]
    assert unacknowledged(0, [4, 5]) == [Hole(0, 3)]
    # Faust's gap of a read offset jumping from 11 to 15 is [12, 16): 12..14 never read
    assert unacknowledged(10, [10, 11, 15, 16], [(12, 16)]) == [Hole(12, 14)]
    assert unacknowledged(10, [11, 15], [(12, 16)]) == [Hole(10, 10), Hole(12, 14)]
    assert unacknowledged(10, [10, 11, 12, 13, 14, 15], [(12, 16)]) == []  # all read after all
    assert unacknowledged(10, [10, 11], [(12, 16)]) == []  # nothing acknowledged past the gap yet
    assert unacknowledged(20, [20, 21, 30], [(2, 5), (25, 27)]) == [Hole(25, 26)]  # older gaps are committed
    # separate runs stay apart: records between them were read
    assert unacknowledged(0, [3, 4, 8, 9], [(5, 9)]) == [Hole(0, 2), Hole(5, 7)]
    assert unacknowledged(100, [100, 101, 102, 105, 106, 110, 111], [(103, 106), (107, 111)]) == [
        Hole(103, 104), Hole(107, 109)]
    assert unacknowledged(3, []) == []


def test_a_partition_nobody_committed_is_guarded_from_where_the_seek_put_it(tmp_path: Any) -> None:
    # The loss found in a kill run: sales.reviews[5] offset 0 never acknowledged, 1.. were;
    # Faust keeps no committed offset (none, or 0, was committed) and would commit 3.
    consumer = _consumer(tmp_path)
    fresh, zero = TopicPartition("t.sales.reviews", 5), TopicPartition("t.sales.reviews", 1)
    consumer._thread.positions = {fresh: 0, zero: 0}
    consumer._thread.seek_to_committed = _returning({fresh: None, zero: 0})
    asyncio.run(consumer.perform_seek())
    assert consumer._committed_offset.get(fresh) is None and consumer._committed_offset.get(zero) is None
    consumer._acked[fresh], consumer._acked[zero] = [1, 2], [0, 1, 2]
    assert consumer._new_offset(fresh) is None and consumer.hole_repair.requested == {fresh}
    assert consumer._new_offset(zero) == 3


def test_a_gap_in_what_faust_read_is_re_delivered_not_counted_as_acknowledged(tmp_path: Any) -> None:
    # The loss found in a kill run: rep-facts records dropped in a rebalance made the read
    # offset jump; Faust's gap bookkeeping would count them as acknowledged and commit 17.
    consumer = _consumer(tmp_path)
    tp = TopicPartition("t.sales.rep-facts", 4)
    consumer._committed_offset[tp] = 10
    consumer._acked[tp] = [10, 11, 15, 16]
    consumer._gap[tp].addi(12, 16)
    assert consumer._new_offset(tp) is None and consumer.hole_repair.requested == {tp}


def test_skipped_offsets_are_those_the_fetches_went_past_since_the_seek() -> None:
    skipped = rewinding_consumer.SkippedOffsets()
    tp = TopicPartition("t.sales.targets", 0)
    skipped.fetched(tp, [4, 9])  # never sought (a table changelog): not followed
    assert not skipped.holds_no_record(tp, Hole(5, 8)) and tp not in skipped.expected
    skipped.sought({tp: 10})
    skipped.fetched(tp, [12, 13])
    skipped.fetched(tp, [17])
    assert skipped.holds_no_record(tp, Hole(10, 11)) and skipped.holds_no_record(tp, Hole(14, 16))
    assert skipped.holds_no_record(tp, Hole(15, 15))
    assert not skipped.holds_no_record(tp, Hole(10, 12))  # 12 was fetched
    assert not skipped.holds_no_record(tp, Hole(18, 18))  # not read that far
    skipped.prune(tp, 14)  # committed up to 14: what was skipped below is forgotten
    assert skipped.skipped[tp] == [(14, 16)]
    skipped.sought({tp: 10})  # read again from 10: what was skipped before no longer counts
    assert not skipped.holds_no_record(tp, Hole(14, 16))
    skipped.forget([tp])
    skipped.fetched(tp, [30, 40])
    assert tp not in skipped.skipped


def test_a_hole_of_offsets_the_fetch_went_past_is_committed_past_without_a_re_delivery(tmp_path: Any) -> None:
    # A compacted topic: offsets 12..14 and 0..1 were compacted away; aiokafka's fetches
    # went past them, so no record is there to re-deliver.
    consumer = _consumer(tmp_path)
    skips: list = []
    consumer.on_commit_skip = lambda tp, offset: skips.append(offset)
    tp, head = TopicPartition("t.sales.targets", 0), TopicPartition("t.sales.targets", 1)
    consumer._thread.skipped.sought({tp: 10, head: 0})
    consumer._thread.skipped.fetched(tp, [10, 11, 15, 16])
    consumer._thread.skipped.fetched(head, [2, 3])
    consumer._committed_offset[tp], consumer._acked[tp] = 10, [10, 11, 15, 16]
    consumer._gap[tp].addi(12, 16)  # Faust's gap for the read offset jumping from 11 to 15
    consumer._positions[head], consumer._acked[head] = 0, [2, 3]
    assert (consumer._new_offset(tp) or 0) > 14  # past the hole
    assert consumer._new_offset(head) == 4
    assert not consumer.hole_repair.requested and skips == []
    # the same gap where the fetch brought the records (Faust dropped them) is re-delivered
    consumer._thread.skipped.sought({tp: 17})
    consumer._thread.skipped.fetched(tp, [17, 18, 19, 20])
    consumer._committed_offset[tp], consumer._acked[tp] = 17, [17, 20]
    consumer._gap[tp].addi(18, 21)
    assert consumer._new_offset(tp) is None and consumer.hole_repair.requested == {tp}


def _read_compacted(consumer: Any, tp: TopicPartition, head: int, offsets: list[int], committed: bool) -> None:
    """``tp`` sought to ``head`` and its records at ``offsets`` fetched, read (gaps as Faust
    records them) and acknowledged."""
    consumer._thread.skipped.sought({tp: head})
    consumer._thread.skipped.fetched(tp, offsets)
    if committed:
        consumer._committed_offset[tp] = head
    else:
        consumer._positions[tp] = head
    read = head if committed else None
    for offset in offsets:
        if read is not None and offset - read > 1:
            consumer._gap[tp].addi(read + 1, offset + 1)
        read = offset
    consumer._acked[tp] = list(offsets)


def test_a_compacted_window_with_several_holes_is_committed_in_one_go(tmp_path: Any) -> None:
    # A compacted topic read from its start has many removed records in one commit window.
    consumer = _consumer(tmp_path)
    skips: list = []
    consumer.on_commit_skip = lambda tp, offset: skips.append(offset)
    fresh, committed = TopicPartition("t.sales.roster", 0), TopicPartition("t.sales.roster", 1)
    _read_compacted(consumer, fresh, 0, [3, 4, 8, 9], committed=False)
    _read_compacted(consumer, committed, 100, [100, 101, 102, 105, 106, 110, 111], committed=True)
    for tp, end in ((fresh, 10), (committed, 112)):
        offsets = []
        while consumer._acked[tp]:  # Faust takes one unbroken run per commit
            offsets.append(consumer._new_offset(tp))
            assert offsets[-1] is not None, (tp, offsets)
            consumer._committed_offset[tp] = offsets[-1]  # as Faust's commit records it
        assert offsets[-1] == end
    assert not consumer.hole_repair.requested and skips == []


def test_a_record_acknowledged_before_a_revoke_and_not_committed_is_not_delivered_again(tmp_path: Any) -> None:
    # Committed 2; the agent acknowledged 2 (when it took 3), and the revoke comes before
    # the next commit: Faust drops the acknowledgement of 2, then 3 is acknowledged as the
    # agent finishes it. 2 was processed: the guard commits past both (Faust's 4).
    consumer = _consumer(tmp_path)
    done, lost = TopicPartition("t.sales.facts", 0), TopicPartition("t.sales.facts", 1)
    consumer._committed_offset.update({done: 2, lost: 2})
    consumer._acked[done] = [2]
    asyncio.run(consumer.on_partitions_revoked({done, lost}))
    assert consumer._committed_offset.get(done) is None and not consumer._acked.get(done)
    consumer._acked[done] = [3]
    consumer._acked[lost] = [3]  # 2 never acknowledged here: re-delivered, as before
    assert consumer._new_offset(done) == 4 and done not in consumer.hole_repair.requested
    assert consumer._new_offset(lost) is None and lost in consumer.hole_repair.requested


def test_a_seek_during_a_revoke_keeps_the_revokes_move_until_the_next_assignment(tmp_path: Any,
                                                                                monkeypatch: Any) -> None:
    # Committed 2, 2 acknowledged; the revoke moves the head to 3. A fetch returns to the
    # stopped flow and Faust seeks to the committed offset 2 (from getmany); then the agent
    # acknowledges 3 as it finishes it: the commit is Faust's 4, no re-delivery.
    consumer = _consumer(tmp_path)
    done, never = TopicPartition("t.sales.facts", 0), TopicPartition("t.sales.facts", 1)
    consumer._committed_offset.update({done: 2, never: 2})
    consumer._acked[done] = [2]
    asyncio.run(consumer.on_partitions_revoked({done, never}))
    consumer._thread.positions = {done: 2, never: 2}
    consumer._thread.seek_to_committed = _returning({done: 2, never: 2})
    asyncio.run(consumer.perform_seek())
    consumer._acked[done], consumer._acked[never] = [3], [3]
    assert consumer._new_offset(done) == 4 and done not in consumer.hole_repair.requested
    assert consumer._new_offset(never) is None and never in consumer.hole_repair.requested  # 2 never acknowledged
    consumer._committed_offset[done] = 4  # a hole above the kept head is still one
    consumer._acked[done] = [5]
    assert consumer._new_offset(done) is None and done in consumer.hole_repair.requested
    # the next assignment's seek starts from the broker's committed offset again
    assigned: list = []

    async def faust_assigned(self: Any, tps: set, generation_id: int = 0) -> None:
        assigned.append((set(self._revoked_heads), tps))

    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_assigned", faust_assigned)
    asyncio.run(consumer.on_partitions_assigned({done}))
    assert assigned == [(set(), {done})]  # forgotten before Faust's own handling
    consumer._acked[done] = []
    asyncio.run(consumer.perform_seek())
    consumer._acked[done] = [3]
    assert consumer._new_offset(done) is None  # 2 not acknowledged in this generation


def test_with_transactions_a_revoke_leaves_faust_its_own_head(tmp_path: Any) -> None:
    consumer = _consumer(tmp_path, "exactly_once")
    tp = TopicPartition("t.sales.facts", 0)
    consumer._committed_offset[tp], consumer._acked[tp] = 2, [2]
    asyncio.run(consumer.on_partitions_revoked({tp}))
    assert consumer._positions[tp] == 2 and not consumer._revoked_heads


def test_at_a_revoke_the_guard_moves_past_acknowledged_and_empty_offsets_and_stops_at_the_first_other(
        tmp_path: Any) -> None:
    consumer = _consumer(tmp_path)
    compacted, broken = TopicPartition("t.sales.targets", 0), TopicPartition("t.sales.facts", 0)
    consumer._thread.skipped.sought({compacted: 0})
    consumer._thread.skipped.fetched(compacted, [0, 1, 2, 6, 7])  # 3..5 compacted away
    consumer._acked.update({compacted: [2], broken: [2, 4, 5]})
    assert consumer._past_acknowledged(compacted, 2) == 6  # the record at 6 is in the agent's hands
    assert consumer._past_acknowledged(broken, 2) == 3  # 3 never acknowledged: measured from there
    consumer._acked[compacted] = [2, 6, 7]
    assert consumer._past_acknowledged(compacted, 2) == 8
    assert consumer._past_acknowledged(broken, 0) == 0 and consumer._past_acknowledged(compacted, 9) == 9


def test_after_a_revoke_the_agents_last_acknowledgements_are_committed_from_the_committed_offset(
        tmp_path: Any) -> None:
    # Faust forgets the committed offset on a revoke, then commits what the agents still
    # acknowledge; the guard must not measure from the generation's first position.
    consumer = _consumer(tmp_path)
    tp = TopicPartition("t.sales.deals", 3)
    consumer._thread.positions = {tp: 100}
    consumer._thread.seek_to_committed = _returning({tp: 100})
    asyncio.run(consumer.perform_seek())
    consumer._committed_offset[tp] = 5000  # commits went on
    asyncio.run(consumer.on_partitions_revoked({tp}))
    assert consumer._committed_offset.get(tp) is None
    consumer._acked[tp] = list(range(5000, 5011))
    assert consumer._new_offset(tp) == 5011 and not consumer.hole_repair.requested


class Record:
    """An aiokafka record, as far as the guard reads it."""

    def __init__(self, offset: int) -> None:
        self.offset = offset


def _in_this_loop(thread: Any) -> None:
    """Run the consumer thread's calls in the test's event loop (as Faust's thread runs
    them in its own: concurrently, up to their awaits)."""
    async def call_thread(method: Any, *args: Any, **kwargs: Any) -> Any:
        return await method(*args, **kwargs)

    thread.call_thread = call_thread


class FetchingFake(CommittedFake):
    """Also fetches like aiokafka: each fetch brings the records from the partition's
    position (``log``: the offsets that hold one, ascending), at most ``max_records``."""

    _max_poll_records = 11

    def __init__(self, committed: dict[TopicPartition, int | None], position: int, log: list[int]) -> None:
        super().__init__(committed, position)
        self.log = log

    def fetch(self, active: Any) -> dict[TopicPartition, list[Record]]:
        batches = {}
        for tp in active:
            offsets = [o for o in self.log if o >= self.positions[tp]][:self._max_poll_records]
            if offsets:
                batches[tp] = [Record(o) for o in offsets]
                self.positions[tp] = offsets[-1] + 1
        return batches


def _fetches_from(monkeypatch: Any, fake: FetchingFake) -> None:
    """Faust's fetch in the consumer thread reads ``fake``."""
    async def fetch_records(self: Any, consumer: Any, active: Any, timeout: Any = None, max_records: Any = None) -> Any:
        await asyncio.sleep(0)  # aiokafka waits for the fetcher
        return fake.fetch(active)

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "_fetch_records", fetch_records)


def test_the_consumer_thread_notes_its_seeks_and_what_its_fetches_skip(tmp_path: Any, monkeypatch: Any) -> None:
    consumer = _consumer(tmp_path)
    thread = consumer._thread
    tp, changelog = TopicPartition("t.sales.targets", 0), TopicPartition("t-facts-changelog", 0)
    _in_this_loop(thread)
    thread.app.tables.changelog_topics  # noqa: B018 (created before the fake)
    fake = FetchingFake({tp: 10}, position=10, log=[0, 5, 10, 13])
    thread._consumer = fake
    _fetches_from(monkeypatch, fake)
    assert asyncio.run(thread.seek_to_committed()) == {tp: 10}
    assert thread.positions == {tp: 10} and thread.skipped.expected == {tp: 10}
    fake.positions[changelog] = 0  # Faust positions changelogs itself
    asyncio.run(thread.getmany({tp, changelog}, 1.0))
    assert thread.skipped.holds_no_record(tp, Hole(11, 12)) and changelog not in thread.skipped.skipped
    sought = asyncio.run(thread.rewind([tp]))
    assert sought.positions == {tp: 10} and not thread.skipped.holds_no_record(tp, Hole(11, 12))


def test_a_fetch_during_a_seek_is_noted_after_it_never_as_skipping_what_it_brought(
        tmp_path: Any, monkeypatch: Any) -> None:
    """The kill -9 loss: a restarted worker's fetch drained offsets 229..306 of sales.facts
    while its seek to 229 awaited the broker; the seek's note came after the fetch's, so the
    next fetch (from 307) seemed to skip 229..306, and the records Faust had dropped there
    were committed past as holding none."""
    consumer = _consumer(tmp_path)
    thread = consumer._thread
    tp, never = TopicPartition("t.sales.facts", 0), TopicPartition("t.sales.control", 0)
    _in_this_loop(thread)
    thread.app.tables.changelog_topics  # noqa: B018 (created before the fake)
    fake = FetchingFake({tp: 229, never: None}, position=229, log=list(range(229, 320)))
    fake._max_poll_records = 78  # 229..306 in one fetch
    thread._consumer = fake
    _fetches_from(monkeypatch, fake)
    broker_answers = asyncio.Event()

    async def beginning_offsets(tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        await broker_answers.wait()  # the seek of ``never`` asks the broker: the thread runs a fetch meanwhile
        return {t: 0 for t in tps}

    fake.beginning_offsets = beginning_offsets  # type: ignore[method-assign]

    async def restart() -> list[tuple[int, int]]:
        seek = asyncio.ensure_future(thread.seek_to_committed())
        await asyncio.sleep(0)  # the seek has put tp at 229 and awaits the broker
        first = asyncio.ensure_future(thread.getmany({tp}, 1.0))
        for _ in range(5):
            await asyncio.sleep(0)
        broker_answers.set()
        await seek
        brought = [await first, await thread.getmany({tp}, 1.0)]
        return [(b[tp][0].offset, b[tp][-1].offset) for b in brought]

    assert asyncio.run(restart()) == [(229, 306), (307, 319)]
    assert not thread.skipped.holds_no_record(tp, Hole(230, 306))
    assert thread.skipped.expected[tp] == 320


def test_a_seek_of_every_partition_starts_re_deliveries_over(tmp_path: Any) -> None:
    consumer = _consumer(tmp_path)
    tp = TopicPartition("t.sales.deals", 2)
    consumer.request_redelivery([tp])
    consumer.hole_repair.started(tp, 40)
    consumer._thread.positions = {tp: 7}
    consumer._thread.seek_to_committed = _returning({tp: 7})
    asyncio.run(consumer.perform_seek())
    assert not consumer.hole_repair.requested and not consumer.hole_repair.read_before
    assert consumer._read_offset[tp] == 7 and consumer._committed_offset[tp] == 7


def _returning(committed: dict) -> Any:
    async def seek_to_committed() -> dict:
        return committed
    return seek_to_committed


def test_the_worker_counts_commit_skips_and_hole_rewinds_in_its_metrics(tmp_path: Any) -> None:
    pipe = create_app(Settings(data_dir=str(tmp_path), processing_guarantee="exactly_once"))
    consumer = pipe.app.consumer
    tp = TopicPartition("t.sales.targets", 2)
    consumer._committed_offset[tp], consumer._acked[tp] = 32, [33]
    consumer._new_offset(tp)
    assert pipe.metrics.commit_skips.labels("t.sales.targets")._value.get() == 1

    pipe = create_app(Settings(data_dir=str(tmp_path / "b")))
    consumer = pipe.app.consumer
    consumer._committed_offset[tp], consumer._acked[tp] = 32, [33]
    assert consumer._new_offset(tp) is None
    assert pipe.metrics.partition_rewinds.labels("t.sales.targets")._value.get() == 1
    assert pipe.metrics.commit_skips.labels("t.sales.targets")._value.get() == 0


def test_the_worker_consumer_fetches_with_the_configured_broker_wait(tmp_path: Any) -> None:
    async def fetch_wait(settings: Settings) -> int:
        app = create_app(settings).app
        return app.consumer._thread._create_worker_consumer(app.transport)._fetch_max_wait_ms

    assert asyncio.run(fetch_wait(Settings(data_dir=str(tmp_path / "a"), fetch_wait_ms=70))) == 70
    assert asyncio.run(fetch_wait(Settings(data_dir=str(tmp_path / "b")))) == Settings().fetch_wait_ms != 1500


def test_the_worker_consumer_asks_the_broker_to_wait_for_the_configured_bytes(tmp_path: Any) -> None:
    async def fetch_min(settings: Settings) -> int:
        app = create_app(settings).app
        return app.consumer._thread._create_worker_consumer(app.transport)._fetch_min_bytes

    assert asyncio.run(fetch_min(Settings(data_dir=str(tmp_path / "a"), fetch_min_bytes=1))) == 1
    assert asyncio.run(fetch_min(Settings(data_dir=str(tmp_path / "b")))) == 32768  # not aiokafka's 1 byte


def test_the_consumer_thread_tells_the_fetcher_what_the_load_asks_for(tmp_path: Any, monkeypatch: Any) -> None:
    settings = Settings(data_dir=str(tmp_path), topic_prefix="t.", fetch_min_bytes=32768, fetch_fill_above=500)
    consumer = create_app(settings).app.consumer
    thread = consumer._thread
    tp = TopicPartition("t.sales.deals", 0)
    _in_this_loop(thread)
    internal = TopicPartition("t.sales.facts", 0)  # batches of a hop: not counted
    fake = FetchingFake({tp: 0, internal: 0}, position=0, log=list(range(2000)))
    fake._max_poll_records = 50
    fake._fetcher = SimpleNamespace(_fetch_min_bytes=32768)  # aiokafka's, once the consumer started
    thread._consumer = fake
    _fetches_from(monkeypatch, fake)
    clock = [0.0]
    monkeypatch.setattr(rewinding_consumer.time, "monotonic", lambda: clock[0])

    def fetch_at(now: float) -> None:
        clock[0] = now
        asyncio.run(thread.getmany({tp, internal}, 1.0))

    assert thread.fetch.paced_topics == {f"t.{spec.name}" for spec in INPUT_TOPICS + STAGE_INPUT_TOPICS}
    fetch_at(0.0)
    fetch_at(0.5)
    assert fake._fetcher._fetch_min_bytes == 32768  # the first second is not over
    fetch_at(1.0)
    assert fake._fetcher._fetch_min_bytes == 1  # 150 records in a second: a trickle
    fake._max_poll_records = 100
    for now in (1.2, 1.4, 1.6, 1.8, 2.0):
        fetch_at(now)
    assert fake._fetcher._fetch_min_bytes == 32768  # 500 records in a second
    fake._max_poll_records = 0
    fetch_at(2.5)
    fake._fetcher._fetch_min_bytes = 7  # whatever the fetcher holds, the next fetch sets the pacing's
    fetch_at(2.6)
    assert fake._fetcher._fetch_min_bytes == 32768
    fetch_at(3.0)
    assert fake._fetcher._fetch_min_bytes == 1  # fetches that bring nothing for a second: a trickle
    clock[0] = 3.2
    asyncio.run(thread.getmany({internal}, 1.0))  # no input partition held: its rate says nothing
    assert fake._fetcher._fetch_min_bytes == 32768


def test_the_worker_consumer_paces_fetches_by_the_configured_rate(tmp_path: Any) -> None:
    default = create_app(Settings(data_dir=str(tmp_path / "a"))).app.consumer._thread
    assert default.fetch.fill_above == 500 and default.pacing is not None
    assert default.pacing.fill_bytes == Settings().fetch_min_bytes
    fixed = create_app(Settings(data_dir=str(tmp_path / "b"), fetch_fill_above=0)).app.consumer._thread
    assert fixed.pacing is None  # always the configured bytes
    uncounted = FetchSettings(min_bytes=32768, fill_above=500, paced_topics=frozenset())
    assert uncounted.pacing() is None  # nothing to count: the configured bytes, never 1 for want of records


def test_a_negative_fill_rate_is_refused() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"SCORECARD_FETCH_FILL_ABOVE": "-1"})
    assert str(info.value) == "SCORECARD_FETCH_FILL_ABOVE must be >= 0 (0: always wait for SCORECARD_FETCH_MIN_BYTES)"


def test_a_fetch_that_waits_for_no_byte_is_refused() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"SCORECARD_FETCH_MIN_BYTES": "0"})
    assert str(info.value) == "SCORECARD_FETCH_MIN_BYTES must be >= 1"
