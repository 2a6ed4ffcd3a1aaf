"""The fact log: one row per message, never overwritten, replayed to the latest facts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sales_scorecard.streams.aggregation import AggregationStage, StageOutputs, StageTables
from sales_scorecard.streams.fact_batches import Batch
from sales_scorecard.streams.fact_log import FactLog, stored_facts
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.settings import Settings
from tests import factories as f


def log_with(table: dict[str, Any], *messages: dict[str, Any]) -> FactLog:
    """A fact log over ``table``, loaded as a stage starts it, that has written each of
    ``messages`` (key -> fact) as the facts of one message."""
    log = FactLog(table)
    log.load()
    for message in messages:
        for key, fact in message.items():
            log.put(key, fact)
        log.write()
    return log


def test_a_message_s_facts_are_one_row_and_later_rows_win() -> None:
    table: dict[str, Any] = {}
    log = log_with(table, {"deal:d1": {"version": 1}, "act:a1": {"n": 1}})
    assert len(table) == 1
    log.put("deal:d1", {"version": 2})
    log.write()
    assert len(table) == 2
    assert stored_facts(table) == {"deal:d1": {"version": 2}, "act:a1": {"n": 1}}


class CountingTable(dict[str, Any]):
    """A table that counts how often each key is read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[str, int] = {}

    def __getitem__(self, key: str) -> Any:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().__getitem__(key)


def test_a_replay_gives_each_key_s_latest_fact_in_rank_order_streaming_the_bulk_rank() -> None:
    table = CountingTable()
    table["roster:legacy"] = {"rank": 0, "id": "legacy"}  # the older fact-keyed layout comes first
    log = FactLog(table)
    log.load()
    rows = [
        [("deal:d1", {"rank": 2, "v": 1}), ("close:2026-10", {"rank": 3, "v": 1})],
        [("roster:r1", {"rank": 0, "v": 1}), ("deal:d2", {"rank": 2, "v": 1}), ("deal:d2", {"rank": 2, "v": 2})],
        [("deal:d1", {"rank": 2, "v": 2}), ("target:t", {"rank": 1, "v": 1})],
        [("target:t", {"rank": 1, "v": 2})],
    ]
    for row in rows:
        for key, fact in row:
            log.put(key, fact)
        log.write()
    table.reads.clear()
    replayed = list(FactLog(table).replay(lambda fact: fact["rank"], streamed=2))
    assert [fact["rank"] for _, fact in replayed] == [0, 0, 1, 2, 2, 3]
    assert dict(replayed) == {"roster:legacy": {"rank": 0, "id": "legacy"}, "roster:r1": {"rank": 0, "v": 1},
                              "target:t": {"rank": 1, "v": 2}, "deal:d1": {"rank": 2, "v": 2},
                              "deal:d2": {"rank": 2, "v": 2}, "close:2026-10": {"rank": 3, "v": 1}}
    # the bulk rank is read again rather than held: every row is read twice
    assert sorted(table.reads.values()) == [2] * (1 + len(rows))


def test_a_replayed_log_goes_on_after_its_last_row() -> None:
    table: dict[str, Any] = {}
    log_with(table, {"deal:d1": {"version": 1}})
    again = FactLog(table)
    list(again.replay(lambda fact: 0, streamed=0))
    again.put("deal:d1", {"version": 2})
    again.write()
    assert len(table) == 2 and stored_facts(table) == {"deal:d1": {"version": 2}}


def test_a_message_that_stored_nothing_writes_no_row() -> None:
    table: dict[str, Any] = {}
    log_with(table, {})
    assert table == {}


def test_rows_replay_in_write_order_past_ten_rows() -> None:
    table: dict[str, Any] = {}
    log_with(table, *({"deal:d1": {"version": version}} for version in range(1, 13)))
    assert stored_facts(table) == {"deal:d1": {"version": 12}}


def test_a_reloaded_log_never_overwrites_a_row() -> None:
    """A message processed again after a restart adds a row; the first one stays."""
    table: dict[str, Any] = {}
    log_with(table, {"deal:d1": {"version": 1}, "act:a1": {"n": 1}})
    again = FactLog(table)
    assert again.load() == {"deal:d1": {"version": 1}, "act:a1": {"n": 1}}
    again.put("deal:d1", {"version": 1, "annotated": True})  # only what changed is stored again
    again.write()
    assert len(table) == 2
    assert stored_facts(table) == {"deal:d1": {"version": 1, "annotated": True}, "act:a1": {"n": 1}}


def test_two_writers_loaded_from_the_same_rows_keep_both_rows() -> None:
    """A worker that lost the partition and still writes cannot overwrite the new owner's row."""
    table: dict[str, Any] = {}
    old_owner, new_owner = FactLog(table), FactLog(table)
    old_owner.load()
    new_owner.load()
    old_owner.put("act:a1", {"n": 1})
    new_owner.put("act:a2", {"n": 2})
    old_owner.write()
    new_owner.write()
    assert len(table) == 2
    assert set(stored_facts(table)) == {"act:a1", "act:a2"}


def test_a_fact_keyed_table_of_an_earlier_version_is_read_before_the_rows() -> None:
    table: dict[str, Any] = {"deal:d1": {"version": 1}, "act:a1": {"n": 1}}
    log_with(table, {"deal:d1": {"version": 2}})
    assert stored_facts(table) == {"deal:d1": {"version": 2}, "act:a1": {"n": 1}}


def test_a_readable_log_answers_with_facts_stored_in_the_current_message() -> None:
    log = FactLog({}, readable=True)
    log.load()
    log.put("deal:d1", {"version": 1})
    assert log.get("deal:d1") == {"version": 1}  # before its row is written
    log.write()
    assert log.get("deal:d1") == {"version": 1} and log.get("deal:d2") is None


def test_a_write_only_log_refuses_reads() -> None:
    log = FactLog({})
    with pytest.raises(TypeError):
        log.get("deal:d1")


# ---------------------------------------------------------------- through the stage
class _Outputs:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes | None]] = []

    async def send(self, key: bytes, value: bytes | None) -> None:
        self.sent.append((key, value))

    async def drain(self) -> None:
        return None

    async def link(self, link: object) -> None:
        return None

    def stage_outputs(self) -> StageOutputs:
        return StageOutputs(self.send, self.send, self.send, self.send, self.drain, self.link)


def _stage(tables: StageTables) -> AggregationStage:
    settings = Settings(clock="event", coalesce_ms=0, coalesce_long_ms=0, leaderboard_ms=0)
    return AggregationStage(settings, tables, _Outputs().stage_outputs(), Metrics())


def _tables() -> StageTables:
    return StageTables(facts={}, emitted={}, payroll_state={}, boards_emitted={}, alert_state={})


MESSAGES = [
    [f.roster("r1", "t1", event_id="roster-r1"), f.deal("d1", "r1", "c1", "100.00", event_id="d1-v1")],
    [f.activity("r1", "call"), f.deal("d2", "r1", "c2", "50.00", event_id="d2-v1")],
]


def _run_all(stage: AggregationStage, messages: list[list[dict[str, Any]]], first_offset: int = 0) -> None:
    for offset, facts in enumerate(messages, start=first_offset):
        asyncio.run(stage.on_batch(Batch(facts), offset=offset))


@pytest.mark.parametrize("row_persisted", [True, False])
def test_a_message_processed_again_after_a_crash_leaves_every_fact_stored(row_persisted: bool) -> None:
    """Kill after the last message's row was (or was not) written, before its offset was
    committed: the new owner rebuilds, processes it again, and every fact is stored once."""
    tables = _tables()
    _run_all(_stage(tables), MESSAGES)
    expected = stored_facts(tables.facts)
    if not row_persisted:
        del tables.facts[max(tables.facts)]
    _run_all(_stage(tables), MESSAGES[1:], first_offset=1)
    assert stored_facts(tables.facts) == expected
    assert len(expected) == 4
