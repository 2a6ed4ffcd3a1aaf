"""The dead-letter record of SPEC §8 for a rejected input record."""

from __future__ import annotations

import base64
from typing import Any


def _text(data: bytes | None) -> tuple[str | None, str]:
    if data is None:
        return None, "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def deadletter_record(
    reason: str, detail: str, topic: str, partition: int, offset: int,
    key: bytes | None, raw: bytes | None, emitted_at: str,
) -> dict[str, Any]:
    """A dead-letter event; its id is deterministic per source position."""
    key_text, key_encoding = _text(key)
    raw_text, raw_encoding = _text(raw)
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
