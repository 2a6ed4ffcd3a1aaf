"""Faust's Kafka consumer, fixed to rewind partitions that have no committed offset.

The defect (docs/faust-workarounds.md, defect 1; found with
``tests/integration/test_scale_out.py``): during a rebalance Faust pauses the new
partitions only in its own bookkeeping, while aiokafka goes on fetching them. Records
fetched in that window are dropped by Faust (the partition is paused, the flow is
stopped or the generation changed), but aiokafka's fetch position has already moved past
them. Faust's answer is to seek every assigned partition back to its committed offset
when the rebalance completes (``Consumer.perform_seek``). aiokafka's
``seek_to_committed`` however only seeks partitions whose committed offset is above 0: a
partition that nobody has committed yet (or committed at 0) keeps the advanced position,
and the dropped records are never delivered. A survivor that takes over such a partition
from a killed worker then sits idle with the whole partition unconsumed, or, if more
records arrive, processes and commits those and skips the dropped ones for good.

The fix: after aiokafka's seek, stream partitions committed at 0 are sought to 0 and
stream partitions without a committed offset are reset as ``auto_offset_reset`` says
(ours is "earliest"), the position a fresh consumer would start from. Table changelog
partitions are not touched: Faust positions them from its stores' offsets. Re-reading a record that
was already processed but not committed is what Faust does for every other partition;
the pipeline is idempotent for it (docs/guarantees.md).

A second defect (defect 3): Faust commits past a hole of one offset right after the
committed one, as if a transaction marker sat there. With the at-least-once guarantee
nothing of ours is transactional, so the record there was never processed; the consumer
then commits nothing for the partition and re-delivers it from its committed offset
(``HoleTracker`` decides; if the hole stays for minutes, Faust's handling takes over, reported).

The guard looks at every offset Faust would commit past without an acknowledgement
(:func:`unacknowledged`): the head of the partition, measured from the committed offset
or, for a partition nobody committed (or committed at 0, which Faust keeps as None), from
the position the last seek put it at; and the offsets Faust recorded as gaps because its
read offset jumped. Only offsets that aiokafka's fetches went past since that seek hold
no record (``SkippedOffsets``: a compacted topic's removed records, a transaction marker,
records past retention); a hole of those is committed past, reported. A record that was
fetched and dropped on its way to the agents is re-delivered.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.enums import ProcessingGuarantee

from .fetch_pacing import FetchPacing, FetchSettings
from .internals_guard import Internal

log = logging.getLogger(__name__)

#: How long a partition is re-delivered at the same committed offset before Faust's own
#: handling (commit past the hole, reported) takes over: records gone from the log
#: (retention) leave a hole that no re-delivery fills. Holes seen after restarts closed
#: within seconds, while the group's rebalances settled (docs/faust-workarounds.md).
GIVE_UP_SECONDS = 120.0
#: How long a re-delivery's seek may take before it is left to the next commit.
REDELIVER_TIMEOUT = 30.0
#: How many skipped ranges are kept per partition (the newest): a compacted topic read
#: from its start skips many; a hole is judged soon after it is read past.
MAX_SKIPPED_RANGES = 10_000

#: What this module overrides or reads of Faust's consumer (checked when the worker starts,
#: streams.internals_guard). The fix is for aiokafka's ``seek_to_committed``.
RELIES_ON = (
    Internal("faust-streaming", "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread",
             ("seek_to_committed", "_fetch_records", "_ensure_consumer", "_create_worker_consumer")),
    Internal("faust-streaming", "faust.transport.drivers.aiokafka:Consumer",
             ("_new_consumer_thread", "_new_offset", "getmany", "assignment", "_thread", "_committed_offset",
              "perform_seek", "on_partitions_revoked", "on_partitions_assigned", "_acked", "_acked_index", "_gap",
              "_read_offset")),
    Internal("faust-streaming", "faust.transport.base:Transport", ("Consumer",)),
    Internal("mode-streaming", "mode.threads:QueueServiceThread", ("call_thread",)),
    Internal("mode-streaming", "mode:Service", ("loop", "beacon")),
    Internal("aiokafka", "aiokafka:AIOKafkaConsumer",
             ("seek_to_committed", "committed", "seek", "seek_to_beginning", "seek_to_end", "beginning_offsets",
              "end_offsets", "_fetch_max_wait_ms", "_fetch_min_bytes", "_fetcher")),
    # The bytes each fetch asks for, read when a fetch request is built (``FetchPacing``).
    Internal("aiokafka", "aiokafka.consumer.fetcher:Fetcher", ("_fetch_min_bytes",)),
)


@dataclass(frozen=True)
class Hole:
    """Offsets ``first`` to ``last`` (inclusive) that Faust would commit past although none
    of them was acknowledged (some may hold no record)."""

    first: int
    last: int


def unacknowledged(committed: int, acked: Collection[int], gaps: Iterable[tuple[int, int]] = ()) -> list[Hole]:
    """The runs of offsets from ``committed`` up to the highest acknowledged one that were
    never acknowledged and that Faust would commit past, ascending and apart: before the
    lowest acknowledged offset, and inside a recorded gap (``(begin, end)``, end excluded,
    as Faust's interval tree holds them)."""
    if not acked:
        return []
    ordered = sorted(set(acked))
    lowest, highest = ordered[0], ordered[-1]
    runs: list[tuple[int, int]] = [(committed, lowest - 1)] if lowest > committed else []
    for begin, end in gaps:
        begin, end = max(begin, committed), min(end, highest)
        offset = begin
        for acked_offset in ordered[bisect.bisect_left(ordered, begin):bisect.bisect_left(ordered, end)]:
            if acked_offset > offset:
                runs.append((offset, acked_offset - 1))
            offset = acked_offset + 1
        if offset < end:
            runs.append((offset, end - 1))
    holes: list[Hole] = []
    for first, last in sorted(runs):
        if holes and first <= holes[-1].last + 1:
            holes[-1] = Hole(holes[-1].first, max(holes[-1].last, last))
        else:
            holes.append(Hole(first, last))
    return holes


@dataclass(frozen=True)
class Sought:
    """Where a seek left the stream partitions: the committed offsets read (None: none) and
    the position each was sought to, the first offset expected to be acknowledged."""

    committed: dict
    positions: dict


@dataclass(frozen=True)
class Rewind:
    """What remains to be sought after aiokafka's ``seek_to_committed``."""

    to_zero: tuple[Any, ...]  # topic partitions committed at offset 0
    to_reset: tuple[Any, ...]  # nothing committed: to the auto_offset_reset position


def rewind_after_seek(committed: Mapping[Any, int | None], changelog_topics: Collection[str] = ()) -> Rewind:
    """The stream partitions aiokafka's ``seek_to_committed`` leaves where the fetcher got
    to (it seeks only committed offsets above 0), given the committed offsets it returned.

    Table changelog partitions are left alone: the group never commits them, and Faust
    positions them itself from the offsets its stores keep.
    """
    streams = {tp: offset for tp, offset in committed.items() if tp.topic not in changelog_topics}
    to_zero = tuple(tp for tp, offset in streams.items() if offset == 0)
    to_reset = tuple(tp for tp, offset in streams.items() if offset is None or offset < 0)
    return Rewind(to_zero=to_zero, to_reset=to_reset)


async def seek_to_committed_or_reset(consumer: Any, auto_offset_reset: str,
                                     changelog_topics: Collection[str] = ()) -> Sought:
    """Seek every assigned stream partition of an aiokafka consumer to its committed
    offset, or, without one, to the ``auto_offset_reset`` position; returns the committed
    offsets (what aiokafka's ``seek_to_committed`` returns) and the stream partitions' positions."""
    committed = await consumer.seek_to_committed()
    rewind = rewind_after_seek(committed, changelog_topics)
    streams = {tp: offset for tp, offset in committed.items() if tp.topic not in changelog_topics}
    return Sought(committed, await _finish_seek(consumer, streams, rewind, auto_offset_reset))


async def rewind_to_committed(consumer: Any, tps: Iterable[Any], auto_offset_reset: str) -> Sought:
    """Seek ``tps`` of an aiokafka consumer to their committed offsets, or, without one, to
    the ``auto_offset_reset`` position; returns the committed offsets (None: none) and positions."""
    committed: dict = {}
    for tp in tps:
        tp = TopicPartition(tp.topic, tp.partition)
        committed[tp] = await consumer.committed(tp)
    for tp, offset in committed.items():
        if offset and offset > 0:  # what aiokafka's seek_to_committed does for all partitions
            consumer.seek(tp, offset)
    return Sought(committed, await _finish_seek(consumer, committed, rewind_after_seek(committed), auto_offset_reset))


async def _finish_seek(consumer: Any, committed: Mapping[Any, int | None], rewind: Rewind,
                       auto_offset_reset: str) -> dict:
    """Seek what aiokafka's seek leaves alone: committed at 0 to 0; nothing committed to
    where a fresh consumer would start. Returns the position of every partition of
    ``committed``: the committed offset, or the reset position read from the broker."""
    for tp in rewind.to_zero:
        consumer.seek(tp, 0)
    positions = {tp: offset for tp, offset in committed.items() if offset is not None and offset >= 0}
    if not rewind.to_reset:
        return positions
    log.info("no committed offset, seeking to the %s position: %s", auto_offset_reset,
             ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in rewind.to_reset)))
    latest = auto_offset_reset == "latest"
    if latest:
        await consumer.seek_to_end(*rewind.to_reset)
    else:
        await consumer.seek_to_beginning(*rewind.to_reset)
    try:
        ask = consumer.end_offsets if latest else consumer.beginning_offsets
        positions.update(await ask(list(rewind.to_reset)))
    except Exception:  # the seek stands; these partitions' heads go unguarded until their first commit
        log.warning("could not read the %s offsets of %s", auto_offset_reset,
                    ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in rewind.to_reset)), exc_info=True)
    return positions


class HoleTracker:
    """Decides, per partition, whether a hole is re-delivered: yes, until the same hole
    (the same first offset) has lasted ``GIVE_UP_SECONDS``; then Faust's own handling
    takes over, with its skip reported."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: dict[Any, tuple[int, float]] = {}  # partition -> (hole's first offset, first seen)

    def should_rewind(self, tp: Any, hole: Hole) -> bool:
        """Whether ``tp`` is re-delivered instead of committed past ``hole``."""
        now = self.clock()
        at, first_seen = self.since.get(tp, (hole.first, now))
        if at != hole.first:
            first_seen = now
        self.since[tp] = (hole.first, first_seen)
        return now - first_seen < GIVE_UP_SECONDS


class SkippedOffsets:
    """Per partition, the offsets aiokafka's fetches went past since the partition was
    last sought: no record is there (compacted away, a transaction marker, past
    retention). A record Faust fetched and then dropped is not among them.

    Seeks and fetches are noted in the consumer's thread, the agents' side reads: each
    method holds a lock."""

    def __init__(self) -> None:
        self.expected: dict[Any, int] = {}  # partition -> the next offset a fetch should bring
        self.skipped: dict[Any, list[tuple[int, int]]] = {}  # partition -> [first, last] ranges, ascending
        self.mutex = threading.Lock()

    def sought(self, positions: Mapping[Any, int]) -> None:
        """The partitions of ``positions`` were sought there: what was skipped before no longer counts."""
        with self.mutex:
            for tp, offset in positions.items():
                self.expected[tp] = offset
                self.skipped.pop(tp, None)

    def fetched(self, tp: Any, offsets: Iterable[int]) -> None:
        """aiokafka's fetch brought records at ``offsets`` (ascending) for ``tp``; a
        partition never sought (a table changelog) is not followed."""
        with self.mutex:
            expected = self.expected.get(tp)
            if expected is None:
                return
            for offset in offsets:
                if offset > expected:
                    ranges = self.skipped.setdefault(tp, [])
                    ranges.append((expected, offset - 1))
                    if len(ranges) > MAX_SKIPPED_RANGES:
                        del ranges[:len(ranges) - MAX_SKIPPED_RANGES]
                expected = offset + 1
            self.expected[tp] = expected

    def prune(self, tp: Any, head: int) -> None:
        """Forget what was skipped below ``head``, the partition's first uncommitted offset."""
        with self.mutex:
            ranges = self.skipped.get(tp)
            if ranges and ranges[0][1] < head:
                self.skipped[tp] = [(first, last) for first, last in ranges if last >= head]

    def forget(self, tps: Iterable[Any]) -> None:
        """``tps`` are no longer this consumer's."""
        with self.mutex:
            for tp in tps:
                self.expected.pop(tp, None)
                self.skipped.pop(tp, None)

    def past(self, tp: Any, offset: int) -> int:
        """``offset``, or the first offset after the run of skipped offsets that starts there."""
        with self.mutex:
            for first, last in self.skipped.get(tp, ()):
                if first <= offset <= last:
                    offset = last + 1
            return offset

    def holds_no_record(self, tp: Any, hole: Hole) -> bool:
        """Whether every offset of ``hole`` was skipped by the fetches since the last seek."""
        return self.past(tp, hole.first) > hole.last


class HoleRepair:
    """The re-deliveries of one consumer: requested (applied before Faust's next batch)
    and under way (until the partition is read again as far as before the rewind)."""

    def __init__(self, tracker: HoleTracker | None = None) -> None:
        self.tracker = tracker or HoleTracker()
        self.requested: set[Any] = set()
        #: partition -> the offset read before its rewind
        self.read_before: dict[Any, int] = {}

    def started(self, tp: Any, read_offset: int | None) -> None:
        """``tp`` was sought back; ``read_offset`` is how far it had been read."""
        if read_offset is not None:
            self.read_before[tp] = read_offset

    def under_way(self, tp: Any, read_offset: int | None) -> bool:
        """Whether a re-delivery of ``tp`` is requested or still re-reading up to the
        record read last before the rewind (a hole seen meanwhile is acknowledgements of
        records processed before the rewind)."""
        if tp in self.requested:
            return True
        before = self.read_before.get(tp)
        if before is None:
            return False
        if read_offset is not None and read_offset >= before:
            del self.read_before[tp]
            return False
        return True

    def closed(self, tp: Any) -> None:
        """No hole at ``tp`` any more."""
        self.read_before.pop(tp, None)
        self.tracker.since.pop(tp, None)


class RewindingConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread with ``seek_to_committed`` rewinding every partition."""

    #: What fetches ask the broker for (``SCORECARD_FETCH_*``; set by :func:`install`).
    fetch: FetchSettings = FetchSettings()
    #: The fill paced by the input records taken (None: fixed; made with the thread).
    pacing: FetchPacing | None = None

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes a fixed 1,500 ms and aiokafka's 1 byte; aiokafka reads both attributes when it starts.
        if self.fetch.wait_ms is not None:
            consumer._fetch_max_wait_ms = self.fetch.wait_ms
        if self.fetch.min_bytes is not None:
            consumer._fetch_min_bytes = self.fetch.min_bytes
        return consumer

    #: Where the last seek of every assigned partition put each stream partition.
    positions: Mapping[Any, int] = {}

    @property
    def skipped(self) -> SkippedOffsets:
        """The offsets the fetches went past since each partition was last sought."""
        skipped: SkippedOffsets = self.__dict__.setdefault("skipped_offsets", SkippedOffsets())
        return skipped

    @property
    def _seeking(self) -> asyncio.Lock:
        """Held in the consumer's thread by a seek until its positions are noted and by a
        fetch until what it brought is noted, so both are noted in the order they happened.

        Faust's thread runs two calls at once. A fetch that drained records between a seek
        and the note of its positions was noted first; the note then put the partition back
        where the seek had, and the next fetch, starting where the first one ended, seemed
        to have gone past the records in between: they were committed past as holding
        none, though Faust had dropped them on their way to the agents (a kill -9 test lost
        the facts of 26 messages of sales.facts that way; docs/guarantees.md)."""
        loop = asyncio.get_running_loop()
        held: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = self.__dict__.get("seeking_lock")
        if held is None or held[0] is not loop:  # a lock waits on one loop: the thread's current one
            held = self.__dict__["seeking_lock"] = (loop, asyncio.Lock())
        return held[1]

    async def seek_to_committed(self) -> Mapping:
        sought: Sought = await self.call_thread(self._seek_to_committed_or_reset)
        self.positions = sought.positions
        return sought.committed

    async def rewind(self, tps: Iterable[Any]) -> Sought:
        """Seek ``tps`` to their committed (or reset) offsets in the consumer's thread."""
        sought: Sought = await self.call_thread(self._rewind, list(tps))
        return sought

    async def _fetch_records(self, consumer: Any, active_partitions: Any, timeout: float | None = None,
                             max_records: int | None = None) -> Any:
        async with self._seeking:
            records = await super()._fetch_records(consumer, active_partitions, timeout=timeout,
                                                   max_records=max_records)
            for tp, batch in records.items():
                self.skipped.fetched(tp, (record.offset for record in batch))
        self._pace(consumer, active_partitions, records)
        return records

    def _pace(self, consumer: Any, active_partitions: Any, records: Mapping[Any, list]) -> None:
        """Tell the consumer's fetcher the bytes to ask for, from the input records taken."""
        pacing = self.pacing
        if pacing is None:
            return
        paced = self.fetch.paced_topics
        taken = sum(len(batch) for tp, batch in records.items() if tp.topic in paced)
        holds_paced = any(tp.topic in paced for tp in active_partitions or ())
        min_bytes = pacing.took(taken, time.monotonic(), holds_paced)
        fetcher = getattr(consumer, "_fetcher", None)  # None until the consumer started
        if fetcher is not None and fetcher._fetch_min_bytes != min_bytes:
            fetcher._fetch_min_bytes = min_bytes
            log.debug("fetches now ask for %d byte(s)", min_bytes)

    async def _rewind(self, tps: list) -> Sought:
        async with self._seeking:
            sought = await rewind_to_committed(self._ensure_consumer(), tps, self.app.conf.consumer_auto_offset_reset)
            self.skipped.sought(sought.positions)
        return sought

    async def _seek_to_committed_or_reset(self) -> Sought:
        async with self._seeking:
            sought = await seek_to_committed_or_reset(self._ensure_consumer(), self.app.conf.consumer_auto_offset_reset,
                                                      self.app.tables.changelog_topics)
            self.skipped.sought(sought.positions)
        return sought


class RewindingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer using :class:`RewindingConsumerThread`, with :meth:`rewind`."""

    _thread: RewindingConsumerThread

    #: What the consumer thread's fetches ask the broker for (given to :func:`install`).
    fetch: FetchSettings = FetchSettings()

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        thread = RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)
        thread.fetch, thread.pacing = self.fetch, self.fetch.pacing()
        return thread

    #: Called with (partition, offset) when Faust commits past an offset that was never
    #: acknowledged (given to :func:`install`); without it the skip is only logged.
    on_commit_skip: Callable[[Any, int], None] | None = None
    #: Called with the partition when a hole made the consumer re-deliver it (given to :func:`install`).
    on_hole_rewind: Callable[[Any], None] | None = None

    def _new_offset(self, tp: Any) -> int | None:
        """Faust's next offset to commit; with the at-least-once guarantee, never past a
        record that was not acknowledged (the partition is re-delivered instead), and past
        offsets that hold no record."""
        if not self._holes_are_losses():
            return self._faust_new_offset(tp)
        holes = self._holes(tp)
        repair = self._repair()
        if not holes:
            repair.closed(tp)
            return super()._new_offset(tp)
        if repair.under_way(tp, self._read_offset.get(tp)):
            return None
        skipped = self._thread.skipped
        unfilled = [hole for hole in holes if not skipped.holds_no_record(tp, hole)]
        if unfilled and repair.tracker.should_rewind(tp, unfilled[0]):
            log.warning("re-delivering %s[%s] from offset %s: offsets %s to %s were never acknowledged",
                        tp.topic, tp.partition, self._head(tp), unfilled[0].first, unfilled[-1].last)
            if self.on_hole_rewind is not None:
                self.on_hole_rewind(tp)
            repair.requested.add(tp)
            return None
        head = self._head(tp)
        if holes[0].first == head and holes[0] not in unfilled:
            self._advance_head(tp, holes[0].last + 1)  # Faust counts the skipped runs of its gaps itself
            log.debug("committing %s[%s] past offsets %s to %s, which hold no record",
                      tp.topic, tp.partition, holes[0].first, holes[0].last)
        offset = super()._new_offset(tp)
        if unfilled and offset is not None and offset > unfilled[0].first:
            self._report_skip(tp, unfilled[0].first)
        return offset

    def _advance_head(self, tp: Any, offset: int) -> None:
        """The offsets of ``tp`` before ``offset`` are done with (acknowledged, or holding no
        record): its head moves there."""
        if self._committed_offset.get(tp) is not None:
            self._committed_offset[tp] = offset
        else:
            self._positions[tp] = offset

    def _head(self, tp: Any) -> int | None:
        """The first offset of ``tp`` not committed: Faust's committed offset, or where the
        last seek put the partition (Faust keeps none when nothing, or 0, was committed)."""
        committed = self._committed_offset.get(tp)
        return committed if committed is not None else self._positions.get(tp)

    def _holes(self, tp: Any) -> list[Hole]:
        """What Faust would commit past at ``tp`` without an acknowledgement."""
        head, acked = self._head(tp), self._acked.get(tp)
        if head is None or not acked:
            return []
        self._thread.skipped.prune(tp, head)
        gaps = self._gap.get(tp)
        return unacknowledged(head, acked, [(gap.begin, gap.end) for gap in gaps] if gaps else ())

    @property
    def _positions(self) -> dict:
        positions: dict = self.__dict__.setdefault("sought_positions", {})
        return positions

    async def on_partitions_revoked(self, revoked: set) -> None:
        """Keep measuring each revoked partition's holes from its committed offset, moved
        past the offsets acknowledged since or holding no record: Faust forgets both the
        committed offset and those acknowledgements, then commits what its agents
        acknowledge while they finish."""
        # Without the move, the record an agent acknowledged just before the revoke looked
        # unacknowledged once the next one was, and the partition was delivered again.
        for tp in revoked:
            head = self._head(tp)
            if head is not None:
                if self._holes_are_losses():  # with transactions Faust's own handling stands
                    head = self._revoked_heads[tp] = self._past_acknowledged(tp, head)
                self._positions[tp] = head
        self._thread.skipped.forget(revoked)
        await super().on_partitions_revoked(revoked)

    def _past_acknowledged(self, tp: Any, head: int) -> int:
        """``head`` moved past the offsets from it that were acknowledged or that the
        fetches found holding no record."""
        acked, skipped = set(self._acked.get(tp) or ()), self._thread.skipped
        while True:
            moved = skipped.past(tp, head)
            while moved in acked:
                moved += 1
            if moved == head:
                return head
            head = moved

    @property
    def _revoked_heads(self) -> dict:
        """Partition -> where the last revoke moved its head, until the next assignment."""
        heads: dict = self.__dict__.setdefault("revoked_heads", {})
        return heads

    async def on_partitions_assigned(self, assigned: set, generation_id: int = 0) -> None:
        """A new generation: each partition's head is its committed offset again."""
        self._revoked_heads.clear()
        await super().on_partitions_assigned(assigned, generation_id)

    async def perform_seek(self) -> None:
        """Faust's seek of every assigned partition to its committed offset, after which the
        guard measures each partition's head from where it was put (between a revoke and
        the next assignment, no lower than where the revoke moved it) and re-deliveries
        start over."""
        await super().perform_seek()
        self._positions.clear()
        self._positions.update(self._thread.positions)
        # Faust seeks from ``getmany`` when a fetch returns to a stopped flow, during a
        # revoke too: no agent has taken a record since the revoke, so its move stands.
        for tp, head in self._revoked_heads.items():
            current = self._head(tp)
            if current is not None and current < head:
                self._advance_head(tp, head)
        self.__dict__["hole_repair"] = HoleRepair(self._repair().tracker)

    def _report_skip(self, tp: Any, offset: int) -> None:
        log.warning("committing %s[%s] past offset %s, which was never acknowledged", tp.topic, tp.partition, offset)
        if self.on_commit_skip is not None:
            self.on_commit_skip(tp, offset)

    def _holes_are_losses(self) -> bool:
        """No transaction marker occupies an offset of our topics unless Faust's
        transactions are on: only then can an unacknowledged offset be legitimate."""
        guarantee: Any = self.app.conf.processing_guarantee  # typed as the enum class, holds a member
        return bool(guarantee == ProcessingGuarantee.AT_LEAST_ONCE)

    def _repair(self) -> HoleRepair:
        repair: HoleRepair = self.__dict__.setdefault("hole_repair", HoleRepair())
        return repair

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        """Faust's next batch of records, after the re-deliveries requested since the last
        one; records of a partition whose re-delivery is requested are not handed on.

        Here, between two batches of Faust's consumer loop, no record is on its way to an
        agent: a record handed on after the seek would set the partition's read offset
        past the re-read records, and Faust would drop them."""
        repair = self._repair()
        if repair.requested:
            await self._redeliver(repair)
        async for tp, message in super().getmany(timeout):
            if tp in repair.requested:
                continue  # read again after the re-delivery the next batch starts with
            yield tp, message

    def request_redelivery(self, tps: Iterable[Any]) -> None:
        """Re-deliver ``tps`` from their committed offsets, before Faust's next batch."""
        self._repair().requested.update(tps)

    async def _redeliver(self, repair: HoleRepair) -> None:
        assigned = self.assignment()
        tps = {tp for tp in repair.requested if tp in assigned}
        repair.requested.clear()
        read = {tp: self._read_offset.get(tp) for tp in tps}
        try:
            await asyncio.wait_for(self.rewind(tps), timeout=REDELIVER_TIMEOUT)
        except Exception:  # the hole stays, and the next commit asks again
            log.warning("could not re-deliver %s; the next commit tries again",
                        ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in tps)), exc_info=True)
            return
        for tp in tps:
            repair.started(tp, read[tp])

    def _faust_new_offset(self, tp: Any) -> int | None:
        """Faust's next offset to commit, reporting when it jumps over an unacknowledged one.

        Faust tolerates one missing acknowledgement right after the committed offset (its
        answer to a transaction marker there) and commits past it; with Faust's
        transactions that is legitimate, and the skip is reported (warning,
        ``scorecard_commit_skips_total``)."""
        committed = self._committed_offset.get(tp)
        acked = self._acked.get(tp)
        gap = self._gap.get(tp)
        # The offset committed past when the first acknowledgement is one beyond it.
        hole = (committed if committed and acked and min(acked) == committed + 1
                and not (gap and gap.overlaps(committed)) else None)
        offset = super()._new_offset(tp)
        if hole is not None and offset is not None:
            self._report_skip(tp, hole)
        return offset

    async def rewind(self, tps: Iterable[Any]) -> dict:
        """Re-deliver ``tps`` from their committed offsets: forget the acknowledgements,
        gaps and read offsets Faust tracks for them (as a revoke does), then seek.
        Returns the committed offsets (None: nothing committed, read from the reset position)."""
        tps = set(tps)
        for tp in tps:
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
        sought = await self._thread.rewind(tps)
        for tp, offset in sought.committed.items():
            self._read_offset[tp] = offset if offset is not None and offset >= 0 else None
            self._committed_offset[tp] = offset if offset else None
        self._positions.update(sought.positions)
        return sought.committed


def install(app: faust.App, on_commit_skip: Callable[[Any, int], None] | None = None,
            on_hole_rewind: Callable[[Any], None] | None = None, fetch: FetchSettings | None = None) -> None:
    """Make ``app`` create a :class:`RewindingConsumer` (before its consumer exists),
    calling ``on_commit_skip`` when it commits past an unacknowledged offset and
    ``on_hole_rewind`` when it re-delivers a partition because of one, and fetching as
    ``fetch`` says (None: Faust's and aiokafka's defaults)."""
    # plain attributes, not bound to the consumer
    skip = staticmethod(on_commit_skip) if on_commit_skip is not None else None
    rewound = staticmethod(on_hole_rewind) if on_hole_rewind is not None else None
    fetching = fetch if fetch is not None else FetchSettings()

    class RewindingConsumerReporting(RewindingConsumer):
        on_commit_skip = skip
        on_hole_rewind = rewound
        fetch = fetching

    consumer_class = RewindingConsumerReporting
    # This app's transport only: Faust's Transport class (declared a ClassVar) stays as it is.
    app.transport.Consumer = consumer_class  # type: ignore[misc]  # per-app override of a ClassVar
