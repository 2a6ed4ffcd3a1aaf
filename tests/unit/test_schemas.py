"""The JSON Schema files themselves: well-formed, resolvable, and matching what the code emits."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

from sales_scorecard.core.engine import PayChange, ScorecardEngine
from sales_scorecard.schemas.contracts import (
    BASE_URI,
    DISPUTE_TYPES,
    INPUT_TYPES,
    OUTPUT_TYPES,
    SCHEMA_NAMES,
    ContractValidator,
    load_schema,
    registry,
    validator,
)
from sales_scorecard.schemas.deadletter import deadletter_record
from sales_scorecard.schemas.examples import DISPUTE_EXAMPLES, OUTPUT_EXAMPLES, VALID_EXAMPLES, valid_example
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE
from tests.factories import activity, complaint, deal, roster, target


def errors(name: str, instance: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_every_packaged_file_is_a_known_schema() -> None:
    files = {p.name for p in resources.files("sales_scorecard.schemas").joinpath("json").iterdir()
             if p.name.endswith(".schema.json")}
    assert files == {f"{name}.schema.json" for name in SCHEMA_NAMES}
    assert set(INPUT_TYPES) == set(TOPIC_FOR_TYPE)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12_with_its_own_id(name: str) -> None:
    schema = load_schema(name)
    ContractValidator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{BASE_URI}{name}.schema.json"
    if name != "common":
        assert schema["properties"]["type"] == {"const": name}


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_ref_resolves(name: str) -> None:
    schema = load_schema(name)
    resolver = registry().resolver(base_uri=schema["$id"])
    found = list(refs(schema))
    for ref in found:
        assert resolver.lookup(ref).contents is not None, ref
    if name != "common":
        assert found, "every event schema uses the shared definitions"


@pytest.mark.parametrize("name", INPUT_TYPES)
def test_input_examples_are_valid(name: str) -> None:
    assert VALID_EXAMPLES[name]["type"] == name
    assert errors(name, VALID_EXAMPLES[name]) == []


@pytest.mark.parametrize("name", DISPUTE_TYPES)
def test_dispute_input_examples_are_valid(name: str) -> None:
    assert DISPUTE_EXAMPLES[name]["type"] == name
    assert errors(name, DISPUTE_EXAMPLES[name]) == []


@pytest.mark.parametrize("name", OUTPUT_TYPES)
def test_output_examples_are_valid(name: str) -> None:
    assert OUTPUT_EXAMPLES[name]["type"] == name
    assert errors(name, OUTPUT_EXAMPLES[name]) == []


def test_valid_example_is_a_private_copy() -> None:
    ev = valid_example("deal")
    ev["amount"] = "1.00"
    assert VALID_EXAMPLES["deal"]["amount"] == "120000.00"


@pytest.mark.parametrize("name,mutate,path", [
    ("scorecard", lambda e: e["kpis"].pop("csat"), "$.kpis"),
    ("scorecard", lambda e: e["kpis"].update(revenue=1200000.0), "$.kpis.revenue"),
    ("scorecard", lambda e: e["kpis"].update(target="1000000.5"), "$.kpis.target"),
    ("scorecard", lambda e: e["kpis"]["activities"].pop("survey"), "$.kpis.activities"),
    ("scorecard", lambda e: e.update(revision=0), "$.revision"),
    ("scorecard", lambda e: e.update(scope="company"), "$.id"),
    ("leaderboard", lambda e: e.update(board="region:north"), "$.board"),
    ("leaderboard", lambda e: e["rows"][0].update(rank=0), "$.rows[0].rank"),
    ("alert", lambda e: e.update(state="pending"), "$.state"),
    ("payroll.statement", lambda e: e.update(commission="-1.00"), "$.commission"),
    ("payroll.statement", lambda e: e.pop("flags"), "$"),
    ("payroll.statement", lambda e: e["line_items"][0].pop("version"), "$.line_items[0]"),
    ("payroll.statement", lambda e: e.update(period="2026-Q4"), "$.period"),
    ("payroll.adjustment", lambda e: e.update(delta_revenue="-1.5"), "$.delta_revenue"),
    ("deadletter", lambda e: e.update(extra=1), "$"),
    ("deadletter", lambda e: e.update(raw_encoding="hex"), "$.raw_encoding"),
    ("deadletter", lambda e: e.update(schema_version=2), "$.schema_version"),
    ("dispute", lambda e: e.update(state="pending"), "$.state"),
    ("dispute", lambda e: e.update(state="open"), "$.resolved_at"),
    ("dispute", lambda e: e.update(state="withdrawn"), "$.decision"),
    ("dispute", lambda e: e.update(adjustment_amount="3000.5"), "$.adjustment_amount"),
    ("dispute", lambda e: e.update(history=[]), "$.history"),
    ("dispute", lambda e: e["history"][0].pop("by"), "$.history[0]"),
    ("dispute", lambda e: e.update(revision=0), "$.revision"),
])
def test_output_contract_rejects(name: str, mutate: Any, path: str) -> None:
    ev = valid_example(name)
    mutate(ev)
    found = errors(name, ev)
    assert found and any(msg.startswith(path) for msg in found), found


def test_negative_deltas_are_valid_adjustments() -> None:
    assert OUTPUT_EXAMPLES["payroll.adjustment"]["delta_commission"].startswith("-")


def test_json_integers_and_ecma_anchors() -> None:
    # Draft 2020-12 would call 1.0 an integer and Python's `$` would accept a trailing newline.
    assert errors("deal", {**VALID_EXAMPLES["deal"], "version": 3.0})
    assert errors("deal", {**VALID_EXAMPLES["deal"], "rep_id": "rep.zhang\n"})
    assert errors("close_period", {**VALID_EXAMPLES["close_period"], "period": "2026-11\n"})
    assert not errors("deal", {**VALID_EXAMPLES["deal"], "version": 3})


def _engine() -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    events = [roster("r1", "t1", territory_factor="1.5"), roster("r2", "t1"),
              target("rep", "r1", "2026-11", "1000.00"),
              target("team", "t1", "2026-Q4", "9000.00", market_size="50000.00"),
              deal("d1", "r1", "c1", "1200.00", customer_tier="B"), deal("d2", "r2", "c2", "300.00", stage="lost"),
              complaint("k1", "r1", "c1", status="resolved", resolved_at="2026-11-06T09:00:00+08:00"),
              activity("r1", "survey", score=4), activity("r1", "call", customer_id="c1"),
              activity("r1", "training", duration_minutes=90), activity("r2", "campaign", campaign_id="cmp-1")]
    for ev in events:
        engine.apply(record_from_event(ev))
    return engine


@pytest.mark.parametrize("scope,id", [("rep", "r1"), ("rep", "r2"), ("team", "t1"), ("company", "*")])
@pytest.mark.parametrize("period", ["2026-11", "2026-Q4", "2026", "R30D", "R90D"])
def test_engine_scorecards_match_the_scorecard_schema(scope: str, id: str, period: str) -> None:
    content = _engine().render(scope, id, period)
    assert content is not None
    event = {**copy.deepcopy(content), "event_id": f"scorecard:{scope}:{id}:{period}:1", "revision": 1,
             "emitted_at": "2026-11-22T10:00:00.000Z"}
    assert errors("scorecard", event) == []


@pytest.mark.parametrize("key,raw,encoding", [(b"D-1", b'{"amount": 5.0}', "utf-8"),
                                              (b"k\xff", b"\xff\xfe\x00", "base64"),
                                              (None, None, "utf-8"), (b"", b"", "utf-8")])
def test_deadletter_records_match_their_schema(key: bytes | None, raw: bytes | None, encoding: str) -> None:
    rec = deadletter_record("invalid_json", "$: not JSON", "prod.sales.deals", 3, 42, key, raw,
                            "2026-11-22T10:00:00.000Z")
    assert errors("deadletter", rec) == []
    assert rec["event_id"] == "dl:prod.sales.deals:3:42"
    assert rec["raw_encoding"] == encoding


def test_payroll_outputs_match_their_schemas() -> None:
    from sales_scorecard.core.payroll import PayrollLedger
    from tests.factories import close_period

    engine = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), target("rep", "r1", "2026-11", "1000000.00"),
               deal("d1", "r1", "c1", "1200000.00"), close_period("2026-11")):
        engine.apply(record_from_event(ev))
    ledger = PayrollLedger()
    statements = ledger.post_statements(engine, "2026-12-01T00:00:00.000Z")
    assert [s.event["commission"] for s in statements] == ["66000.00"]  # contract §7 example
    assert errors("payroll.statement", statements[0].event) == []
    engine.apply(record_from_event(deal("d1", "r1", "c1", "1200000.00", stage="reversed", version=2)))
    adjustments = ledger.adjust(engine, {("r1", "2026-11"): PayChange("reversal", "d1")}, "2026-12-02T00:00:00.000Z")
    assert [a.event["delta_commission"] for a in adjustments] == ["-66000.00"]
    assert errors("payroll.adjustment", adjustments[0].event) == []
