"""Validation of raw input records: decode, check, and say exactly what is wrong.

``EventValidator(currency).validate(topic, value)`` takes the *logical* topic name
(``sales.deals``) and the raw record value, and returns ``Accepted(event)`` or
``Rejected(reason, detail)``. It never raises. ``DisputeValidator().validate`` does the
same for the appeal inputs on ``sales.disputes`` (contract §10), which no stage reads
yet: it knows only those three types, so a deal sent there is an ``unknown_type``.
Checks run in this order and the first failure wins:

    decode → object → type → topic → schema_version → money → timestamps → schema → currency

Reason codes are stable (dead letters, the rejection counter and dashboards key on them):

| reason | meaning |
|---|---|
| ``invalid_json`` | null or empty value, not UTF-8, or not JSON |
| ``not_an_object`` | valid JSON but not an object |
| ``unknown_type`` | ``type`` missing, not a string, or not an input type |
| ``wrong_topic`` | a known type on another type's topic |
| ``unsupported_schema_version`` | an integer ``schema_version`` this processor does not know (only 1) |
| ``invalid_money`` | a money field that is not a decimal string ≥ 0, ≤ 10^12, with ≤ 2 decimals (JSON numbers too) |
| ``invalid_timestamp`` | a timestamp not in RFC 3339 with offset or ``Z``, an impossible date, or outside 1900–2999 |
| ``schema_violation`` | any other schema rule: missing field, wrong type, bad or oversized id, enum, range, if/then |
| ``currency_mismatch`` | ``currency`` differs from the configured base currency |
| ``processing_error`` | not produced here: the ingest agent's code for an unexpected failure |

Signed money (an appeal's ``adjustment_amount``) may also carry a leading ``-``, down to −10^12.

``detail`` starts with the JSON path of the offending field, e.g.
``$.amount: money must be a decimal string, got a number (5.0)``.

Which fields are money, timestamps, decimals or currencies, and which defaults apply,
is read from the schema files, not kept in a second list here. Optional fields may be
``null``, which means absent: the accepted event has top-level nulls removed, then
defaults filled (``schema_version`` 1, activity ``effective`` true, roster
``territory_factor`` "1.0"); a JSON-number ``territory_factor`` or ``rating`` (contract §12)
becomes a decimal string, and must spell a decimal its string form allows (``4.55`` is
not a rating).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

import fastjsonschema
import orjson
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from sales_scorecard.core.periods import parse_stored_timestamp
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

from .contracts import DISPUTE_TYPES, DISPUTES_TOPIC, INPUT_TYPES, bundled, fast_check, load_schema, validator

INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
UNKNOWN_TYPE = "unknown_type"
WRONG_TOPIC = "wrong_topic"
UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
INVALID_MONEY = "invalid_money"
INVALID_TIMESTAMP = "invalid_timestamp"
SCHEMA_VIOLATION = "schema_violation"
CURRENCY_MISMATCH = "currency_mismatch"
PROCESSING_ERROR = "processing_error"
#: Every reason this module can return.
REASONS: tuple[str, ...] = (
    INVALID_JSON, NOT_AN_OBJECT, UNKNOWN_TYPE, WRONG_TOPIC, UNSUPPORTED_SCHEMA_VERSION, INVALID_MONEY,
    INVALID_TIMESTAMP, SCHEMA_VIOLATION, CURRENCY_MISMATCH,
)

KNOWN_SCHEMA_VERSIONS = frozenset({1})
MAX_MONEY = Decimal(10) ** 12
MIN_YEAR, MAX_YEAR = 1900, 2999  # the engine shifts periods by a year; keep far from datetime's limits

_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_SIGNED_MONEY = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
_DECIMAL_SHAPE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
                        r"(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})")
_DETAIL_LIMIT = 400


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event: the decoded dict, nulls removed and defaults filled in."""

    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a record was rejected: a stable ``reason`` code and a human ``detail``."""

    reason: str
    detail: str


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def money_problem(value: Any) -> str | None:
    """Why ``value`` is not valid input money, or None when it is."""
    if not isinstance(value, str):
        return f"money must be a decimal string, got {_json_type(value)} ({_short(value)})"
    if _MONEY.fullmatch(value):
        if Decimal(value) > MAX_MONEY:
            return f"money must be at most 10^12, got {_short(value)}"
        return None
    if _DECIMAL_SHAPE.fullmatch(value):
        if value.startswith("-"):
            return f"money must not be negative, got {_short(value)}"
        return f"money has at most 2 fractional digits, got {_short(value)}"
    return f"not a decimal amount (digits, optional '.' and 1-2 digits): {_short(value)}"


def signed_money_problem(value: Any) -> str | None:
    """Why ``value`` is not valid signed input money (``-`` allowed), or None when it is."""
    if not isinstance(value, str):
        return f"money must be a decimal string, got {_json_type(value)} ({_short(value)})"
    if _SIGNED_MONEY.fullmatch(value):
        if abs(Decimal(value)) > MAX_MONEY:
            return f"money must be between -10^12 and 10^12, got {_short(value)}"
        return None
    if _DECIMAL_SHAPE.fullmatch(value):
        return f"money has at most 2 fractional digits, got {_short(value)}"
    return f"not a decimal amount (optional '-', digits, optional '.' and 1-2 digits): {_short(value)}"


def timestamp_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable RFC 3339 timestamp, or None when it is."""
    if not isinstance(value, str):
        return f"timestamp must be an RFC 3339 string, got {_json_type(value)} ({_short(value)})"
    if not _TIMESTAMP.fullmatch(value):
        return f"not an RFC 3339 timestamp with offset or Z: {_short(value)}"
    try:
        # The shape is RFC 3339 (above): ``datetime.fromisoformat`` reads it as the checked
        # parse would, and that parse decides whenever it cannot.
        parsed = parse_stored_timestamp(value, kept=False)
        year = parsed.astimezone(UTC).year
    except (ValueError, OverflowError) as exc:
        return f"impossible timestamp {_short(value)}: {exc}"
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"timestamp outside {MIN_YEAR}-{MAX_YEAR}: {_short(value)}"
    return None


def _types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a property schema names (``type`` as a string or a list)."""
    declared = prop.get("type", ())
    return {declared} if isinstance(declared, str) else set(declared)


def _string_pattern(prop: dict[str, Any]) -> re.Pattern[str] | None:
    """The pattern of the string branch of a (bundled) decimal property, anchors dropped."""
    for branch in prop.get("anyOf", ()):
        if branch.get("type") == "string" and "pattern" in branch:
            return re.compile(branch["pattern"].removeprefix("^").removesuffix("$"))
    return None


def _refs(prop: dict[str, Any]) -> set[str]:
    """The ``$defs`` names a property schema refers to, directly or in ``anyOf``."""
    found = {prop["$ref"].rsplit("/", 1)[-1]} if "$ref" in prop else set()
    for branch in prop.get("anyOf", ()):
        found |= _refs(branch)
    return found


@dataclass(frozen=True, slots=True)
class _Contract:
    """What the validator needs to know about one input type, read from its schema."""

    schema: dict[str, Any]
    validator: Validator
    fast: Any
    integers: tuple[str, ...]
    money: tuple[str, ...]
    signed_money: tuple[str, ...]
    timestamps: tuple[str, ...]
    #: (field, the pattern its decimal-string form must match, which a JSON number's
    #: spelling must match too: a rating 4.55 is refused like "4.55"; None: no pattern)
    decimals: tuple[tuple[str, re.Pattern[str] | None], ...]
    currency: bool
    defaults: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, kind: str) -> _Contract:
        schema = load_schema(kind)
        props: dict[str, dict[str, Any]] = schema["properties"]
        bundled_props: dict[str, dict[str, Any]] = bundled(kind)["properties"]
        return cls(
            schema=schema,
            validator=validator(kind),
            fast=fast_check(kind),
            integers=tuple(n for n, p in props.items() if "integer" in _types(p)),
            money=tuple(n for n, p in props.items() if "money" in _refs(p)),
            signed_money=tuple(n for n, p in props.items() if "signed_money" in _refs(p)),
            timestamps=tuple(n for n, p in props.items() if "timestamp" in _refs(p)),
            decimals=tuple((n, _string_pattern(bundled_props[n])) for n, p in props.items() if p.get("x-decimal")),
            currency="currency" in props,
            defaults=tuple((n, p["default"]) for n, p in props.items() if "default" in p),
        )


class _RecordValidator:
    """Validates raw records of the types in ``topic_of`` (type -> the logical topic it must
    arrive on) against their contracts; validators are built once, here."""

    def __init__(self, topic_of: dict[str, str], currency: str | None) -> None:
        self.currency = currency
        self._contracts = {kind: _Contract.of(kind) for kind in topic_of}
        self._topic_of = topic_of

    def validate(self, topic: str, value: bytes | None) -> Accepted | Rejected:
        """Check one record value that arrived on logical topic ``topic`` (e.g. ``sales.deals``)."""
        decoded = _decode(value)
        if isinstance(decoded, Rejected):
            return decoded
        if not isinstance(decoded, dict):
            return Rejected(NOT_AN_OBJECT, f"$: expected a JSON object, got {_json_type(decoded)}")
        # null means absent for every top-level field (CDC feeds send every column).
        event = {k: v for k, v in decoded.items() if v is not None}
        kind = event.get("type")
        if not isinstance(kind, str) or kind not in self._contracts:
            what = "missing" if kind is None else f"unknown event type {_short(kind)}"
            return Rejected(UNKNOWN_TYPE, f"$.type: {what}; expected one of {list(self._topic_of)}")
        expected = self._topic_of[kind]
        if topic != expected:
            return Rejected(WRONG_TOPIC, f"$.type: a {kind!r} event belongs on {expected}, not on {topic}")
        version = event.get("schema_version", 1)
        if isinstance(version, bool) or not isinstance(version, int):
            return Rejected(SCHEMA_VIOLATION, f"$.schema_version: must be an integer, got {_json_type(version)}")
        if version not in KNOWN_SCHEMA_VERSIONS:
            return Rejected(
                UNSUPPORTED_SCHEMA_VERSION,
                f"$.schema_version: {version} is not supported (known: {sorted(KNOWN_SCHEMA_VERSIONS)})",
            )
        contract = self._contracts[kind]
        for name in contract.money:
            if name in event and (problem := money_problem(event[name])):
                return Rejected(INVALID_MONEY, f"$.{name}: {problem}")
        for name in contract.signed_money:
            if name in event and (problem := signed_money_problem(event[name])):
                return Rejected(INVALID_MONEY, f"$.{name}: {problem}")
        for name in contract.timestamps:
            if name in event and (problem := timestamp_problem(event[name])):
                return Rejected(INVALID_TIMESTAMP, f"$.{name}: {problem}")
        if not _fast_valid(contract, event):
            errors = contract.validator.iter_errors(event)
            first = next(errors, None)
            if first is not None:
                error = best_match(itertools.chain([first], errors))
                return Rejected(SCHEMA_VIOLATION, _describe(error, contract.schema))
        if contract.currency and event["currency"] != self.currency:
            return Rejected(CURRENCY_MISMATCH, f"$.currency: expected {self.currency}, got {_short(event['currency'])}")
        for name, default in contract.defaults:
            event.setdefault(name, default)
        for name, pattern in contract.decimals:
            value = event.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                spelled = str(value)
                if pattern is not None and not pattern.fullmatch(spelled):
                    return Rejected(SCHEMA_VIOLATION, f"$.{name}: the number {_short(value)} is not a decimal "
                                                      f"of the allowed form ({pattern.pattern})")
                event[name] = spelled
        return Accepted(event)


class EventValidator(_RecordValidator):
    """Validates raw input records (contract §3) against their contracts."""

    def __init__(self, currency: str = "CNY") -> None:
        super().__init__({kind: TOPIC_FOR_TYPE[kind].name for kind in INPUT_TYPES}, currency)


class DisputeValidator(_RecordValidator):
    """Validates raw appeal inputs (contract §10) arriving on logical topic ``topic``; they
    carry no currency (an adjustment is in the base currency)."""

    def __init__(self, topic: str = DISPUTES_TOPIC) -> None:
        super().__init__(dict.fromkeys(DISPUTE_TYPES, topic), None)


def _fast_valid(contract: _Contract, event: dict[str, Any]) -> bool:
    """True when the compiled check passes and cannot differ from the reference validator."""
    if any(isinstance(event.get(name), float) for name in contract.integers):
        return False  # fastjsonschema takes 1.0 for an integer; the reference does not
    try:
        contract.fast(event)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _decode(value: bytes | None) -> Any:
    if value is None:
        return Rejected(INVALID_JSON, "$: the record has no value (null or tombstone)")
    if not value:
        return Rejected(INVALID_JSON, "$: the record value is empty")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if isinstance(value, (bytes, bytearray, memoryview)):
            try:
                bytes(value).decode("utf-8")
            except UnicodeDecodeError as bad:
                return Rejected(INVALID_JSON, f"$: not UTF-8 ({bad.reason} at byte {bad.start})")
        return Rejected(INVALID_JSON, f"$: not JSON ({exc})")


def _describe(error: ValidationError, root: dict[str, Any]) -> str:
    """``$.path: what is wrong`` for a schema error, naming the conditional rule if one failed."""
    path = error.json_path
    if error.validator == "required":
        required = error.validator_value if isinstance(error.validator_value, list) else []
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in required if name not in present]
        path = f"{path}.{missing[0]}" if missing else path
        message = "required field is missing (or null)"
    elif error.validator == "type":
        message = f"expected {error.validator_value}, got {_json_type(error.instance)} ({_short(error.instance)})"
    else:
        message = error.message
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        if described:
            message = f"{message} ({described})"
    schema_path = list(error.schema_path)
    if len(schema_path) >= 2 and schema_path[0] == "allOf" and isinstance(schema_path[1], int):
        rule = root.get("allOf", [])[schema_path[1]].get("description")
        if rule:
            message = f"{message}; rule: {rule}"
    detail = f"{path}: {message}"
    return detail if len(detail) <= _DETAIL_LIMIT else detail[: _DETAIL_LIMIT - 3] + "..."
