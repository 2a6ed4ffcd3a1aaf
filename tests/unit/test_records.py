"""Typed records and JSON Schemas list the same fields, with the same required-ness and defaults."""

from __future__ import annotations

import dataclasses
import types
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args, get_type_hints

import orjson
import pytest

from sales_scorecard.schemas.contracts import DISPUTE_TYPES, INPUT_TYPES, load_schema
from sales_scorecard.schemas.examples import DISPUTE_EXAMPLES, VALID_EXAMPLES, valid_example
from sales_scorecard.schemas.records import (
    DISPUTE_RECORD_TYPES,
    RECORD_TYPES,
    ActivityEvent,
    ClosePeriodEvent,
    ComplaintEvent,
    DealEvent,
    DisputeOpenedEvent,
    DisputeResolvedEvent,
    DisputeWithdrawnEvent,
    RosterEvent,
    TargetEvent,
    dispute_record_from_event,
    record_from_event,
    record_from_stored,
)
from sales_scorecard.schemas.validation import Accepted, DisputeValidator, EventValidator
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE


def _optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in get_args(hint)


@pytest.mark.parametrize("kind", INPUT_TYPES + DISPUTE_TYPES)
def test_record_fields_equal_schema_properties(kind: str) -> None:
    schema = load_schema(kind)
    cls = {**RECORD_TYPES, **DISPUTE_RECORD_TYPES}[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    assert set(fields) == set(schema["properties"]), kind
    required = set(schema["required"])
    for name, f in fields.items():
        prop = schema["properties"][name]
        has_default = f.default is not dataclasses.MISSING
        # Optional in Python exactly when the schema neither requires nor defaults it.
        assert _optional(hints[name]) == (name not in required and "default" not in prop), (kind, name)
        # A dataclass default exactly when the schema does not require the field ...
        assert has_default == (name not in required), (kind, name)
        # ... and it is the schema's default (parsed) or None.
        if has_default:
            expected = prop.get("default")
            parsed = Decimal(str(expected)) if isinstance(f.default, Decimal) else expected
            assert f.default == parsed, (kind, name)


def test_record_types_cover_every_input_type() -> None:
    assert set(RECORD_TYPES) == set(INPUT_TYPES) == set(TOPIC_FOR_TYPE)
    assert set(DISPUTE_RECORD_TYPES) == set(DISPUTE_TYPES)


def _accepted(kind: str, event: dict[str, Any]) -> dict[str, Any]:
    result = EventValidator("CNY").validate(TOPIC_FOR_TYPE[kind].name, orjson.dumps(event))
    assert isinstance(result, Accepted), result
    return result.event


def test_deal_record_parses_types_and_ignores_extras() -> None:
    rec = record_from_event(_accepted("deal", {**valid_example("deal"), "unknown_extra": {"x": 1}}))
    assert isinstance(rec, DealEvent)
    assert rec.amount == Decimal("120000.00") and isinstance(rec.amount, Decimal)
    assert rec.closed_at == datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    assert rec.closed_at.utcoffset() == timedelta(hours=8)
    assert (rec.version, rec.stage, rec.customer_tier, rec.schema_version) == (3, "won", "A", 1)


def test_optional_fields_absent_or_null_become_none_or_default() -> None:
    ev = {k: v for k, v in valid_example("activity").items() if k not in ("effective", "schema_version")}
    ev.update(kind="call", score=None, customer_id=None)
    rec = record_from_event(_accepted("activity", ev))
    assert isinstance(rec, ActivityEvent)
    assert rec.effective is True and rec.score is None and rec.customer_id is None and rec.schema_version == 1
    roster = valid_example("roster")
    del roster["territory_factor"]
    rec_r = record_from_event(_accepted("roster", roster))
    assert isinstance(rec_r, RosterEvent) and rec_r.territory_factor == Decimal("1.0")


def test_territory_factor_number_or_string_is_an_exact_decimal() -> None:
    as_number = record_from_event(_accepted("roster", {**valid_example("roster"), "territory_factor": 1.15}))
    as_string = record_from_event(_accepted("roster", {**valid_example("roster"), "territory_factor": "1.15"}))
    assert isinstance(as_number, RosterEvent) and isinstance(as_string, RosterEvent)
    assert as_number.territory_factor == as_string.territory_factor == Decimal("1.15")


@pytest.mark.parametrize("kind,cls", [("deal", DealEvent), ("complaint", ComplaintEvent), ("activity", ActivityEvent),
                                      ("roster", RosterEvent), ("target", TargetEvent),
                                      ("close_period", ClosePeriodEvent)])
def test_every_example_becomes_its_record(kind: str, cls: type) -> None:
    rec = record_from_event(_accepted(kind, VALID_EXAMPLES[kind]))
    assert type(rec) is cls
    assert isinstance(rec.occurred_at, datetime) and rec.occurred_at.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.event_id = "other"  # type: ignore[misc]  # the frozen error is the point


def test_target_money_fields_are_decimals() -> None:
    rec = record_from_event(_accepted("target", valid_example("target")))
    assert isinstance(rec, TargetEvent)
    assert rec.revenue == Decimal("3000000.00") and rec.market_size == Decimal("90000000.00")
    assert rec.new_customers == 12 and rec.period == "2026-Q4"


@pytest.mark.parametrize("kind,cls", [("dispute_opened", DisputeOpenedEvent),
                                      ("dispute_resolved", DisputeResolvedEvent),
                                      ("dispute_withdrawn", DisputeWithdrawnEvent)])
def test_every_dispute_example_becomes_its_record(kind: str, cls: type) -> None:
    result = DisputeValidator().validate("sales.disputes", orjson.dumps(DISPUTE_EXAMPLES[kind]))
    assert isinstance(result, Accepted), result
    rec = dispute_record_from_event(result.event)
    assert type(rec) is cls and rec.occurred_at.tzinfo is not None


def test_dispute_records_parse_money_and_leave_absent_fields_none() -> None:
    opened = dispute_record_from_event({**valid_example("dispute_opened"), "subject_kind": "target",
                                        "subject_ref": None})
    assert isinstance(opened, DisputeOpenedEvent) and opened.subject_ref is None and opened.period == "2026-11"
    assert opened.occurred_at == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    resolved = dispute_record_from_event({**valid_example("dispute_resolved"), "adjustment_amount": "-0.05"})
    assert isinstance(resolved, DisputeResolvedEvent) and resolved.adjustment_amount == Decimal("-0.05")
    without = {k: v for k, v in valid_example("dispute_resolved").items() if k != "adjustment_amount"}
    rec = dispute_record_from_event(without)
    assert isinstance(rec, DisputeResolvedEvent) and rec.adjustment_amount is None


def test_a_stored_fact_becomes_the_record_of_its_event() -> None:
    from sales_scorecard.cli.simulation import SimulationConfig, simulate

    events = simulate(SimulationConfig(seed=2, reps=6, teams=2, months=2, split_targets=True))
    assert {e["type"] for e in events} >= {"deal", "complaint", "activity", "roster", "target", "review"}
    for event in events:
        # repr: the same values, and the same tzinfo (offset) of every timestamp
        assert repr(record_from_stored(event)) == repr(record_from_event(event))
    for example in VALID_EXAMPLES.values():
        assert repr(record_from_stored(example)) == repr(record_from_event(example))
