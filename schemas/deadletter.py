"""The dead-letter record of contract §8 for a rejected input record (``deadletter.schema.json``)."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from .fact_types import FACT_TYPES

UTF8 = "utf-8"
BASE64 = "base64"
WITHHELD = "(withheld)"


def withheld(raw: bytes | None, detail: str) -> tuple[bytes | None, str]:
    """The raw record and the detail a dead letter may show: the private fields of its type
    (an engagement answer's respondent and rating, contract §12) replaced by ``WITHHELD``,
    and a detail about one of them without its value. Anything else is returned as is."""
    try:
        decoded = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return raw, detail
    if not isinstance(decoded, dict):
        return raw, detail
    kind = decoded.get("type")
    fact_type = FACT_TYPES.get(kind) if isinstance(kind, str) else None
    if fact_type is None or not fact_type.private:
        return raw, detail
    for name in fact_type.private:
        if name in decoded:
            decoded[name] = WITHHELD
        if detail.startswith(f"$.{name}"):
            detail = f"$.{name}: invalid; the value is withheld (engagement answers are private, contract §12)"
    return orjson.dumps(decoded), detail


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
