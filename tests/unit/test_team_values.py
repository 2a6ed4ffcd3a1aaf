"""The values protocol between the team partitions and the company (``core/team_values.py``):
the wire form of a value, and the clock the company's cards may claim. What the values add
up to is proven against the whole engine in test_company_values.py and, through the
stages, in test_partitioned_stages.py."""

from __future__ import annotations

from typing import Any

import orjson

from sales_scorecard.core.aggregates import Bucket
from sales_scorecard.core.dirty_keys import DirtyKeys
from sales_scorecard.core.engine import ORG_BESIDE_TEAM_VALUES, ScorecardEngine, team_partition
from sales_scorecard.core.periods import parse_timestamp
from sales_scorecard.core.team_values import CompanyValues, Marker, PartitionValues, value_rows
from sales_scorecard.streams.aggregation import apply_fact
from tests.factories import activity, close_period, complaint, deal, roster

PARTITIONS = 2


def _team_engine() -> ScorecardEngine:
    return ScorecardEngine("Asia/Shanghai", role=team_partition(lambda team: True, sends_values=True))


def _values(table: dict[str, Any]) -> CompanyValues:
    return CompanyValues(table, PARTITIONS, lambda team: 0 if team == "t0" else 1)


def test_a_value_reads_back_as_the_bucket_it_was_with_every_field() -> None:
    engine = _team_engine()
    for event in [roster("r1", "t0", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:00:00+08:00", customer_id="c1", effective=True),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c2"),
                  activity("r1", "campaign", occurred_at="2026-11-20T10:00:00+08:00", campaign_id="cmp1"),
                  activity("r1", "training", occurred_at="2026-11-20T11:00:00+08:00", duration_minutes=45),
                  activity("r1", "survey", occurred_at="2026-11-20T12:00:00+08:00", score=4),
                  complaint("k1", "r1", "c1", opened_at="2026-11-20T13:00:00+08:00", severity="high",
                            status="resolved", resolved_at="2026-11-20T15:00:00+08:00")]:
        apply_fact(engine, event)
    value = engine.team_value("t0", "2026-11-20")
    assert value is not None
    sent = orjson.loads(orjson.dumps(value.value_json()))
    assert sent["n"] == 7 and sent["activities"] == {"call": 2, "campaign": 1, "training": 1, "survey": 1}
    assert (sent["complaints"], sent["resolved"], sent["training_minutes"], sent["survey_sum"]) == (1, 1, 45, 4)
    assert sent["by_severity"] == {"high": 1} and sent["campaigns"] == {"cmp1": 1}
    back = Bucket.from_value_json(sent)
    assert back.value_json() == sent
    # the company's month from the value read back is the month from the engine's own
    org, direct = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES), \
        ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    for target, bucket in ((org, back), (direct, value)):
        target.advance_clock(parse_timestamp("2026-11-30T00:00:00Z"))
        target.apply_team_value("2026-11-20", None, bucket, {"c1": 2})
    assert org.render("company", "*", "2026-11") == direct.render("company", "*", "2026-11")


def _rows(partition: int, epoch: tuple[int, int], clock: str, complete: bool = False) -> list[dict[str, Any]]:
    row: dict[str, Any] = {"partition": partition, "epoch": list(epoch), "clock": clock}
    return [{**row, "complete": True} if complete else row]


def test_the_companys_clock_is_the_lowest_every_partition_completed() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    values = _values({})
    assert values.clock() is None  # no partition sent all of its values yet
    values.take(_rows(0, (1, 5), "2026-11-02T00:00:00.000Z", complete=True), engine)
    assert values.clock() is None  # partition 1 has not
    values.take(_rows(1, (1, 7), "2026-11-01T00:00:00.000Z", complete=True), engine)
    assert values.clock() == parse_timestamp("2026-11-01T00:00:00Z")
    values.take(_rows(1, (1, 7), "2026-11-03T00:00:00.000Z"), engine)
    assert values.clock() == parse_timestamp("2026-11-02T00:00:00Z")
    # partition 0 is rebuilt: until its new epoch is complete, its clock stays the old one's
    values.take(_rows(0, (2, 1), "2026-11-05T00:00:00.000Z"), engine)
    assert values.clock() == parse_timestamp("2026-11-02T00:00:00Z")
    # the old owner's late rows move nothing
    values.take(_rows(0, (1, 5), "2026-11-09T00:00:00.000Z", complete=True), engine)
    assert values.clock() == parse_timestamp("2026-11-02T00:00:00Z")
    values.take(_rows(0, (2, 1), "2026-11-04T00:00:00.000Z", complete=True), engine)
    assert values.clock() == parse_timestamp("2026-11-03T00:00:00Z")


def test_the_org_engine_renders_no_later_than_the_values_clock() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    apply_fact(engine, activity("r0", "call", occurred_at="2026-11-20T09:00:00+08:00"))
    assert engine.clock() == engine.as_of
    engine.values_clock = parse_timestamp("2026-11-10T00:00:00Z")
    assert engine.clock() == engine.values_clock
    rendered = engine.render("company", "*", "2026-11")
    assert rendered is not None and rendered["as_of"] == "2026-11-10T00:00:00.000Z"
    engine.values_clock = parse_timestamp("2026-12-01T00:00:00Z")  # never beyond its own
    assert engine.clock() == engine.as_of


def test_a_partition_sends_every_value_it_holds_once_per_epoch_and_only_what_moved_after() -> None:
    engine = _team_engine()
    for event in [roster("r1", "t0", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:00:00+08:00", customer_id="c1", effective=True),
                  activity("r1", "call", occurred_at="2026-11-21T09:00:00+08:00", customer_id="c2", effective=True)]:
        apply_fact(engine, event)
    first = value_rows(engine, 0, (3, 9), every=True, marker=None)
    assert [(r.get("day"), r.get("whole"), r.get("complete")) for r in first] == [
        ("2026-11-20", True, None), ("2026-11-21", True, None), (None, None, True)]
    assert all(r["epoch"] == [3, 9] and r["partition"] == 0 for r in first)
    # a complete row always carries the marker: the partition's clock and closed months
    assert (first[-1]["clock"], first[-1]["closed"]) == ("2026-11-21T01:00:00.000Z", [])
    assert value_rows(engine, 0, (3, 9), every=False, marker=None) == []
    apply_fact(engine, activity("r1", "call", occurred_at="2026-11-21T10:00:00+08:00", customer_id="c2",
                                effective=True))
    apply_fact(engine, {**close_period("2026-10"), "occurred_at": "2026-11-21T10:30:00+08:00"})
    marker = Marker.of(engine)
    assert marker == Marker("2026-11-21T02:30:00.000Z", ("2026-10",))
    moved = value_rows(engine, 0, (3, 9), every=False, marker=marker)
    assert [(r.get("day"), r.get("contacts")) for r in moved] == [("2026-11-21", {"c2": 2}), (None, None)]
    assert (moved[-1]["clock"], moved[-1]["closed"]) == ("2026-11-21T02:30:00.000Z", ["2026-10"])
    assert "complete" not in moved[-1]


def _marker(partition: int, epoch: tuple[int, int], closed: list[str], complete: bool = False) -> list[dict[str, Any]]:
    row: dict[str, Any] = {"partition": partition, "epoch": list(epoch), "clock": "2026-11-21T00:00:00.000Z",
                           "closed": closed}
    return [{**row, "complete": True} if complete else row]


def test_a_month_is_closed_for_the_company_once_every_partitions_values_hold_its_close() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    values = _values({})
    values.take(_marker(0, (1, 1), ["2026-10"], complete=True), engine)
    assert values.closed() == frozenset()  # partition 1 has not sent all of its values yet: nothing is final
    values.take(_marker(1, (1, 2), [], complete=True), engine)
    assert values.closed() == frozenset()  # partition 1's values do not hold October's close yet
    values.take(_marker(1, (1, 2), ["2026-10"]), engine)
    assert values.closed() == frozenset({"2026-10"})
    # partition 0 is rebuilt: its new epoch's rows before its complete row confirm nothing ...
    values.take(_marker(0, (2, 1), ["2026-10", "2026-11"]), engine)
    values.take(_marker(1, (1, 2), ["2026-10", "2026-11"]), engine)
    assert values.closed() == frozenset({"2026-10"})
    # ... an old owner's late rows neither; a close once confirmed stays (a close is never undone)
    values.take(_marker(0, (1, 1), ["2026-10", "2026-11"], complete=True), engine)
    assert values.closed() == frozenset({"2026-10"})
    values.take(_marker(0, (2, 1), ["2026-11"], complete=True), engine)
    assert values.closed() == frozenset({"2026-10", "2026-11"})
    assert PartitionValues.from_json({**values.table["partition:0"]}).closed == ("2026-10", "2026-11")


def test_a_state_or_a_sender_from_before_markers_named_closed_months_holds_back_nothing() -> None:
    # An upgrade: the org stage's table holds states without closed months, and a team
    # worker not upgraded yet sends markers without them. No card that was final turns
    # back, until each partition's complete values name its closed months.
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    table: dict[str, Any] = {f"partition:{p}": {"epoch": [1, p], "complete": True, "clock": "2026-11-21T00:00:00.000Z"}
                             for p in range(PARTITIONS)}
    values = _values(table)
    assert PartitionValues.from_json(table["partition:0"]).closed is None
    assert values.closed() is None
    values.take(_rows(0, (1, 0), "2026-11-22T00:00:00.000Z"), engine)  # an old sender's marker
    assert values.closed() is None
    values.take(_marker(0, (2, 1), ["2026-10"], complete=True), engine)
    values.take(_marker(1, (2, 2), [], complete=True), engine)
    assert values.closed() == frozenset()  # known now: partition 1's values hold no close yet


def test_a_period_is_final_on_the_org_engine_once_the_values_hold_its_close_and_is_rendered_again_then() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    for event in [roster("r1", "t0", effective_at="2026-10-01T00:00:00+08:00"),
                  deal("d1", "r1", "c1", "100.00", closed_at="2026-10-20T09:00:00+08:00"),
                  {**close_period("2026-10"), "occurred_at": "2026-11-02T09:00:00+08:00"}]:
        apply_fact(engine, event)
    engine.confirm_closed(frozenset())
    assert not engine.is_final("2026-10")
    rendered = engine.render("company", "*", "2026-10")
    assert rendered is not None and rendered["final"] is False
    engine.dirty = DirtyKeys()
    engine.confirm_closed(frozenset({"2026-10"}))
    assert engine.is_final("2026-10") and not engine.is_final("2026-Q4")
    assert {("company", "*", "2026-10"), ("company", "*", "2026-Q4"), ("company", "*", "2026")} <= set(engine.dirty)
    rendered = engine.render("company", "*", "2026-10")
    assert rendered is not None and rendered["final"] is True
    engine.dirty = DirtyKeys()
    engine.confirm_closed(frozenset({"2026-10"}))  # the same months: nothing to render again
    assert not engine.dirty


class Recording(dict[str, Any]):
    """A table that notes every key written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.written.append(key)
        super().__setitem__(key, value)


def _value_row(partition: int, epoch: tuple[int, int], team: str, calls: int, **extra: Any) -> dict[str, Any]:
    return {"partition": partition, "epoch": list(epoch), "team": team, "day": "2026-11-20",
            "value": {"n": calls, "activities": {"call": calls}} if calls else None, "contacts": {}, **extra}


def test_rows_that_come_again_are_written_again_so_a_changelog_behind_the_table_catches_up() -> None:
    # After a kill -9 the local table can hold what its changelog never got; the message
    # comes again and finds the table as it would leave it. Every row is written anyway,
    # and a complete row writes every day of its partition, the forgotten ones included.
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    table = Recording()
    values = _values(table)
    first = [_value_row(0, (1, 1), "t0", 2), *_rows(0, (1, 1), "2026-11-21T00:00:00.000Z", complete=True)]
    values.take(first, engine)
    again = [*_rows(0, (2, 1), "2026-11-22T00:00:00.000Z", complete=True)]  # forgets t0's day
    values.take(again, engine)
    assert table["value:2026-11-20:t0"]["value"] is None
    table.written.clear()
    values.take(again, engine)  # the same message once more: nothing changes, everything is written
    assert sorted(set(table.written)) == ["partition:0", "value:2026-11-20:t0"]
    assert engine.render("company", "*", "2026-11") is None or \
        engine.render("company", "*", "2026-11")["kpis"]["activities"]["call"] == 0  # type: ignore[index]


def test_after_the_consumer_group_started_over_the_new_generations_epochs_are_taken() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    values = _values({})
    values.take([_value_row(0, (40, 9), "t0", 2), *_rows(0, (40, 9), "2026-11-21T00:00:00.000Z", complete=True)],
                engine)
    assert not values.restart_epochs(41)  # a later generation: nothing started over
    values.take([_value_row(0, (1, 1), "t0", 3)], engine)  # a row of generation 1: an old owner's, or a reset?
    assert values.table["value:2026-11-20:t0"]["value"]["n"] == 2
    assert values.restart_epochs(1)  # the org stage's own generation is 1: the group started over
    values.take([_value_row(0, (1, 2), "t0", 3), *_rows(0, (1, 2), "2026-11-22T00:00:00.000Z", complete=True)],
                engine)
    assert values.table["value:2026-11-20:t0"]["value"]["n"] == 3
    assert values.clock() is None  # partition 1 never completed
    values.take(_rows(1, (1, 3), "2026-11-23T00:00:00.000Z", complete=True), engine)
    assert values.clock() == parse_timestamp("2026-11-22T00:00:00Z")


def test_a_partition_that_holds_no_fact_holds_back_no_clock() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    values = _values({})
    values.take(_rows(0, (1, 1), "2026-11-21T00:00:00.000Z", complete=True), engine)
    values.take([{"partition": 1, "epoch": [1, 2], "complete": True, "clock": None}], engine)
    assert values.clock() == parse_timestamp("2026-11-21T00:00:00Z")


def test_on_the_wall_clock_the_engine_renders_no_later_than_the_values_either() -> None:
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    engine.wall_clock = parse_timestamp("2026-11-30T00:00:00Z")
    engine.values_clock = parse_timestamp("2026-11-29T23:59:00Z")
    assert engine.clock() == engine.values_clock
    engine.values_clock = parse_timestamp("2026-12-01T00:00:00Z")
    assert engine.clock() == engine.wall_clock


def test_rows_of_a_deleted_groups_generations_read_again_are_ignored() -> None:
    # The group was deleted (generation 1 again) and its offsets with it: the org stage reads
    # sales.facts from the start, the old rows of generation 40 among them.
    engine = ScorecardEngine("Asia/Shanghai", role=ORG_BESIDE_TEAM_VALUES)
    values = CompanyValues({}, PARTITIONS, lambda team: 0 if team == "t0" else 1, generation=lambda: 1)
    values.take([_value_row(0, (1, 5), "t0", 3), *_rows(0, (1, 5), "2026-11-22T00:00:00.000Z", complete=True)],
                engine)
    values.take([_value_row(0, (40, 9), "t0", 2), *_rows(0, (40, 9), "2026-11-21T00:00:00.000Z", complete=True)],
                engine)
    assert values.table["value:2026-11-20:t0"]["value"]["n"] == 3
    assert values.table["partition:0"]["epoch"] == [1, 5]
