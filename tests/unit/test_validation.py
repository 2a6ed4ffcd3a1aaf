"""Input validation: every kind of bad input gets its stable reason; nothing raises."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import fastjsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.schemas.contracts import DISPUTE_TYPES, INPUT_TYPES, fast_check, load_schema, validator
from sales_scorecard.schemas.deadletter import deadletter_record
from sales_scorecard.schemas.examples import DISPUTE_EXAMPLES, VALID_EXAMPLES, valid_example
from sales_scorecard.schemas.records import (
    DealEvent,
    DisputeResolvedEvent,
    TargetEvent,
    dispute_record_from_event,
    record_from_event,
)
from sales_scorecard.schemas.validation import REASONS, Accepted, DisputeValidator, EventValidator, Rejected
from tests.factories import (
    activity,
    close_period,
    complaint,
    deal,
    dispute_opened,
    dispute_resolved,
    dispute_withdrawn,
    roster,
    target,
)

V = EventValidator("CNY")
TOPIC = {"deal": "sales.deals", "complaint": "sales.complaints", "activity": "sales.activities",
         "roster": "sales.roster", "target": "sales.targets", "close_period": "sales.control",
         "review": "sales.reviews", "engagement": "sales.reviews"}
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
    **{f"example_{kind}": ev for kind, ev in VALID_EXAMPLES.items()},
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


def _with(base: str, examples: dict[str, dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    """A valid example (of ``examples``, by default every input type's) with ``changes``
    applied (``...`` removes a field)."""
    ev = copy.deepcopy((VALID if examples is None else examples)[base])
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
    # Edge cases of contract §3 and §9 beyond the basic kinds.
    ("null value", None, "sales.deals", "invalid_json", "$"),
    ("json null", b"null", "sales.deals", "not_an_object", "$"),
    ("type not a string", _with("deal", type=7), "sales.deals", "unknown_type", "$.type"),
    ("schema version as string", _with("deal", schema_version="1"), None, "schema_violation", "$.schema_version"),
    ("schema version float", _with("deal", schema_version=1.0), None, "schema_violation", "$.schema_version"),
    ("version float", _with("deal", version=1.0), None, "schema_violation", "$.version"),
    ("money as string with sign", _with("deal", amount="+1.00"), None, "invalid_money", "$.amount"),
    ("money exponent", _with("deal", amount="1e3"), None, "invalid_money", "$.amount"),
    ("money blank", _with("deal", amount=""), None, "invalid_money", "$.amount"),
    ("money bool", _with("deal", amount=True), None, "invalid_money", "$.amount"),
    ("money trailing newline", _with("deal", amount="1.00\n"), None, "invalid_money", "$.amount"),
    ("target revenue number", _with("target", revenue=100), None, "invalid_money", "$.revenue"),
    ("timestamp number", _with("deal", occurred_at=1700000000), None, "invalid_timestamp", "$.occurred_at"),
    ("timestamp hour 25", _with("deal", created_at="2026-11-05T25:00:00Z"), None, "invalid_timestamp", "$.created_at"),
    ("timestamp offset 25h", _with("deal", created_at="2026-11-05T10:00:00+25:00"), None, "invalid_timestamp",
     "$.created_at"),
    ("timestamp year 1", _with("deal", closed_at="0001-01-01T00:00:00+14:00"), None, "invalid_timestamp",
     "$.closed_at"),
    ("timestamp newline", _with("deal", closed_at="2026-11-05T10:00:00Z\n"), None, "invalid_timestamp", "$.closed_at"),
    ("resolved_at invalid", _with("complaint", resolved_at="soon"), None, "invalid_timestamp", "$.resolved_at"),
    ("id with newline", _with("deal", rep_id="r1\n"), None, "schema_violation", "$.rep_id"),
    ("empty event id", _with("deal", event_id=""), None, "schema_violation", "$.event_id"),
    ("won with null closed_at", _with("deal", closed_at=None), None, "schema_violation", "$.closed_at"),
    ("bad tier", _with("deal", customer_tier="D"), None, "schema_violation", "$.customer_tier"),
    ("negative duration", _with("activity", duration_minutes=-1), None, "schema_violation", "$.duration_minutes"),
    ("survey score zero", _with("activity", score=0), None, "schema_violation", "$.score"),
    ("score as float", _with("activity", score=4.0), None, "schema_violation", "$.score"),
    ("effective not bool", _with("activity", effective="yes"), None, "schema_violation", "$.effective"),
    ("factor below range", _with("roster", territory_factor=0.4), None, "schema_violation", "$.territory_factor"),
    ("factor string below", _with("roster", territory_factor="0.49"), None, "schema_violation", "$.territory_factor"),
    ("factor malformed", _with("roster", territory_factor="1,5"), None, "schema_violation", "$.territory_factor"),
    ("roster status", _with("roster", status="on_leave"), None, "schema_violation", "$.status"),
    ("team target star", _with("target", id="*"), None, "schema_violation", "$.id"),
    ("target year 0000", _with("target", period="0000"), None, "schema_violation", "$.period"),
    ("target period day", _with("target", period="2026-11-05"), None, "schema_violation", "$.period"),
    ("target new customers negative", _with("target", new_customers=-1), None, "schema_violation",
     "$.new_customers"),
    ("currency lower case", _with("deal", currency="cny"), None, "schema_violation", "$.currency"),
    ("close period year", _with("close", period="2026"), None, "schema_violation", "$.period"),
    ("complaint on deals topic", VALID["complaint"], "sales.deals", "wrong_topic", "$.type"),
    ("unknown logical topic", VALID["deal"], "sales.scorecards", "wrong_topic", "$.type"),
]


@pytest.mark.parametrize("name,raw,topic,reason,field", BAD, ids=[b[0] for b in BAD])
def test_bad_input_reason_and_detail(name: str, raw: Any, topic: str | None, reason: str, field: str) -> None:
    result = V.validate(topic or TOPIC[raw["type"]], raw) if raw is None else check(raw, topic)
    assert isinstance(result, Rejected), result
    assert result.reason == reason, result
    assert result.reason in REASONS
    # The detail starts with the offending field's JSON path.
    path = field if field.startswith("$") else f"$.{field}"
    assert result.detail.startswith(path), result.detail


def test_money_bounds_and_shapes() -> None:
    for ok in ("0", "0.5", "1000000000000", "1000000000000.00", "007.10"):
        assert isinstance(check(_with("deal", amount=ok)), Accepted), ok
    for bad in ("1000000000000.01", "99999999999999", "1.", ".5", "1.234", "-0.00", "NaN", " 1.00"):
        result = check(_with("deal", amount=bad))
        assert isinstance(result, Rejected) and result.reason == "invalid_money", (bad, result)
    result = check(_with("deal", amount=5.0))
    assert isinstance(result, Rejected)
    assert result.detail == "$.amount: money must be a decimal string, got a number (5.0)"


def test_territory_factor_bounds_number_or_string() -> None:
    for ok in (0.5, 3, 3.0, "0.5", "1", "2.75", "3.0"):
        result = check(_with("roster", territory_factor=ok))
        assert isinstance(result, Accepted), (ok, result)
        assert isinstance(result.event["territory_factor"], str)  # never a float downstream
    for bad in (0.49, 3.01, "3.01", "0.4", True, "abc"):
        result = check(_with("roster", territory_factor=bad))
        assert isinstance(result, Rejected) and result.reason == "schema_violation", (bad, result)


def rejection(event: dict[str, Any], topic: str | None = None) -> str:
    """The reason ``check`` rejects ``event`` for (fails the test if it is accepted)."""
    result = check(event, topic)
    assert isinstance(result, Rejected), result
    return result.reason


def test_check_order_first_failure_wins() -> None:
    # Bad money and a bad timestamp and a missing field: money is checked first.
    ev = _with("deal", amount="-1", closed_at="never", rep_id=...)
    assert rejection(ev) == "invalid_money"
    assert rejection(_with("deal", closed_at="never", rep_id=...)) == "invalid_timestamp"
    # A wrong topic is reported before a wrong schema_version, and that before money.
    assert rejection(_with("deal", schema_version=9), "sales.roster") == "wrong_topic"
    assert rejection(_with("deal", schema_version=9, amount=1)) == "unsupported_schema_version"
    # Currency is checked last: a foreign currency with a schema error is a schema_violation.
    assert rejection(_with("deal", currency="USD", stage="x")) == "schema_violation"


def test_absent_schema_version_means_1_and_nulls_mean_absent() -> None:
    ev = _with("open_deal", schema_version=...)
    ev.update(closed_at=None, customer_tier=None)
    result = check(ev)
    assert isinstance(result, Accepted), result
    assert result.event["schema_version"] == 1
    assert "closed_at" not in result.event and "customer_tier" not in result.event


def test_accepted_event_keeps_unknown_fields_and_values() -> None:
    ev = {**VALID_EXAMPLES["deal"], "crm_owner_name": "Zhang", "nested": {"a": [1, 2]}}
    result = check(ev)
    assert isinstance(result, Accepted)
    assert result.event == ev


def test_currency_follows_the_configured_base() -> None:
    usd = EventValidator("USD")
    deal_usd = {**VALID_EXAMPLES["deal"], "currency": "USD"}
    assert isinstance(usd.validate("sales.deals", orjson.dumps(deal_usd)), Accepted)
    result = usd.validate("sales.deals", orjson.dumps(VALID_EXAMPLES["deal"]))
    assert isinstance(result, Rejected) and result.reason == "currency_mismatch"
    assert result.detail == "$.currency: expected USD, got 'CNY'"


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
def test_arbitrary_json_never_raises(value: Any, kind: str) -> None:
    # stdlib json on the test side: it can encode integers beyond 64 bits, which a producer might send.
    assert isinstance(V.validate(TOPIC[kind], json.dumps(value).encode()), (Accepted, Rejected))


@st.composite
def mutated_events(draw: st.DrawFn, kinds: tuple[str, ...] = INPUT_TYPES) -> tuple[str, dict[str, Any]]:
    """A valid example with some of its schema's fields replaced by arbitrary JSON or dropped."""
    kind = draw(st.sampled_from(kinds))
    ev = valid_example(kind)
    names = sorted(load_schema(kind)["properties"])
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            ev.pop(name, None)
        elif choice == 1:
            ev[name] = draw(json_values)
        else:  # near misses: strings that look like money, timestamps or ids
            ev[name] = draw(st.from_regex(r"\A-?[0-9]{1,14}(\.[0-9]{0,3})?\Z|\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"
                                          r"(Z|[+-][0-9]{2}:[0-9]{2})?\Z|\A[A-Za-z0-9._:*-]{0,66}\Z"))
    return kind, ev


@settings(max_examples=500, deadline=None)
@given(mutated_events())
def test_mutated_events_never_raise_and_accepted_ones_become_records(case: tuple[str, dict[str, Any]]) -> None:
    kind, ev = case
    result = V.validate(TOPIC[kind], json.dumps(ev).encode())
    assert isinstance(result, (Accepted, Rejected))
    if isinstance(result, Accepted):
        # Whatever is accepted, the engine can type it: no unparseable timestamp or money gets through.
        record = record_from_event(result.event)
        assert record.occurred_at.tzinfo is not None
    else:
        assert result.reason in REASONS and result.detail.startswith("$")


def test_deadletter_record_matches_its_schema() -> None:
    """A dead letter round-trips the original bytes (text or base64) and fits its schema."""
    rec = deadletter_record("invalid_json", "$: not JSON", "sales.deals", 3, 42, b"k\xff", b"\xff\x00",
                            "2026-11-22T10:00:00.000Z")
    assert rec["raw_encoding"] == "base64" and rec["key_encoding"] == "base64"
    assert rec["event_id"] == "dl:sales.deals:3:42"
    assert not list(validator("deadletter").iter_errors(rec))
    text = deadletter_record("x", "d", "t", 0, 0, b"key", b'{"a":1}', "2026-11-22T10:00:00.000Z")
    assert text["raw"] == '{"a":1}' and text["key"] == "key"


def assert_fast_path_agrees(kind: str, ev: dict[str, Any]) -> None:
    """The fast path may defer to the reference validator (floats), but never accepts what
    it rejects, and accepts whatever it accepts without a float."""
    ev = {k: v for k, v in ev.items() if v is not None}  # as the validator sees it
    reference_ok = not list(validator(kind).iter_errors(ev))
    try:
        fast_check(kind)(ev)
        fast_ok = not any(isinstance(ev.get(n), float) for n in ev)  # the float guard of _fast_valid
    except fastjsonschema.JsonSchemaException:
        fast_ok = False
    if fast_ok:
        assert reference_ok, ev
    if reference_ok and not any(isinstance(v, float) for v in ev.values()):
        assert fast_ok, ev


@settings(max_examples=500, deadline=None)
@given(mutated_events())
def test_fast_path_agrees_with_the_reference_validator(case: tuple[str, dict[str, Any]]) -> None:
    assert_fast_path_agrees(*case)


def test_the_fast_path_decides_each_top_level_if_by_its_field() -> None:
    # read from the schemas: the rules "if F is one of these strings then ..." of each type
    switches = {kind: [(field, sorted(values)) for _, field, values in fast_check(kind).switches]
                for kind in INPUT_TYPES}
    assert switches["activity"] == [("kind", ["survey"]), ("kind", ["campaign"])]
    assert switches["deal"] == [("stage", ["lost", "reversed", "won"])]
    assert switches["complaint"] == [("status", ["resolved"])]
    # a target's third rule tests the type of ``split``: it stays inside the compiled schema
    assert switches["target"] == [("scope", ["company"]), ("scope", ["rep"])]


@pytest.mark.parametrize("kind", [k for k in INPUT_TYPES if fast_check(k).switches])
def test_the_fast_path_agrees_on_every_side_of_each_if(kind: str) -> None:
    # each switch's values, another string, another type and no value at all; each with every
    # field dropped in turn (a ``then`` requires some of them)
    for _, field, values in fast_check(kind).switches:
        for value in [*sorted(values), "other", 7, None]:
            ev = valid_example(kind)
            ev[field] = value
            assert_fast_path_agrees(kind, ev)
            for name in sorted(load_schema(kind)["properties"]):
                if name != field:
                    assert_fast_path_agrees(kind, {k: v for k, v in ev.items() if k != name})


def test_integer_floats_never_pass_the_fast_path() -> None:
    ev = _with("example_activity", score=4.0)
    fast_check("activity")({k: v for k, v in ev.items() if v is not None})  # fastjsonschema alone says valid
    result = check(ev)
    assert isinstance(result, Rejected) and result.detail.startswith("$.score")


def test_a_target_may_name_the_dispute_it_settles() -> None:
    result = check(target("rep", "r1", "2026-11", "900.00", dispute_id="DSP-1"))
    assert isinstance(result, Accepted), result
    record = record_from_event(result.event)
    assert isinstance(record, TargetEvent) and record.dispute_id == "DSP-1"
    result = check(target("rep", "r1", "2026-11", "900.00", dispute_id="DSP 1"))
    assert isinstance(result, Rejected) and result.reason == "schema_violation"
    assert result.detail.startswith("$.dispute_id")


def test_a_deal_may_name_the_dispute_it_settles() -> None:
    result = check(deal("d1", "r2", "c1", "900.00", version=2, dispute_id="DSP-1"))
    assert isinstance(result, Accepted), result
    record = record_from_event(result.event)
    assert isinstance(record, DealEvent) and record.dispute_id == "DSP-1"
    result = check(deal("d1", "r2", "c1", "900.00", version=2, dispute_id="DSP 1"))
    assert isinstance(result, Rejected) and result.reason == "schema_violation"
    assert result.detail.startswith("$.dispute_id")


# -- appeal inputs (contract §10) --------------------------------------------------------
D = DisputeValidator()


def dispute_check(ev: Any, topic: str = "sales.disputes") -> Accepted | Rejected:
    return D.validate(topic, ev if isinstance(ev, bytes) else orjson.dumps(ev))


DISPUTE_VALID = {
    "deal": dispute_opened("DSP-1", "r1"),
    "kpi": dispute_opened("DSP-1", "r1", subject_kind="kpi", subject_ref="win_rate"),
    "target without ref": dispute_opened("DSP-1", "r1", subject_kind="target", subject_ref=None),
    "commission without ref": dispute_opened("DSP-1", "r1", subject_kind="commission", subject_ref=None),
    "commission with ref": dispute_opened("DSP-1", "r1", subject_kind="commission", subject_ref="stmt:r1:2026-11"),
    "opened by the manager": dispute_opened("DSP-1", "r1", opened_by="m-1"),
    "one-character claim": dispute_opened("DSP-1", "r1", claim="错"),
    "2000-character claim": dispute_opened("DSP-1", "r1", claim="业" * 2000),  # characters, not UTF-8 bytes
    "upheld without amount": dispute_resolved("DSP-1"),
    "upheld with amount": dispute_resolved("DSP-1", adjustment_amount="1200.50"),
    "partially upheld negative": dispute_resolved("DSP-1", "partially_upheld", adjustment_amount="-120.05"),
    "upheld at -10^12": dispute_resolved("DSP-1", adjustment_amount="-1000000000000.00"),
    "upheld zero": dispute_resolved("DSP-1", adjustment_amount="0"),
    "rejected": dispute_resolved("DSP-1", "rejected"),
    "rejected with null amount": {**dispute_resolved("DSP-1", "rejected"), "adjustment_amount": None},
    "withdrawn": dispute_withdrawn("DSP-1"),
    **{f"example {kind}": ev for kind, ev in DISPUTE_EXAMPLES.items()},
}


@pytest.mark.parametrize("name", sorted(DISPUTE_VALID))
def test_valid_dispute_events_are_accepted(name: str) -> None:
    result = dispute_check(DISPUTE_VALID[name])
    assert isinstance(result, Accepted), result
    assert result.event["schema_version"] == 1
    assert dispute_record_from_event(result.event).type == DISPUTE_VALID[name]["type"]


def _dispute(base: str, **changes: Any) -> dict[str, Any]:
    return _with(base, DISPUTE_VALID, **changes)


DISPUTE_BAD = [
    ("not json", b"{dispute", "sales.disputes", "invalid_json", "$"),
    ("missing type", _dispute("deal", type=...), "sales.disputes", "unknown_type", "$.type"),
    ("a deal on the disputes topic", VALID["deal"], "sales.disputes", "unknown_type", "$.type"),
    ("a dispute on the deals topic", DISPUTE_VALID["deal"], "sales.deals", "wrong_topic", "$.type"),
    ("unknown schema version", _dispute("deal", schema_version=2), "sales.disputes", "unsupported_schema_version",
     "$.schema_version"),
    ("naive occurred_at", _dispute("deal", occurred_at="2026-11-20T10:00:00"), "sales.disputes",
     "invalid_timestamp", "$.occurred_at"),
    ("missing dispute id", _dispute("deal", dispute_id=...), "sales.disputes", "schema_violation", "$.dispute_id"),
    ("bad dispute id", _dispute("withdrawn", dispute_id="DSP 1"), "sales.disputes", "schema_violation",
     "$.dispute_id"),
    ("missing rep", _dispute("deal", rep_id=...), "sales.disputes", "schema_violation", "$.rep_id"),
    ("quarter period", _dispute("deal", period="2026-Q4"), "sales.disputes", "schema_violation", "$.period"),
    ("month 13", _dispute("deal", period="2026-13"), "sales.disputes", "schema_violation", "$.period"),
    ("day period", _dispute("deal", period="2026-11-05"), "sales.disputes", "schema_violation", "$.period"),
    ("unknown subject kind", _dispute("deal", subject_kind="bonus"), "sales.disputes", "schema_violation",
     "$.subject_kind"),
    ("deal without ref", _dispute("deal", subject_ref=...), "sales.disputes", "schema_violation", "$.subject_ref"),
    ("kpi without ref", _dispute("kpi", subject_ref=...), "sales.disputes", "schema_violation", "$.subject_ref"),
    ("deal with null ref", _dispute("deal", subject_ref=None), "sales.disputes", "schema_violation",
     "$.subject_ref"),
    ("ref not an id", _dispute("deal", subject_ref="deal 1"), "sales.disputes", "schema_violation", "$.subject_ref"),
    ("empty claim", _dispute("deal", claim=""), "sales.disputes", "schema_violation", "$.claim"),
    ("blank claim", _dispute("deal", claim=" \n\t "), "sales.disputes", "schema_violation", "$.claim"),
    ("2001-character claim", _dispute("deal", claim="x" * 2001), "sales.disputes", "schema_violation", "$.claim"),
    ("claim a number", _dispute("deal", claim=5), "sales.disputes", "schema_violation", "$.claim"),
    ("missing opened_by", _dispute("deal", opened_by=...), "sales.disputes", "schema_violation", "$.opened_by"),
    ("unknown decision", _dispute("upheld without amount", decision="approved"), "sales.disputes",
     "schema_violation", "$.decision"),
    ("missing resolution", _dispute("upheld without amount", resolution=...), "sales.disputes", "schema_violation",
     "$.resolution"),
    ("missing resolved_by", _dispute("upheld without amount", resolved_by=...), "sales.disputes",
     "schema_violation", "$.resolved_by"),
    ("amount a number", _dispute("upheld with amount", adjustment_amount=100), "sales.disputes", "invalid_money",
     "$.adjustment_amount"),
    ("amount three decimals", _dispute("upheld with amount", adjustment_amount="-1.005"), "sales.disputes",
     "invalid_money", "$.adjustment_amount"),
    ("amount below -10^12", _dispute("upheld with amount", adjustment_amount="-1000000000000.01"),
     "sales.disputes", "invalid_money", "$.adjustment_amount"),
    ("amount above 10^12", _dispute("upheld with amount", adjustment_amount="1000000000000.01"),
     "sales.disputes", "invalid_money", "$.adjustment_amount"),
    ("amount plus sign", _dispute("upheld with amount", adjustment_amount="+5.00"), "sales.disputes",
     "invalid_money", "$.adjustment_amount"),
    ("amount double minus", _dispute("upheld with amount", adjustment_amount="--5"), "sales.disputes",
     "invalid_money", "$.adjustment_amount"),
    ("amount exponent", _dispute("upheld with amount", adjustment_amount="-1e3"), "sales.disputes",
     "invalid_money", "$.adjustment_amount"),
    ("amount on a rejection", _dispute("rejected", adjustment_amount="100.00"), "sales.disputes",
     "schema_violation", "$.adjustment_amount"),
    ("missing withdrawn_by", _dispute("withdrawn", withdrawn_by=...), "sales.disputes", "schema_violation",
     "$.withdrawn_by"),
]


@pytest.mark.parametrize("name,raw,topic,reason,path", DISPUTE_BAD, ids=[b[0] for b in DISPUTE_BAD])
def test_bad_dispute_input_reason_and_detail(name: str, raw: Any, topic: str, reason: str, path: str) -> None:
    result = dispute_check(raw, topic)
    assert isinstance(result, Rejected), result
    assert (result.reason, result.reason in REASONS) == (reason, True), result
    assert result.detail.startswith(path), result.detail


def test_dispute_details_name_the_rule() -> None:
    result = dispute_check(_dispute("rejected", adjustment_amount="100.00"))
    assert isinstance(result, Rejected)
    assert "adjustment_amount only with decision upheld or partially_upheld" in result.detail
    result = dispute_check(_dispute("upheld with amount", adjustment_amount="-1000000000000.01"))
    assert isinstance(result, Rejected)
    assert result.detail == "$.adjustment_amount: money must be between -10^12 and 10^12, got '-1000000000000.01'"


def test_dispute_amount_is_parsed_exactly() -> None:
    result = dispute_check(dispute_resolved("DSP-1", "partially_upheld", adjustment_amount="-120.05"))
    assert isinstance(result, Accepted)
    record = dispute_record_from_event(result.event)
    assert isinstance(record, DisputeResolvedEvent)
    assert record.adjustment_amount == Decimal("-120.05") and isinstance(record.adjustment_amount, Decimal)


def test_the_workers_validator_does_not_know_dispute_events_yet() -> None:
    # Until a stage reads sales.disputes, the input validator of the worker rejects them everywhere.
    result = V.validate("sales.disputes", orjson.dumps(DISPUTE_VALID["deal"]))
    assert isinstance(result, Rejected) and result.reason == "unknown_type"


@settings(max_examples=300, deadline=None)
@given(mutated_events(DISPUTE_TYPES))
def test_mutated_dispute_events_never_raise_and_accepted_ones_become_records(case: tuple[str, dict[str, Any]]) -> None:
    kind, ev = case
    result = D.validate("sales.disputes", json.dumps(ev).encode())
    assert isinstance(result, (Accepted, Rejected))
    if isinstance(result, Accepted):
        record = dispute_record_from_event(result.event)
        assert record.type == kind and record.occurred_at.tzinfo is not None
    else:
        assert result.reason in REASONS and result.detail.startswith("$")


@settings(max_examples=300, deadline=None)
@given(mutated_events(DISPUTE_TYPES))
def test_fast_path_agrees_with_the_reference_validator_on_disputes(case: tuple[str, dict[str, Any]]) -> None:
    assert_fast_path_agrees(*case)


# -- the pipeline of an open deal (contract §13) ---------------------------------------------
def test_an_open_deal_may_carry_its_pipeline_stage_and_expected_close() -> None:
    for stage in ("prospect", "qualified", "proposal", "negotiation"):
        result = check(deal("d1", "r1", "c1", "900.00", stage="open", closed_at=None, pipeline_stage=stage,
                            expected_close_at="2026-11-20T10:00:00+08:00"))
        assert isinstance(result, Accepted), result
        record = record_from_event(result.event)
        assert isinstance(record, DealEvent) and record.pipeline_stage == stage
        assert record.expected_close_at is not None
        assert record.expected_close_at.isoformat() == "2026-11-20T10:00:00+08:00"
    # a won deal may carry them too (the engine ignores them)
    assert isinstance(check(deal("d1", "r1", "c1", "900.00", pipeline_stage="negotiation",
                                 expected_close_at="2026-11-20T10:00:00+08:00")), Accepted)


@pytest.mark.parametrize("field,value,reason", [
    ("pipeline_stage", "closing", "schema_violation"),
    ("pipeline_stage", 3, "schema_violation"),
    ("expected_close_at", "2026-11-20T10:00:00", "invalid_timestamp"),  # naive
    ("expected_close_at", "2026-02-30T10:00:00Z", "invalid_timestamp"),
    ("expected_close_at", 1700000000, "invalid_timestamp"),
])
def test_a_bad_pipeline_field_is_rejected_with_its_reason(field: str, value: Any, reason: str) -> None:
    ev = deal("d1", "r1", "c1", "900.00", stage="open", closed_at=None)
    ev[field] = value
    result = check(ev)
    assert isinstance(result, Rejected) and result.reason == reason, result
    assert result.detail.startswith(f"$.{field}"), result.detail
