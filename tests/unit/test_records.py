"""Typed records and JSON Schemas list the same fields, with the same required-ness."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

import pytest

from sales_scorecard.schemas.contracts import INPUT_TYPES, load_schema
from sales_scorecard.schemas.records import RECORD_TYPES, DealEvent, record_from_event
from tests.factories import deal


@pytest.mark.parametrize("kind", INPUT_TYPES)
def test_record_fields_equal_schema_properties(kind: str) -> None:
    schema = load_schema(kind)
    fields = {f.name: f for f in dataclasses.fields(RECORD_TYPES[kind])}
    assert set(fields) == set(schema["properties"]), kind
    required = set(schema["required"])
    for name, f in fields.items():
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        # A field is required in the schema exactly when the record has no default
        # (schema_version is the one defaulted-yet-listed field: absent means 1).
        if name == "schema_version":
            continue
        assert (name in required) == (not has_default), (kind, name)


def test_record_from_event_parses_types() -> None:
    rec = record_from_event({**deal("d1", "r1", "c1", "12.30"), "unknown_extra": 1})
    assert isinstance(rec, DealEvent)
    assert rec.amount == Decimal("12.30") and isinstance(rec.closed_at, datetime) and rec.closed_at.tzinfo
