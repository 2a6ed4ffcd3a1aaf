"""The message format of ``sales.facts``: many validated facts per Kafka message.

Faust's cost is per Kafka message, so the hop from ingest to aggregation carries
batches: ``{"type":"batch","facts":[...]}``, each message below ``MAX_BATCH_BYTES`` (far
below Kafka's 1 MB message limit and the producer's batch size). A ``tick`` message
carries no fact; it only makes the aggregation agent run its timers inside stream
iteration. A single fact (the format before batching) is still read, so a topic
written by an older worker drains after an upgrade.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

#: Upper bound of one batch message; a single fact larger than this travels alone.
MAX_BATCH_BYTES = 256 * 1024
TICK = b'{"type":"tick"}'
_HEAD = b'{"type":"batch","facts":['
_TAIL = b"]}"


def encode_batches(facts: Iterable[bytes]) -> Iterator[bytes]:
    """Messages holding the encoded ``facts`` in order, each under ``MAX_BATCH_BYTES``."""
    parts: list[bytes] = []
    size = len(_HEAD) + len(_TAIL)
    for fact in facts:
        if parts and size + len(fact) + 1 > MAX_BATCH_BYTES:
            yield _HEAD + b",".join(parts) + _TAIL
            parts, size = [], len(_HEAD) + len(_TAIL)
        parts.append(fact)
        size += len(fact) + 1
    if parts:
        yield _HEAD + b",".join(parts) + _TAIL


def decode_facts(value: bytes) -> list[dict[str, Any]]:
    """The facts of one ``sales.facts`` message (none for a tick)."""
    payload = orjson.loads(value)
    kind = payload.get("type")
    if kind == "batch":
        return list(payload["facts"])
    if kind == "tick":
        return []
    return [payload]
