"""Valid input and every kind of bad input (contract §9) through the real broker.

Each bad record must land in the dead-letter topic with its reason, each valid one be
accepted, duplicates be counted, the metrics agree, and the worker keep consuming.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from sales_scorecard.streams.settings import Settings
from tests.factories import activity, deal, roster
from tests.integration.kafka_helpers import json_values, metric_value, read_topic, send_raw, wait_for

pytestmark = pytest.mark.integration

REPEAT = 20  # records per bad-input kind


def _mutate(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], bytes]:
    def build(ev: dict[str, Any]) -> bytes:
        ev = copy.deepcopy(ev)
        fn(ev)
        return orjson.dumps(ev)
    return build


# kind -> (logical topic, expected reason, builder from a valid deal event to raw bytes)
BAD_KINDS: dict[str, tuple[str, str, Callable[[dict[str, Any]], bytes]]] = {
    "not_utf8": ("sales.deals", "invalid_json", lambda ev: b"\xff\xfe\x00garbage"),
    "not_json": ("sales.deals", "invalid_json", lambda ev: b"{deal: oops"),
    "not_object": ("sales.deals", "not_an_object", lambda ev: b"[1, 2, 3]"),
    "missing_field": ("sales.deals", "schema_violation", _mutate(lambda ev: ev.pop("rep_id"))),
    "wrong_type": ("sales.deals", "schema_violation", _mutate(lambda ev: ev.update(version="two"))),
    "bad_timestamp": ("sales.deals", "invalid_timestamp", _mutate(lambda ev: ev.update(closed_at="yesterday"))),
    "negative_money": ("sales.deals", "invalid_money", _mutate(lambda ev: ev.update(amount="-5.00"))),
    "three_decimals": ("sales.deals", "invalid_money", _mutate(lambda ev: ev.update(amount="5.001"))),
    "money_number": ("sales.deals", "invalid_money", _mutate(lambda ev: ev.update(amount=5.0))),
    "unknown_type": ("sales.deals", "unknown_type", _mutate(lambda ev: ev.update(type="refund"))),
    "unknown_version": ("sales.deals", "unsupported_schema_version", _mutate(lambda ev: ev.update(schema_version=99))),
    "foreign_currency": ("sales.deals", "currency_mismatch", _mutate(lambda ev: ev.update(currency="USD"))),
    "wrong_topic": ("sales.activities", "wrong_topic", _mutate(lambda ev: None)),
    "oversized_id": ("sales.deals", "schema_violation", _mutate(lambda ev: ev.update(deal_id="d" * 65))),
    "survey_score": (
        "sales.activities", "schema_violation",
        lambda ev: orjson.dumps(activity("r1", "survey", score=9)),
    ),
}


def test_bad_input_is_dead_lettered_and_counted(test_settings: Settings, run_worker) -> None:
    s = test_settings
    worker = run_worker(s)
    topic = s.topic
    records: list[tuple[str, bytes | None, bytes | None]] = []
    expected_reason: dict[bytes, str] = {}
    base = deal("dx", "r1", "c1", "100.00", closed_at="2026-11-10T10:00:00+08:00")
    for kind, (logical, reason, build) in BAD_KINDS.items():
        for i in range(REPEAT):
            key = f"bad-{kind}-{i}".encode()
            ev = dict(base, event_id=f"bad-{kind}-{i}", deal_id=f"bad{i}")
            records.append((topic(logical), key, build(ev)))
            expected_reason[key] = reason
    valid: list[dict[str, Any]] = [roster(f"r{i}", "t1" if i < 5 else "t2") for i in range(10)]
    valid += [deal(f"d{i}", f"r{i % 10}", f"c{i % 37}", f"{100 + i}.00",
                   closed_at=f"2026-11-{1 + i % 28:02d}T10:00:00+08:00") for i in range(200)]
    valid += [activity(f"r{i % 10}", "call", customer_id=f"c{i % 37}",
                       occurred_at=f"2026-11-{1 + i % 28:02d}T11:00:00+08:00") for i in range(500)]
    topic_of = {"roster": "sales.roster", "deal": "sales.deals", "activity": "sales.activities"}
    for ev in valid:
        key = (ev.get("deal_id") or ev["rep_id"]).encode()
        records.append((topic(topic_of[ev["type"]]), key, orjson.dumps(ev)))
    duplicates = [(topic("sales.activities"), ev["rep_id"].encode(), orjson.dumps(ev)) for ev in valid[-REPEAT:]]
    send_raw(s, records)
    send_raw(s, duplicates)
    total_bad = len(BAD_KINDS) * REPEAT
    assert len(records) + len(duplicates) >= 1000

    def dead_letters() -> list[dict]:
        return json_values(read_topic(s, topic("sales.deadletter")))

    assert wait_for(lambda: len(dead_letters()) >= total_bad, timeout=90), worker.log_tail()
    letters = dead_letters()
    assert len(letters) == total_bad
    by_key = {dl["key"]: dl for dl in letters}
    for key, reason in expected_reason.items():
        dl = by_key[key.decode()]
        assert dl["reason"] == reason, (key, dl)
        assert dl["detail"], dl
        assert dl["topic"].endswith(next(v[0] for k, v in BAD_KINDS.items() if key.decode().startswith(f"bad-{k}-")))
        assert isinstance(dl["partition"], int) and isinstance(dl["offset"], int)
    # The non-UTF-8 payload is kept, base64-encoded.
    assert by_key["bad-not_utf8-0"].get("raw_encoding") == "base64"
    # A detail names the offending field.
    assert "amount" in by_key["bad-money_number-0"]["detail"]

    def accepted_total() -> float:
        m = worker.metrics()
        return sum(metric_value(m, "scorecard_records_accepted_total", topic=t) for t in topic_of.values())

    # Duplicates are valid records: accepted at ingest, then skipped (and counted) by the
    # aggregation stage, where de-duplication is atomic with the fact write.
    assert wait_for(lambda: accepted_total() >= len(valid) + REPEAT, timeout=60), worker.log_tail()
    assert wait_for(lambda: metric_value(worker.metrics(), "scorecard_duplicates_skipped_total",
                                         topic="sales.activities") >= REPEAT, timeout=60), worker.log_tail()
    m = worker.metrics()
    assert accepted_total() == len(valid) + REPEAT
    assert metric_value(m, "scorecard_duplicates_skipped_total", topic="sales.activities") == REPEAT
    applied = sum(metric_value(m, "scorecard_facts_total", type=t, outcome="applied") for t in topic_of)
    assert applied == len(valid)
    reasons = Counter(expected_reason.values())
    for reason, n in reasons.items():
        got = sum(metric_value(m, "scorecard_records_rejected_total", topic=t, reason=reason)
                  for t in ("sales.deals", "sales.activities"))
        assert got == n, (reason, got, n)
    assert metric_value(m, "scorecard_processing_errors_total", stage="ingest") == 0

    # Still consuming: a new deal shows up in a scorecard.
    send_raw(s, [(topic("sales.deals"), b"late", orjson.dumps(
        deal("late", "r1", "c-late", "7.00", closed_at="2026-11-29T10:00:00+08:00")))])
    expected_revenue = sum(100 + i for i in range(200) if i % 10 == 1) + 7

    def r1_november() -> dict | None:
        latest = None
        for rec in json_values(read_topic(s, topic("sales.scorecards"))):
            if (rec["scope"], rec["id"], rec["period"]) == ("rep", "r1", "2026-11") and (
                    latest is None or rec["revision"] > latest["revision"]):
                latest = rec
        return latest

    assert wait_for(lambda: (r1_november() or {}).get("kpis", {}).get("revenue") == f"{expected_revenue}.00",
                    timeout=60), (r1_november(), worker.log_tail())
