"""The dead-letter record of contract §8 for a rejected input record (``deadletter.schema.json``)."""

from __future__ import annotations

import base64
from typing import Any

UTF8 = "utf-8"
BASE64 = "base64"


def as_text(data: bytes | None) -> tuple[str | None, str]:
    """``(text, encoding)``: the bytes as UTF-8 text, else base64; None stays None."""
    if data is None:
        return None, UTF8
    try:
        return bytes(data).decode("utf-8"), UTF8
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), BASE64


def deadletter_record(
    reason: str,
    detail: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    raw: bytes | None,
    emitted_at: str,
) -> dict[str, Any]:
    """A dead-letter event; its ``event_id`` is deterministic per source position.

    ``topic`` is the physical topic the record was read from; ``key_encoding`` and
    ``raw_encoding`` say whether ``key`` and ``raw`` are the original text or base64.
    """
    key_text, key_encoding = as_text(key)
    raw_text, raw_encoding = as_text(raw)
    return {
        "event_id": f"dl:{topic}:{partition}:{offset}",
        "type": "deadletter",
        "schema_version": 1,
        "emitted_at": emitted_at,
        "reason": reason,
        "detail": detail,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key_text,
        "key_encoding": key_encoding,
        "raw": raw_text,
        "raw_encoding": raw_encoding,
    }
