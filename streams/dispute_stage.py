"""The dispute stage: appeal inputs in; dispute states, dead letters, overdue alerts and
appeal adjustments out (contract §10). ``agents.disputes`` runs it in the worker.

``DisputeStage`` knows no Faust, like ``streams.aggregation.AggregationStage``: its durable
state is two key-value tables (``DisputeTables``: Faust tables in a worker, dicts in unit
tests) and its outputs are async senders (``DisputeOutputs``). The pure rules are
``core.disputes.DisputeBook``; the stage validates, applies, publishes and records.

- ``on_batch(records)`` takes records as read from ``sales.disputes`` (``DisputeRecord``:
  position and raw bytes). Each is validated (``DisputeValidator``) and applied to the book:
  ``Rejected`` (by the schema or by the book) is dead-lettered with its reason and counted
  in ``scorecard_records_rejected_total``; ``Duplicate`` is counted in
  ``scorecard_duplicates_skipped_total`` and skipped; ``Applied`` changes a dispute. After
  the batch, every changed dispute is published once (its latest ``dispute`` event, keyed
  by ``dispute_id``), decisions that pay are handed to the payroll ledger, the overdue
  alerts of disputes that ended are resolved, and only then, once the sends are drained,
  each changed dispute is written to the table once.
- ``on_adjustments(links)`` links payroll adjustments caused by corrections naming a
  dispute (``AdjustmentLink``), published and recorded the same way.
- ``on_tick(clock)`` fires ``dispute_overdue`` once per dispute open past its deadline on
  the engine's clock, and resolves any still firing whose dispute ended.

``sales.dispute-links`` carries the stage's other inputs: an adjustment's link
(``encode_link``), sent by the stage that pays it, and ``tick`` messages from the worker's
timer (``tick_due``), so alerts are decided inside stream iteration.

Send, drain, then record: a crash in between re-sends the same ids (dispute events carry
their revision, alerts their state, the ledger pays an appeal id once) instead of
losing a send. After an assignment the first call rebuilds the book from the tables, so a
restart loses nothing and, when nothing was left unrecorded, publishes nothing again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from sales_scorecard.core.alert_rules import alert_key
from sales_scorecard.core.disputes import (
    OVERDUE_RULE,
    AdjustmentLink,
    AdjustmentRequest,
    Applied,
    Dispute,
    DisputeBook,
    DisputeState,
    Duplicate,
    Outcome,
    Rejected,
    RepDirectory,
    overdue_alert,
)
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.schemas.contracts import DISPUTES_TOPIC
from sales_scorecard.schemas.deadletter import deadletter_record
from sales_scorecard.schemas.records import dispute_record_from_event
from sales_scorecard.schemas.validation import PROCESSING_ERROR, Accepted, DisputeValidator

from .metrics import Metrics
from .publisher import KeyValue, Send
from .settings import Settings

log = logging.getLogger(__name__)

#: The ``stage`` label of the stage's error count and last-processed time.
STAGE_LABEL = "disputes"
#: Values of the alert-state table.
FIRING = "firing"
RESOLVED = "resolved"


@dataclass
class DisputeTables:
    """The stage's durable state (partitioned like ``sales.disputes``, by dispute id)."""

    #: dispute_id -> ``core.disputes.Dispute.to_json()``
    disputes: KeyValue
    #: dispute_id -> ``"firing"`` or ``"resolved"``: the dispute's ``dispute_overdue`` alert
    alert_state: KeyValue


@dataclass
class DisputeOutputs:
    """Where the stage publishes; ``drain`` waits until queued sends reached the broker."""

    #: ``sales.appeals``, key ``dispute_id``: the ``dispute`` events
    appeals: Send
    #: ``sales.deadletter``, the original key (None when the record had none)
    deadletter: Callable[[bytes | None, bytes], Awaitable[None]]
    #: ``sales.alerts``, key ``dispute_overdue:rep:{rep_id}:{period}``
    alerts: Send
    #: the payroll ledger's way in: an upheld decision's adjustment
    adjustments: Callable[[AdjustmentRequest], Awaitable[None]]
    drain: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    """One record as read from ``sales.disputes``: where it was and the bytes it held."""

    topic: str  #: the physical topic name (with any prefix), for the dead letter
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def encode_link(link: AdjustmentLink) -> bytes:
    """The ``sales.dispute-links`` message of an adjustment linked to a dispute."""
    return orjson.dumps({"type": "link", "dispute_id": link.dispute_id, "adjustment_id": link.adjustment_id})


def decode_link(value: bytes | None) -> AdjustmentLink | None:
    """The link a ``sales.dispute-links`` message carries; None for a tick. ValueError for
    anything else (an internal topic: a bug or a stray producer, logged and skipped)."""
    try:
        payload = orjson.loads(value or b"")
        if payload.get("type") == "tick":
            return None
        if payload.get("type") == "link":
            return AdjustmentLink(str(payload["dispute_id"]), str(payload["adjustment_id"]))
    except (orjson.JSONDecodeError, AttributeError, KeyError) as exc:
        raise ValueError(f"not a dispute link or tick: {exc}") from exc
    raise ValueError(f"not a dispute link or tick: type {payload.get('type')!r}")


@dataclass
class _Changes:
    """What one call changed, to publish and then record: the latest state of each changed
    dispute (in the order first changed) and the adjustments its decisions pay."""

    disputes: dict[str, Dispute] = field(default_factory=dict)
    requests: list[AdjustmentRequest] = field(default_factory=list)


class DisputeStage:
    """The disputes of this worker's partitions of ``sales.disputes`` and their alerts."""

    def __init__(self, settings: Settings, tables: DisputeTables, outputs: DisputeOutputs, metrics: Metrics,
                 directory: RepDirectory, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.tables = tables
        self.outputs = outputs
        self.metrics = metrics
        self.directory = directory
        self.zone = ZoneInfo(settings.timezone)
        self.validator = DisputeValidator()
        self._wall = wall
        #: None until the first call after an assignment rebuilds it from ``tables``.
        self.book: DisputeBook | None = None
        #: dispute ids whose overdue alert is firing (the alert-state table, in memory)
        self.firing: set[str] = set()
        #: the clock of the last tick (None before any)
        self._ticked_at: datetime | None = None

    # ------------------------------------------------------------------ lifecycle
    def on_revoked(self) -> None:
        """Another worker may own these partitions next: drop the cached book."""
        self.book = None
        self._ticked_at = None

    def tick_due(self, clock: datetime | None) -> bool:
        """Whether a tick has work: the book is not loaded yet, or the clock moved since the
        last tick while a dispute is open or an overdue alert is firing."""
        book = self.book
        if book is None:
            return True
        if clock is None or clock == self._ticked_at:
            return False
        return bool(self.firing) or any(d.state is DisputeState.OPEN for d in book.disputes.values())

    def _load(self) -> DisputeBook:
        """The book as the tables hold it, and the alerts still firing."""
        book = self.book
        if book is None:
            book = DisputeBook(self.directory, self.settings.timezone)
            for dispute_id, value in self.tables.disputes.items():
                book.load(dispute_id, value)
            self.firing = {dispute_id for dispute_id, state in self.tables.alert_state.items() if state == FIRING}
            log.info("dispute book rebuilt: %d disputes, %d overdue alerts firing",
                     len(book.disputes), len(self.firing))
            self.book = book
        return book

    def _emitted_at(self) -> str:
        return format_timestamp(self._wall())

    # ------------------------------------------------------------------ input
    async def on_batch(self, records: Sequence[DisputeRecord]) -> None:
        """Validate and apply records of ``sales.disputes``; publish, then record, what changed."""
        book = self._load()
        emitted_at = self._emitted_at()
        changes = _Changes()
        try:
            for record in records:
                outcome = self._apply(book, record)
                if isinstance(outcome, Applied):
                    changes.disputes[outcome.dispute.dispute_id] = outcome.dispute
                    if outcome.adjustment is not None:
                        changes.requests.append(outcome.adjustment)
                elif isinstance(outcome, Duplicate):
                    self.metrics.duplicates.labels(DISPUTES_TOPIC).inc()
                else:
                    await self._dead_letter(record, outcome, emitted_at)
            await self._commit(book, changes, emitted_at)
        except Exception:
            log.exception("dispute stage failed on a batch; the book is rebuilt from its tables")
            self._failed()
        finally:
            self.metrics.last_processed.labels(STAGE_LABEL).set(time.time())

    def _apply(self, book: DisputeBook, record: DisputeRecord) -> Outcome:
        """One record's outcome: validation first, then the book; an unexpected failure is a
        ``processing_error`` (the record is dead-lettered, the stream goes on)."""
        self.metrics.received.labels(DISPUTES_TOPIC).inc()
        try:
            result = self.validator.validate(DISPUTES_TOPIC, record.value)
            if not isinstance(result, Accepted):
                return Rejected(result.reason, result.detail)
            outcome = book.apply(dispute_record_from_event(result.event))
        except Exception as exc:  # a poison record must not stop the stream: dead-letter it
            log.exception("dispute stage failed on %s[%s]@%s", record.topic, record.partition, record.offset)
            self.metrics.errors.labels(STAGE_LABEL).inc()
            return Rejected(PROCESSING_ERROR, f"{type(exc).__name__}: {exc}")
        if not isinstance(outcome, Rejected):
            self.metrics.accepted.labels(DISPUTES_TOPIC).inc()
        return outcome

    async def _dead_letter(self, record: DisputeRecord, rejected: Rejected, emitted_at: str) -> None:
        value = deadletter_record(rejected.reason, rejected.detail, record.topic, record.partition, record.offset,
                                  record.key, record.value, emitted_at)
        await self.outputs.deadletter(record.key, orjson.dumps(value))
        self.metrics.rejected.labels(DISPUTES_TOPIC, rejected.reason).inc()

    async def on_adjustments(self, links: Iterable[AdjustmentLink]) -> None:
        """Link payroll adjustments to the disputes their corrections name. A link seen before
        changes nothing; one naming a dispute unknown here is logged: the correction stands."""
        book = self._load()
        changes = _Changes()
        try:
            for link in links:
                outcome = book.link_adjustment(link.dispute_id, link.adjustment_id)
                if isinstance(outcome, Applied):
                    changes.disputes[link.dispute_id] = outcome.dispute
                elif isinstance(outcome, Rejected):
                    log.info("adjustment %s names an unknown dispute: %s", link.adjustment_id, outcome.detail)
            await self._commit(book, changes, self._emitted_at())
        except Exception:
            log.exception("dispute stage failed linking adjustments; the book is rebuilt from its tables")
            self._failed()

    # ------------------------------------------------------------------ clock
    async def on_tick(self, clock: datetime | None) -> None:
        """Overdue alerts at the engine's clock ``clock`` (None before any event: nothing)."""
        if clock is None:
            self._load()
            return
        self._ticked_at = clock
        book = self._load()
        emitted_at = self._emitted_at()
        try:
            fired: list[str] = []
            for overdue in book.overdue(clock):
                dispute = overdue.dispute
                if dispute.dispute_id not in self.firing:  # resolved alerts are of ended disputes
                    await self._send_alert(dispute, True, emitted_at)
                    fired.append(dispute.dispute_id)
            ended = self._ended(book, self.firing)
            for dispute in ended:
                await self._send_alert(dispute, False, emitted_at)
            if fired or ended:
                await self.outputs.drain()
            self._record_alerts(fired, ended)
        except Exception:
            log.exception("dispute stage failed on the overdue alerts; the book is rebuilt from its tables")
            self._failed()

    # ------------------------------------------------------------------ publishing
    async def _commit(self, book: DisputeBook, changes: _Changes, emitted_at: str) -> None:
        """Publish each changed dispute once, request its adjustment, resolve the alerts of
        disputes that ended; drain; then write each changed dispute and alert state."""
        for dispute in changes.disputes.values():
            await self.outputs.appeals(dispute.dispute_id.encode(), orjson.dumps(dispute.to_event(emitted_at)))
        for request in changes.requests:
            await self.outputs.adjustments(request)
        ended = self._ended(book, self.firing & changes.disputes.keys())
        for dispute in ended:
            await self._send_alert(dispute, False, emitted_at)
        if changes.disputes or ended:
            await self.outputs.drain()
        for dispute in changes.disputes.values():
            self.tables.disputes[dispute.dispute_id] = dispute.to_json()
        self._record_alerts([], ended)

    def _ended(self, book: DisputeBook, firing: Iterable[str]) -> list[Dispute]:
        """The disputes among ``firing`` that are no longer open, by id."""
        found = (book.get(dispute_id) for dispute_id in sorted(firing))
        return [d for d in found if d is not None and d.state is not DisputeState.OPEN]

    async def _send_alert(self, dispute: Dispute, firing: bool, emitted_at: str) -> None:
        event = overdue_alert(dispute, firing, self.zone, emitted_at)
        key = alert_key(OVERDUE_RULE, "rep", dispute.rep_id, dispute.period)
        await self.outputs.alerts(key.encode(), orjson.dumps(event))
        self.metrics.alerts.labels(OVERDUE_RULE, event["state"]).inc()

    def _record_alerts(self, fired: Iterable[str], ended: Iterable[Dispute]) -> None:
        for dispute_id in fired:
            self.tables.alert_state[dispute_id] = FIRING
            self.firing.add(dispute_id)
        for dispute in ended:
            self.tables.alert_state[dispute.dispute_id] = RESOLVED
            self.firing.discard(dispute.dispute_id)

    def _failed(self) -> None:
        """A send failed: what was not recorded is forgotten here too. The book is rebuilt
        from the tables on the next call, so it never runs ahead of what they hold."""
        self.metrics.errors.labels(STAGE_LABEL).inc()
        self.book = None


class ServedDisputes(Mapping[str, Mapping[str, Any]]):
    """The ``dispute`` event of every dispute the stage holds, read-only, for the web API
    (``streams.dispute_api.DisputeApi``): empty until the stage has loaded its book."""

    def __init__(self, stage: DisputeStage) -> None:
        self._stage = stage

    def _disputes(self) -> dict[str, Dispute]:
        book = self._stage.book
        return {} if book is None else book.disputes

    def __getitem__(self, dispute_id: str) -> Mapping[str, Any]:
        return self._disputes()[dispute_id].to_event(self._stage._emitted_at())

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._disputes()))

    def __len__(self) -> int:
        return len(self._disputes())
