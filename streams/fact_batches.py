"""The message format of the internal hops (``sales.facts``, ``sales.rep-facts``,
``sales.team-facts``).

Faust's cost is per Kafka message, so the internal hops carry batches:
``{"type":"batch","facts":[...]}``, each message below ``MAX_BATCH_BYTES`` (far below
Kafka's 1 MB message limit and the producer's batch size). A batch for the rep stage
also carries the organisation's event ``clock``; a batch from the rep stage to the org
stage carries ``board_rows`` (what the leaderboards need of the rep scorecards just
published), ``paid`` states and ``award_reports`` (a closed period's rep figures,
``core.award_reports.ReportChunk``); one from the org stage to a rep partition can carry
``award_decisions`` (a decided period's award events of that partition's reps) or
``award_requests`` (periods whose report the org stage lacks after its rebuild); one to a
team partition can carry a ``handover`` (the revisions and alert states the org stage
recorded of the partition's teams, ``streams.team_stage``), and one from a team
partition to the org stage ``team_requests`` (a partition not fed yet),
``team_award_reports`` (its teams' figures of a closed period: a field of its own, which
an org stage of an earlier version ignores instead of taking the chunk for a rep
partition's report), ``team_rows`` (what a team board shows of the
team scorecards just published) or ``team_values`` (its teams' activities and complaints
per local day, for the company: ``core.team_values``). A
``tick`` message carries nothing; it only makes a stage run its timers inside stream
iteration. A single fact (the format before batching) is still read, so a
topic written by an older worker drains after an upgrade.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

#: The ``table`` of a ``handover`` row that only says the org stage was rebuilt (every
#: team partition is sent one after each of its rebuilds).
REBUILT = "rebuilt"
#: Upper bound of one batch message; a single fact larger than this travels alone.
MAX_BATCH_BYTES = 256 * 1024
TICK = b'{"type":"tick"}'
_HEAD = b'{"type":"batch","facts":['
_TAIL = b"]}"




@dataclass
class Batch:
    """One decoded internal message."""

    facts: list[dict[str, Any]] = field(default_factory=list)
    #: the org stage's event clock (RFC 3339) when it sent the batch to a rep partition
    clock: str | None = None
    #: rep scorecards as the boards need them (rep stage -> org stage)
    board_rows: list[dict[str, Any]] = field(default_factory=list)
    #: what has been paid, ``{"key": "{rep_id}:{month}", "state": ...}`` (rep stage -> org stage)
    paid: list[dict[str, Any]] = field(default_factory=list)
    #: when the oldest input record among the facts was sent (epoch ms; ingest -> stage)
    since: int | None = None
    #: a closed period's rep figures, ``ReportChunk.to_json()`` (rep stage -> org stage)
    award_reports: list[dict[str, Any]] = field(default_factory=list)
    #: ``{"period": ..., "events": [...]}``: a decided period's award events of the
    #: partition's reps, its bonuses to post (org stage -> rep stage)
    award_decisions: list[dict[str, Any]] = field(default_factory=list)
    #: ``{"period": ...}``: a period whose report the org stage lacks (org stage -> rep stage)
    award_requests: list[dict[str, Any]] = field(default_factory=list)
    #: ``{"table": "emitted" | "alert_state", "key": ..., "value": ...}``: what the org
    #: stage recorded of a team's scorecards and alerts, and ``{"table": "rebuilt"}``
    #: after each of its rebuilds (org stage -> team stage)
    handover: list[dict[str, Any]] = field(default_factory=list)
    #: ``{"partition": ...}``: a team partition not fed yet (``team_fed``) asks for every
    #: stored fact it needs (team stage -> org stage)
    team_requests: list[dict[str, Any]] = field(default_factory=list)
    #: team scorecards as a team board's summary needs them (team stage -> org stage)
    team_rows: list[dict[str, Any]] = field(default_factory=list)
    #: a closed period's team figures, ``ReportChunk.to_json()`` (team stage -> org stage)
    team_award_reports: list[dict[str, Any]] = field(default_factory=list)
    #: the team partitions' values to the company, ``core.team_values.value_rows`` (team
    #: stage -> org stage, with ``SCORECARD_COMPANY_VALUES``)
    team_values: list[dict[str, Any]] = field(default_factory=list)

    def age(self, sent_at: float, now: float) -> float:
        """Seconds since the oldest input record of these facts was sent (else since this
        message, sent at ``sent_at``, was)."""
        return now - (self.since / 1000.0 if self.since is not None else sent_at)


def _chunks(items: Iterable[bytes], head: bytes, tail: bytes) -> Iterator[bytes]:
    parts: list[bytes] = []
    size = len(head) + len(tail)
    for item in items:
        if parts and size + len(item) + 1 > MAX_BATCH_BYTES:
            yield head + b",".join(parts) + tail
            parts, size = [], len(head) + len(tail)
        parts.append(item)
        size += len(item) + 1
    if parts:
        yield head + b",".join(parts) + tail


def encode_batches(facts: Iterable[bytes], clock: str | None = None, since: int | None = None) -> Iterator[bytes]:
    """Messages holding the encoded ``facts`` in order, each under ``MAX_BATCH_BYTES``
    (with ``clock`` or ``since``: every message carries them)."""
    tail = b"]"
    if clock is not None:
        tail += b',"clock":' + orjson.dumps(clock)
    if since is not None:
        tail += b',"since":' + orjson.dumps(since)
    return _chunks(facts, _HEAD, tail + b"}")


def encode_clock(clock: str) -> bytes:
    """A batch with no fact that only moves a rep partition's clock."""
    return orjson.dumps({"type": "batch", "facts": [], "clock": clock})


def encode_rows(field_name: str, rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Messages holding ``rows`` under ``field_name`` (``board_rows``, ``paid``,
    ``award_reports``, ``award_decisions``, ``award_requests``, ``handover``,
    ``team_requests``, ``team_rows``, ``team_award_reports`` or ``team_values``), each under
    ``MAX_BATCH_BYTES``."""
    head = b'{"type":"batch","facts":[],"' + field_name.encode() + b'":['
    return _chunks((orjson.dumps(row) for row in rows), head, _TAIL)


def decode_batch(value: bytes) -> Batch:
    """One internal message (a tick is an empty batch)."""
    payload = orjson.loads(value)
    kind = payload.get("type")
    if kind == "batch":
        return Batch(list(payload["facts"]), payload.get("clock"), list(payload.get("board_rows", ())),
                     list(payload.get("paid", ())), payload.get("since"), list(payload.get("award_reports", ())),
                     list(payload.get("award_decisions", ())), list(payload.get("award_requests", ())),
                     list(payload.get("handover", ())), list(payload.get("team_requests", ())),
                     list(payload.get("team_rows", ())), list(payload.get("team_award_reports", ())),
                     list(payload.get("team_values", ())))
    if kind == "tick":
        return Batch()
    return Batch([payload])
