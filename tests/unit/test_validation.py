"""Input validation: every kind of bad input gets its stable reason; nothing raises."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.schemas.contracts import validator
from sales_scorecard.schemas.deadletter import deadletter_record
from sales_scorecard.schemas.validation import Accepted, EventValidator, Rejected
from tests.factories import activity, close_period, complaint, deal, roster, target

V = EventValidator("CNY")
TOPIC = {"deal": "sales.deals", "complaint": "sales.complaints", "activity": "sales.activities",
         "roster": "sales.roster", "target": "sales.targets", "close_period": "sales.control"}
VALID = {
    "deal": deal("d1", "r1", "c1", "120000.00", customer_tier="A"),
    "open_deal": deal("d2", "r1", "c1", "5.00", stage="open", closed_at=None),
    "complaint": complaint("k1", "r1", "c1", status="resolved", resolved_at="2026-11-06T09:00:00Z"),
    "activity": activity("r1", "survey", score=5),
    "campaign": activity("r1", "campaign", campaign_id="spring"),
    "roster": roster("r1", "t1", territory_factor="1.4"),
    "target": target("team", "t1", "2026-Q4", "300000.00", new_customers=6, market_size="9000000.00"),
    "company_target": target("company", "*", "2026", "1.00"),
    "close": close_period("2026-11"),
}


def check(ev: Any, topic: str | None = None) -> Accepted | Rejected:
    raw = ev if isinstance(ev, bytes) else orjson.dumps(ev)
    return V.validate(topic or TOPIC.get(ev.get("type") if isinstance(ev, dict) else "", "sales.deals"), raw)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_examples_are_accepted(name: str) -> None:
    result = check(VALID[name])
    assert isinstance(result, Accepted), result
    assert result.event["schema_version"] == 1


def test_defaults_are_filled() -> None:
    result = check(activity("r1", "call", customer_id="c1"))
    assert isinstance(result, Accepted) and result.event["effective"] is True


def _with(base: str, **changes: Any) -> dict[str, Any]:
    ev = copy.deepcopy(VALID[base])
    for k, v in changes.items():
        if v is ...:
            ev.pop(k)
        else:
            ev[k] = v
    return ev


BAD = [
    ("not utf-8", b"\xff\xfe\x00", "sales.deals", "invalid_json", "$"),
    ("not json", b"{deal", "sales.deals", "invalid_json", "$"),
    ("empty", b"", "sales.deals", "invalid_json", "$"),
    ("array", b"[1]", "sales.deals", "not_an_object", "$"),
    ("string", b'"deal"', "sales.deals", "not_an_object", "$"),
    ("missing field", _with("deal", rep_id=...), None, "schema_violation", "rep_id"),
    ("wrong type", _with("deal", version="2"), None, "schema_violation", "version"),
    ("bad timestamp", _with("deal", created_at="2026-11-05"), None, "invalid_timestamp", "created_at"),
    ("impossible date", _with("deal", closed_at="2026-02-30T10:00:00Z"), None, "invalid_timestamp", "closed_at"),
    ("naive timestamp", _with("deal", occurred_at="2026-11-05T10:00:00"), None, "invalid_timestamp", "occurred_at"),
    ("negative money", _with("deal", amount="-1.00"), None, "invalid_money", "amount"),
    ("three decimals", _with("deal", amount="1.005"), None, "invalid_money", "amount"),
    ("money number", _with("deal", amount=1.5), None, "invalid_money", "amount"),
    ("money too big", _with("deal", amount="1000000000000.01"), None, "invalid_money", "amount"),
    ("target money number", _with("target", market_size=5), None, "invalid_money", "market_size"),
    ("unknown type", _with("deal", type="refund"), "sales.deals", "unknown_type", "type"),
    ("missing type", _with("deal", type=...), "sales.deals", "unknown_type", "type"),
    ("unknown schema version", _with("deal", schema_version=2), None, "unsupported_schema_version", "schema_version"),
    ("foreign currency", _with("deal", currency="USD"), None, "currency_mismatch", "currency"),
    ("wrong topic", VALID["deal"], "sales.activities", "wrong_topic", "type"),
    ("oversized id", _with("deal", deal_id="x" * 65), None, "schema_violation", "deal_id"),
    ("bad id chars", _with("deal", rep_id="r 1"), None, "schema_violation", "rep_id"),
    ("oversized event id", _with("deal", event_id="e" * 129), None, "schema_violation", "event_id"),
    ("survey score range", _with("activity", score=6), None, "schema_violation", "score"),
    ("survey without score", _with("activity", score=...), None, "schema_violation", "score"),
    ("campaign without id", _with("campaign", campaign_id=...), None, "schema_violation", "campaign_id"),
    ("won without closed_at", _with("deal", closed_at=...), None, "schema_violation", "closed_at"),
    ("resolved without resolved_at", _with("complaint", resolved_at=...), None, "schema_violation", "resolved_at"),
    ("bad stage", _with("deal", stage="pending"), None, "schema_violation", "stage"),
    ("version zero", _with("deal", version=0), None, "schema_violation", "version"),
    ("factor out of range", _with("roster", territory_factor="3.5"), None, "schema_violation", "territory_factor"),
    ("company id not *", _with("company_target", id="acme"), None, "schema_violation", "id"),
    ("rep market size", _with("target", scope="rep", id="r1"), None, "schema_violation", "market_size"),
    ("bad period", _with("target", period="2026-13"), None, "schema_violation", "period"),
    ("close a quarter", _with("close", period="2026-Q4"), None, "schema_violation", "period"),
]


@pytest.mark.parametrize("name,raw,topic,reason,field", BAD, ids=[b[0] for b in BAD])
def test_bad_input_reason_and_detail(name: str, raw: Any, topic: str | None, reason: str, field: str) -> None:
    result = check(raw, topic)
    assert isinstance(result, Rejected), result
    assert result.reason == reason, result
    assert field in result.detail, result.detail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(sorted(TOPIC.values())))
def test_arbitrary_bytes_never_raise(raw: bytes, topic: str) -> None:
    assert isinstance(V.validate(topic, raw), (Accepted, Rejected))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(sorted(TOPIC)))
def test_arbitrary_json_and_mutated_events_never_raise(value: Any, kind: str) -> None:
    # stdlib json on the test side: it can encode integers beyond 64 bits, which a producer might send.
    assert isinstance(V.validate(TOPIC[kind], json.dumps(value).encode()), (Accepted, Rejected))
    base = dict(VALID["deal" if kind == "deal" else "activity"])
    if isinstance(value, dict):
        base.update(value)
    assert isinstance(V.validate("sales.deals", json.dumps(base).encode()), (Accepted, Rejected))


def test_deadletter_record_matches_its_schema() -> None:
    rec = deadletter_record("invalid_json", "$: not JSON", "sales.deals", 3, 42, b"k\xff", b"\xff\x00",
                            "2026-11-22T10:00:00.000Z")
    assert rec["raw_encoding"] == "base64" and rec["key_encoding"] == "base64"
    assert rec["event_id"] == "dl:sales.deals:3:42"
    assert not list(validator("deadletter").iter_errors(rec))
    text = deadletter_record("x", "d", "t", 0, 0, b"key", b'{"a":1}', "2026-11-22T10:00:00.000Z")
    assert text["raw"] == '{"a":1}' and text["key"] == "key"
