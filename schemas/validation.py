"""Validation of raw input records: decode, check, and say exactly what is wrong.

``EventValidator.validate(topic, value)`` returns ``Accepted(event)`` with defaults
filled in, or ``Rejected(reason, detail)``; it never raises. Reason codes are stable
(dashboards and alerts key on them):

| reason | meaning |
|---|---|
| ``invalid_json`` | empty value, not UTF-8, or not JSON |
| ``not_an_object`` | valid JSON but not an object |
| ``unknown_type`` | ``type`` missing or not an input type |
| ``wrong_topic`` | a known type on another type's topic |
| ``unsupported_schema_version`` | a ``schema_version`` this processor does not know |
| ``invalid_money`` | money that is not a decimal string ≥ 0 with ≤ 2 decimals and ≤ 10^12 |
| ``invalid_timestamp`` | a timestamp that is not RFC 3339 with an offset, or an impossible date |
| ``schema_violation`` | missing field, wrong JSON type, bad id, enum, range or conditional rule |
| ``currency_mismatch`` | ``currency`` differs from the configured base currency |

``detail`` names the offending field as a JSON path, e.g. ``$.amount: …``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from sales_scorecard.core.periods import parse_timestamp
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

from .contracts import INPUT_TYPES, validator

INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
UNKNOWN_TYPE = "unknown_type"
WRONG_TOPIC = "wrong_topic"
UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
INVALID_MONEY = "invalid_money"
INVALID_TIMESTAMP = "invalid_timestamp"
SCHEMA_VIOLATION = "schema_violation"
CURRENCY_MISMATCH = "currency_mismatch"
REASONS = (INVALID_JSON, NOT_AN_OBJECT, UNKNOWN_TYPE, WRONG_TOPIC, UNSUPPORTED_SCHEMA_VERSION, INVALID_MONEY,
           INVALID_TIMESTAMP, SCHEMA_VIOLATION, CURRENCY_MISMATCH)

KNOWN_SCHEMA_VERSIONS = frozenset({1})
MAX_MONEY = Decimal(10) ** 12
_MONEY = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$")

MONEY_FIELDS: dict[str, tuple[str, ...]] = {"deal": ("amount",), "target": ("revenue", "market_size")}
TIMESTAMP_FIELDS: dict[str, tuple[str, ...]] = {
    "deal": ("occurred_at", "created_at", "closed_at"),
    "complaint": ("occurred_at", "opened_at", "resolved_at"),
    "activity": ("occurred_at",),
    "roster": ("occurred_at", "effective_at", "hired_at"),
    "target": ("occurred_at",),
    "close_period": ("occurred_at",),
}


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, decoded, with defaults filled in."""

    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a record was rejected."""

    reason: str
    detail: str


def _money_problem(value: Any) -> str | None:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return f"money must be a decimal string, got a number ({value!r})"
    if not isinstance(value, str):
        return f"money must be a decimal string, got {type(value).__name__}"
    if value.startswith("-"):
        return f"money must not be negative, got {value!r}"
    if not _MONEY.match(value):
        if re.match(r"^[0-9]+\.[0-9]{3,}$", value):
            return f"money has at most 2 fractional digits, got {value!r}"
        return f"not a decimal amount: {value!r}"
    if Decimal(value) > MAX_MONEY:
        return f"money must be at most 10^12, got {value!r}"
    return None


def _path(error: Any) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return "$" + parts


class EventValidator:
    """Validates raw input records against the contracts (validators built once)."""

    def __init__(self, currency: str = "CNY") -> None:
        self.currency = currency
        self._validators = {t: validator(t) for t in INPUT_TYPES}

    def validate(self, topic: str, value: bytes | None) -> Accepted | Rejected:
        """Check one record that arrived on logical topic ``topic`` (e.g. ``sales.deals``)."""
        try:
            return self._validate(topic, value)
        except Exception as exc:  # noqa: BLE001 - validation must never raise
            return Rejected(SCHEMA_VIOLATION, f"$: could not be validated ({type(exc).__name__}: {exc})")

    def _validate(self, topic: str, value: bytes | None) -> Accepted | Rejected:
        if not value:
            return Rejected(INVALID_JSON, "$: empty record value")
        try:
            text = value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value
        except UnicodeDecodeError as exc:
            return Rejected(INVALID_JSON, f"$: not UTF-8 ({exc.reason} at byte {exc.start})")
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return Rejected(INVALID_JSON, f"$: not JSON ({exc})")
        if not isinstance(event, dict):
            return Rejected(NOT_AN_OBJECT, f"$: expected a JSON object, got {type(event).__name__}")
        kind = event.get("type")
        if not isinstance(kind, str) or kind not in TOPIC_FOR_TYPE:
            return Rejected(UNKNOWN_TYPE, f"$.type: unknown event type {kind!r}; expected one of {sorted(TOPIC_FOR_TYPE)}")
        expected_topic = TOPIC_FOR_TYPE[kind].name
        if topic != expected_topic:
            return Rejected(WRONG_TOPIC, f"$.type: a {kind!r} event belongs on {expected_topic}, not {topic}")
        version = event.get("schema_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version not in KNOWN_SCHEMA_VERSIONS:
            return Rejected(UNSUPPORTED_SCHEMA_VERSION,
                            f"$.schema_version: {version!r} is not supported (known: {sorted(KNOWN_SCHEMA_VERSIONS)})")
        for name in MONEY_FIELDS.get(kind, ()):
            if name in event and event[name] is not None:
                problem = _money_problem(event[name])
                if problem:
                    return Rejected(INVALID_MONEY, f"$.{name}: {problem}")
        for name in TIMESTAMP_FIELDS[kind]:
            raw = event.get(name)
            if isinstance(raw, str):
                try:
                    parse_timestamp(raw)
                except ValueError:
                    return Rejected(INVALID_TIMESTAMP, f"$.{name}: not an RFC 3339 timestamp with offset: {raw!r}")
        errors = sorted(self._validators[kind].iter_errors(event), key=lambda e: (list(e.absolute_path), e.message))
        if errors:
            error = errors[0]
            return Rejected(SCHEMA_VIOLATION, f"{_path(error)}: {error.message}")
        if kind == "roster" and "territory_factor" in event:
            factor = Decimal(str(event["territory_factor"]))
            if not Decimal("0.5") <= factor <= Decimal("3.0"):
                return Rejected(SCHEMA_VIOLATION, f"$.territory_factor: must be within 0.5-3.0, got {factor}")
        if kind == "deal" and event["currency"] != self.currency:
            return Rejected(CURRENCY_MISMATCH, f"$.currency: expected {self.currency}, got {event['currency']!r}")
        event.setdefault("schema_version", 1)
        if kind == "activity":
            event.setdefault("effective", True)
        return Accepted(event)
