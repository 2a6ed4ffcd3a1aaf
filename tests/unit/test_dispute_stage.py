"""The dispute stage over dict tables (contract §10): every outcome of a record, one
publication and one table write per changed dispute, overdue alerts once, resolution,
and restarts that lose nothing and publish nothing twice.

2026-11-20 is a Friday: a dispute opened then at 10:00 (+08:00) is overdue strictly after
Friday 2026-11-27 10:00 (+08:00), 5 business days later.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from sales_scorecard.core.disputes import AdjustmentLink, AdjustmentRequest, Placement
from sales_scorecard.core.periods import parse_timestamp
from sales_scorecard.schemas.contracts import validator
from sales_scorecard.streams.dispute_stage import (
    DisputeOutputs,
    DisputeRecord,
    DisputeStage,
    DisputeTables,
    ServedDisputes,
    decode_link,
    encode_link,
)
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.settings import Settings
from tests.factories import dispute_opened, dispute_resolved, dispute_withdrawn

PLACES = {"r1": Placement("t1", "m-1"), "r2": Placement("t2", None)}
TOPIC = "prod.sales.disputes"  # the physical name, with a prefix
OPENED_AT = "2026-11-20T10:00:00+08:00"  # a Friday
DEADLINE = parse_timestamp("2026-11-27T10:00:00+08:00")
AFTER_DEADLINE = parse_timestamp("2026-11-27T10:00:01+08:00")


def directory(rep_id: str, at: datetime, /) -> Placement | None:
    if rep_id == "boom":
        raise RuntimeError("roster unavailable")
    return PLACES.get(rep_id)


class Journal:
    """Everything the stage did, in order: sends per output, drains and table writes."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.sent: dict[str, list[tuple[str | None, Any]]] = {"appeals": [], "deadletter": [], "alerts": []}
        self.requests: list[AdjustmentRequest] = []
        self.fail_alerts = 0  # how many alert sends raise before they work again

    def outputs(self) -> DisputeOutputs:
        def sender(name: str):
            async def send(key: bytes | None, value: bytes | None) -> None:
                if name == "alerts" and self.fail_alerts:
                    self.fail_alerts -= 1
                    raise ConnectionError("broker gone")
                self.steps.append(f"send {name}")
                self.sent[name].append((None if key is None else key.decode(),
                                        None if value is None else orjson.loads(value)))
            return send

        async def adjustments(request: AdjustmentRequest) -> None:
            self.steps.append("send adjustments")
            self.requests.append(request)

        async def drain() -> None:
            self.steps.append("drain")

        return DisputeOutputs(sender("appeals"), sender("deadletter"), sender("alerts"), adjustments, drain)


class Table(dict[str, Any]):
    """A dict that writes its writes into the journal."""

    def __init__(self, name: str, journal: Journal) -> None:
        super().__init__()
        self.name, self.journal = name, journal

    def __setitem__(self, key: str, value: Any) -> None:
        self.journal.steps.append(f"write {self.name}:{key}")
        super().__setitem__(key, value)


def new_tables(journal: Journal) -> DisputeTables:
    return DisputeTables(disputes=Table("disputes", journal), alert_state=Table("alert_state", journal))


def stage_over(tables: DisputeTables, journal: Journal) -> tuple[DisputeStage, Metrics]:
    metrics = Metrics()
    wall = datetime(2026, 12, 1, tzinfo=UTC)
    return DisputeStage(Settings(store="memory"), tables, journal.outputs(), metrics, directory,
                        wall=lambda: wall), metrics


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


_offsets = itertools.count()


def rec(event: dict[str, Any] | bytes | None, key: bytes | None = None) -> DisputeRecord:
    """A record at the next offset of partition 2, keyed by its dispute id."""
    if isinstance(event, dict):
        return DisputeRecord(TOPIC, 2, next(_offsets), key or event["dispute_id"].encode(), orjson.dumps(event))
    return DisputeRecord(TOPIC, 2, next(_offsets), key, event)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def schema_errors(name: str, instance: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def opened(dispute_id: str = "DSP-1", rep_id: str = "r1", **kw: Any) -> dict[str, Any]:
    return dispute_opened(dispute_id, rep_id, occurred_at=kw.pop("occurred_at", OPENED_AT),
                          event_id=kw.pop("event_id", f"{dispute_id}:open"), **kw)


# -- applied -----------------------------------------------------------------------------

def test_an_opening_is_published_then_recorded() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    run(stage.on_batch([rec(opened())]))
    [(key, event)] = journal.sent["appeals"]
    assert key == "DSP-1"
    assert (event["event_id"], event["revision"], event["state"], event["team_id"], event["manager_id"]) == (
        "dispute:DSP-1:1", 1, "open", "t1", "m-1")
    assert schema_errors("dispute", event) == []
    assert tables.disputes["DSP-1"]["revision"] == 1
    # Send, drain, then record.
    assert journal.steps == ["send appeals", "drain", "write disputes:DSP-1"]
    assert sample(metrics, "scorecard_records_received_total", topic="sales.disputes") == 1
    assert sample(metrics, "scorecard_records_accepted_total", topic="sales.disputes") == 1


def test_a_batch_publishes_and_writes_each_changed_dispute_once_with_its_latest_state() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, _ = stage_over(tables, journal)
    run(stage.on_batch([rec(opened("DSP-1")), rec(opened("DSP-2", "r2")),
                        rec(dispute_resolved("DSP-1", "rejected", event_id="DSP-1:resolve"))]))
    assert [(k, e["revision"], e["state"]) for k, e in journal.sent["appeals"]] == [
        ("DSP-1", 2, "resolved"), ("DSP-2", 1, "open")]
    assert journal.steps == ["send appeals", "send appeals", "drain", "write disputes:DSP-1", "write disputes:DSP-2"]
    assert [s["event_id"] for s in tables.disputes["DSP-1"]["history"]] == ["DSP-1:open", "DSP-1:resolve"]
    assert tables.disputes["DSP-2"]["manager_id"] is None
    assert journal.requests == []  # a rejection never pays


def test_a_paying_decision_requests_its_adjustment_before_the_dispute_is_recorded() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, _ = stage_over(tables, journal)
    run(stage.on_batch([rec(opened("DSP-1")), rec(opened("DSP-2", "r2"))]))
    journal.steps.clear()
    run(stage.on_batch([rec(dispute_resolved("DSP-1", "upheld", "3000.00")),
                        rec(dispute_resolved("DSP-2", "partially_upheld", "-250.50"))]))
    assert journal.requests == [
        AdjustmentRequest("adj:appeal:DSP-1", "DSP-1", "r1", "2026-11", Decimal("3000.00")),
        AdjustmentRequest("adj:appeal:DSP-2", "DSP-2", "r2", "2026-11", Decimal("-250.50")),
    ]
    assert journal.steps == ["send appeals", "send appeals", "send adjustments", "send adjustments", "drain",
                             "write disputes:DSP-1", "write disputes:DSP-2"]
    assert tables.disputes["DSP-1"]["adjustment_ids"] == ["adj:appeal:DSP-1"]
    assert journal.sent["appeals"][2][1]["adjustment_amount"] == "3000.00"


# -- rejected, duplicate, poison -----------------------------------------------------------

@pytest.mark.parametrize("record,reason,path", [
    (dispute_resolved("DSP-9"), "invalid_transition", "$.dispute_id"),  # nothing to resolve
    (opened("DSP-1", event_id="again"), "invalid_transition", "$.dispute_id"),  # an id is opened once
    (dispute_withdrawn("DSP-5"), "invalid_transition", "$.dispute_id"),  # DSP-5 was withdrawn already
    (opened("DSP-7", "r9"), "unknown_reference", "$.rep_id"),
    ({**opened("DSP-8"), "claim": " "}, "schema_violation", "$.claim"),
    ({**dispute_resolved("DSP-1", "upheld"), "adjustment_amount": 12.5}, "invalid_money", "$.adjustment_amount"),
    ({**opened("DSP-8"), "type": "deal"}, "unknown_type", "$.type"),
    (b"{not json", "invalid_json", "$"),
])
def test_rejections_are_dead_lettered_with_reason_detail_and_position(
        record: dict[str, Any] | bytes, reason: str, path: str) -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    run(stage.on_batch([rec(opened("DSP-1")), rec(opened("DSP-5")), rec(dispute_withdrawn("DSP-5"))]))
    before, published = dict(tables.disputes), len(journal.sent["appeals"])
    journal.steps.clear()
    bad = rec(record, key=b"k-1")
    run(stage.on_batch([bad]))
    [(key, letter)] = journal.sent["deadletter"]
    assert key == "k-1"
    assert (letter["reason"], letter["topic"], letter["partition"], letter["offset"], letter["key"]) == (
        reason, TOPIC, 2, bad.offset, "k-1")
    assert letter["detail"].startswith(path) and letter["raw"] == bad.value.decode()  # type: ignore[union-attr]
    assert letter["event_id"] == f"dl:{TOPIC}:2:{bad.offset}"
    assert schema_errors("deadletter", letter) == []
    assert sample(metrics, "scorecard_records_rejected_total", topic="sales.disputes", reason=reason) == 1
    assert len(journal.sent["appeals"]) == published and tables.disputes == before
    assert journal.steps == ["send deadletter"]


def test_a_redelivered_event_is_a_counted_duplicate_and_publishes_nothing() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    opening = opened()
    run(stage.on_batch([rec(opening), rec(opening)]))  # within a batch
    run(stage.on_batch([rec(opening)]))  # and in a later one
    assert [e["revision"] for _, e in journal.sent["appeals"]] == [1]
    assert journal.sent["deadletter"] == []
    assert sample(metrics, "scorecard_duplicates_skipped_total", topic="sales.disputes") == 2
    assert journal.steps.count("write disputes:DSP-1") == 1


def test_a_record_that_makes_the_stage_fail_is_a_processing_error_and_the_batch_goes_on() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    run(stage.on_batch([rec(opened("DSP-1", "boom")), rec(opened("DSP-2"))]))
    [(_, letter)] = journal.sent["deadletter"]
    assert letter["reason"] == "processing_error" and letter["detail"] == "RuntimeError: roster unavailable"
    assert sample(metrics, "scorecard_processing_errors_total", stage="disputes") == 1
    assert list(tables.disputes) == ["DSP-2"]


# -- overdue alerts ------------------------------------------------------------------------

def alerts(journal: Journal) -> list[tuple[str | None, str, str, str | None]]:
    return [(k, e["alert_id"], e["state"], e["manager_id"]) for k, e in journal.sent["alerts"]]


def test_an_overdue_dispute_alerts_its_manager_once() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    run(stage.on_batch([rec(opened())]))
    run(stage.on_tick(None))  # no clock yet
    run(stage.on_tick(DEADLINE))  # 5 business days, not more
    assert journal.sent["alerts"] == []
    journal.steps.clear()
    run(stage.on_tick(AFTER_DEADLINE))
    assert alerts(journal) == [("dispute_overdue:rep:r1:2026-11", "dispute_overdue:rep:r1:2026-11:DSP-1", "firing",
                                "m-1")]
    assert journal.steps == ["send alerts", "drain", "write alert_state:DSP-1"]
    event = journal.sent["alerts"][0][1]
    assert event["event_id"] == "dispute_overdue:rep:r1:2026-11:DSP-1:firing"
    assert (event["scope"], event["id"], event["period"], event["dispute_id"], event["threshold"]) == (
        "rep", "r1", "2026-11", "DSP-1", 5)
    assert "2026-11-27 10:00" in event["message"] and "DSP-1" in event["message_zh"]
    assert schema_errors("alert", event) == []
    run(stage.on_tick(parse_timestamp("2026-12-15T00:00:00Z")))
    assert len(journal.sent["alerts"]) == 1
    assert tables.alert_state == {"DSP-1": "firing"}
    assert sample(metrics, "scorecard_alerts_total", rule="dispute_overdue", state="firing") == 1


def test_two_disputes_of_one_rep_and_month_are_two_alerts() -> None:
    journal = Journal()
    stage, _ = stage_over(new_tables(journal), journal)
    run(stage.on_batch([rec(opened("DSP-1")), rec(opened("DSP-2", occurred_at="2026-11-20T11:00:00+08:00"))]))
    run(stage.on_tick(parse_timestamp("2026-11-27T10:30:00+08:00")))
    run(stage.on_tick(parse_timestamp("2026-11-27T11:30:00+08:00")))
    assert [a[1] for a in alerts(journal)] == ["dispute_overdue:rep:r1:2026-11:DSP-1",
                                               "dispute_overdue:rep:r1:2026-11:DSP-2"]
    assert {a[0] for a in alerts(journal)} == {"dispute_overdue:rep:r1:2026-11"}


@pytest.mark.parametrize("ending,word", [(dispute_resolved("DSP-1", "upheld", "10.00"), "resolved"),
                                         (dispute_withdrawn("DSP-1"), "withdrawn")])
def test_resolving_or_withdrawing_clears_the_alert(ending: dict[str, Any], word: str) -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    run(stage.on_batch([rec(opened())]))
    run(stage.on_tick(AFTER_DEADLINE))
    journal.steps.clear()
    run(stage.on_batch([rec({**ending, "occurred_at": "2026-11-30T09:00:00+08:00"})]))
    assert alerts(journal)[1:] == [("dispute_overdue:rep:r1:2026-11", "dispute_overdue:rep:r1:2026-11:DSP-1",
                                    "resolved", "m-1")]
    resolved = journal.sent["alerts"][1][1]
    assert resolved["event_id"] == "dispute_overdue:rep:r1:2026-11:DSP-1:resolved" and word in resolved["message"]
    assert schema_errors("alert", resolved) == []
    assert journal.steps[-3:] == ["drain", "write disputes:DSP-1", "write alert_state:DSP-1"]
    assert tables.alert_state == {"DSP-1": "resolved"}
    run(stage.on_tick(parse_timestamp("2026-12-31T00:00:00Z")))
    assert len(journal.sent["alerts"]) == 2
    assert sample(metrics, "scorecard_alerts_total", rule="dispute_overdue", state="resolved") == 1


def test_a_dispute_decided_in_time_never_alerts() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, _ = stage_over(tables, journal)
    run(stage.on_batch([rec(opened()), rec(dispute_resolved("DSP-1", "rejected"))]))
    run(stage.on_tick(AFTER_DEADLINE))
    assert journal.sent["alerts"] == [] and tables.alert_state == {}


# -- linked adjustments --------------------------------------------------------------------

def test_adjustments_of_corrections_join_their_dispute_once() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, _ = stage_over(tables, journal)
    run(stage.on_batch([rec(opened())]))
    links = [AdjustmentLink("DSP-1", "adj:r1:2026-11:1"), AdjustmentLink("DSP-1", "adj:r2:2026-11:1"),
             AdjustmentLink("DSP-404", "adj:r1:2026-11:2")]  # an unknown dispute: the correction stands, unlinked
    run(stage.on_adjustments(links))
    run(stage.on_adjustments(links[:1]))  # seen before
    assert [(e["revision"], e["adjustment_ids"]) for _, e in journal.sent["appeals"]] == [
        (1, []), (3, ["adj:r1:2026-11:1", "adj:r2:2026-11:1"])]
    assert tables.disputes["DSP-1"]["revision"] == 3
    assert journal.sent["deadletter"] == []


# -- restarts and failures -----------------------------------------------------------------

def test_a_restart_from_the_tables_loses_nothing_and_publishes_nothing_twice() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, _ = stage_over(tables, journal)
    run(stage.on_batch([rec(opened("DSP-1")), rec(opened("DSP-2")), rec(opened("DSP-3", "r2"))]))
    run(stage.on_tick(AFTER_DEADLINE))  # all three fire
    run(stage.on_batch([rec(dispute_withdrawn("DSP-3", withdrawn_by="r2"))]))
    sent = {name: list(events) for name, events in journal.sent.items()}

    later = Journal()
    restarted, _ = stage_over(tables, later)  # a new worker over the recovered tables
    run(restarted.on_tick(parse_timestamp("2026-12-01T00:00:00Z")))
    run(restarted.on_batch([rec(opened("DSP-1")), rec(dispute_withdrawn("DSP-3", withdrawn_by="r2",
                                                                          event_id="again"))]))
    assert later.sent["appeals"] == [] and later.sent["alerts"] == [] and later.requests == []
    # The first withdrawal of DSP-3 was applied before the restart: the second is refused.
    assert [e["reason"] for _, e in later.sent["deadletter"]] == ["invalid_transition"]
    # Nothing was lost: DSP-1 continues its revisions, pays once, and clears its alert.
    run(restarted.on_batch([rec(dispute_resolved("DSP-1", "upheld", "500.00"))]))
    assert [(k, e["revision"], len(e["history"])) for k, e in later.sent["appeals"]] == [("DSP-1", 2, 2)]
    assert [r.adjustment_id for r in later.requests] == ["adj:appeal:DSP-1"]
    assert alerts(later) == [("dispute_overdue:rep:r1:2026-11", "dispute_overdue:rep:r1:2026-11:DSP-1", "resolved",
                              "m-1")]
    assert tables.alert_state == {"DSP-1": "resolved", "DSP-2": "firing", "DSP-3": "resolved"}
    assert sent["alerts"] == journal.sent["alerts"]  # the old worker sent nothing more


def test_a_failed_send_records_nothing_and_the_redelivery_sends_the_same_ids() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, metrics = stage_over(tables, journal)
    run(stage.on_batch([rec(opened())]))
    run(stage.on_tick(AFTER_DEADLINE))
    resolution = rec(dispute_resolved("DSP-1", "upheld", "75.00"))
    journal.fail_alerts = 1  # the alert's resolution cannot be sent
    run(stage.on_batch([resolution]))
    assert sample(metrics, "scorecard_processing_errors_total", stage="disputes") == 1
    assert tables.disputes["DSP-1"]["state"] == "open" and tables.alert_state == {"DSP-1": "firing"}
    first_try = journal.sent["appeals"][-1][1]
    run(stage.on_batch([resolution]))  # redelivered: applied again from the tables
    again = journal.sent["appeals"][-1][1]
    assert (again["event_id"], again["revision"]) == (first_try["event_id"], 2) and again == first_try
    assert [r.adjustment_id for r in journal.requests] == ["adj:appeal:DSP-1"] * 2  # the ledger pays it once
    assert tables.disputes["DSP-1"]["state"] == "resolved" and tables.alert_state == {"DSP-1": "resolved"}
    assert [a[2] for a in alerts(journal)] == ["firing", "resolved"]


def test_an_alert_left_firing_for_an_ended_dispute_is_resolved_at_the_next_tick() -> None:
    journal = Journal()
    tables = new_tables(journal)
    stage, _ = stage_over(tables, journal)
    run(stage.on_batch([rec(opened())]))
    run(stage.on_tick(AFTER_DEADLINE))
    run(stage.on_batch([rec(dispute_withdrawn("DSP-1"))]))
    tables.alert_state["DSP-1"] = "firing"  # as if a crash lost the resolution's record
    restarted, _ = stage_over(tables, journal)
    run(restarted.on_tick(AFTER_DEADLINE))
    assert [a[2] for a in alerts(journal)] == ["firing", "resolved", "resolved"]  # the same id again
    assert journal.sent["alerts"][1][1]["event_id"] == journal.sent["alerts"][2][1]["event_id"]
    assert tables.alert_state == {"DSP-1": "resolved"}


# -- wiring: ticks, links, the web's view -------------------------------------------------

def test_a_tick_is_due_to_load_the_book_then_only_when_the_clock_moved_with_work_to_do() -> None:
    journal = Journal()
    stage, _ = stage_over(new_tables(journal), journal)
    assert stage.tick_due(None)  # the book is not loaded yet
    run(stage.on_tick(None))
    assert not stage.tick_due(AFTER_DEADLINE)  # loaded, nothing open
    run(stage.on_batch([rec(opened())]))
    assert stage.tick_due(DEADLINE)
    run(stage.on_tick(DEADLINE))
    assert not stage.tick_due(DEADLINE)  # the clock has not moved since
    assert stage.tick_due(AFTER_DEADLINE)
    run(stage.on_tick(AFTER_DEADLINE))
    assert [event["state"] for _, event in journal.sent["alerts"]] == ["firing"]
    stage.on_revoked()
    assert stage.tick_due(AFTER_DEADLINE)  # a new assignment reloads the book


def test_links_and_ticks_travel_as_messages_and_anything_else_is_refused() -> None:
    link = AdjustmentLink("DSP-1", "adj:r1:2026-11:1")
    assert decode_link(encode_link(link)) == link
    assert decode_link(b'{"type":"tick"}') is None
    for bad in (b"", b"[]", b'{"type":"link"}', b'{"type":"deal"}', None):
        with pytest.raises(ValueError, match="not a dispute link or tick"):
            decode_link(bad)


def test_the_web_view_serves_the_dispute_event_of_each_dispute_the_stage_holds() -> None:
    journal = Journal()
    stage, _ = stage_over(new_tables(journal), journal)
    served = ServedDisputes(stage)
    assert dict(served) == {}  # not loaded yet
    run(stage.on_batch([rec(opened("DSP-1")), rec(opened("DSP-2", "r2"))]))
    assert sorted(served) == ["DSP-1", "DSP-2"] and len(served) == 2
    [(_, published), _] = journal.sent["appeals"]
    assert {**served["DSP-1"], "emitted_at": None} == {**published, "emitted_at": None}
    assert "DSP-3" not in served
