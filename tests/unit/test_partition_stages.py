"""What a rep and a team partition send the org stage besides their outputs
(streams/partition_stages.py ``PartitionStage``): one row per published revision of a
scorecard, none for a render that changed nothing, and every row again after a rebuild
(the org stage's copy may be behind the partition's records after a crash)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sales_scorecard.core.engine import scorecard_key
from sales_scorecard.schemas.fact_types import TEAM_FED
from sales_scorecard.streams.fact_batches import Batch, decode_batch
from sales_scorecard.streams.fact_routes import partition_of
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.partition_stages import PartitionStage
from sales_scorecard.streams.rep_stage import RepPartitionStage
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.team_stage import TeamPartitionStage
from tests import factories as f
from tests.unit.test_aggregation_stage import Outputs, new_tables
from tests.unit.test_partitioned_stages import flush_each_reading_clock, validated_facts

PARTITIONS = 3
REP, TEAM = "r1", "t1"


class ToOrg:
    """What a partition stage sent the org stage, decoded."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    async def send(self, key: bytes, value: bytes | None) -> None:
        assert value is not None
        self.batches.append(decode_batch(value))

    def rows(self, field_name: str) -> list[dict[str, Any]]:
        """Every row sent on ``field_name`` so far, then forgets them."""
        out = [row for batch in self.batches for row in getattr(batch, field_name)]
        self.batches = []
        return out


def _stage(kind: type[PartitionStage], to_org: ToOrg) -> tuple[PartitionStage, Outputs]:
    outputs = Outputs()
    settings = Settings(coalesce_ms=0, leaderboard_ms=0, store="memory", partitions=PARTITIONS,
                        clock_refresh_seconds=10**9)
    partition = partition_of(REP if kind is RepPartitionStage else TEAM, PARTITIONS)
    stage = kind(settings, partition, new_tables(), outputs.stage_outputs(), Metrics(), to_org.send,
                 monotonic=flush_each_reading_clock())
    return stage, outputs


def _facts(*deals: tuple[str, str]) -> list[dict[str, Any]]:
    """The roster entry of ``REP`` in ``TEAM`` and a won November deal per (id, amount)."""
    return validated_facts([f.roster(REP, TEAM, event_id="roster-r1"),
                       *(f.deal(d, REP, "c1", amount, event_id=f"{d}-1") for d, amount in deals)])


@pytest.mark.parametrize("kind,field_name,scope,id", [
    (RepPartitionStage, "board_rows", "rep", REP), (TeamPartitionStage, "team_rows", "team", TEAM)])
def test_a_partition_sends_one_row_per_revision_and_every_row_again_after_a_rebuild(
        kind: type[PartitionStage], field_name: str, scope: str, id: str) -> None:
    to_org = ToOrg()
    stage, outputs = _stage(kind, to_org)
    fed = [{"type": TEAM_FED, "partition": stage.partition}] if kind is TeamPartitionStage else []
    month = scorecard_key(scope, id, "2026-11")

    async def run() -> None:
        await stage.on_batch(Batch(fed + _facts(("d1", "1000.00"))))
        first = {r["period"]: r for r in to_org.rows(field_name) if r["id"] == id}
        assert first["2026-11"]["revision"] == stage.tables.emitted[month][0] == 1
        # the same deal again (a duplicate) changes nothing, and a render of the current
        # periods at the same clock neither: no scorecard, no row
        await stage.on_batch(Batch(_facts(("d1", "1000.00"))))
        assert stage.engine is not None
        stage.engine.touch_clock()
        await stage.on_batch(Batch())
        assert to_org.rows(field_name) == []
        # a second deal: a new revision of the month, and one row of it
        await stage.on_batch(Batch(_facts(("d2", "500.00"))))
        rows = [r for r in to_org.rows(field_name) if r["period"] == "2026-11"]
        assert [r["revision"] for r in rows] == [2]
        # revoked and assigned again: the rebuild's first flush sends every row again, at
        # the revision recorded
        stage.on_revoked()
        stage.on_assigned()
        await stage.on_batch(Batch())
        again = {r["period"]: r for r in to_org.rows(field_name) if r["id"] == id}
        assert again.keys() == first.keys() and again["2026-11"]["revision"] == 2

    asyncio.run(run())
    # the scorecards: revisions 1 and 2, and 2 again after the rebuild (its send may have been lost)
    assert [v["revision"] for k, v in outputs.sent["scorecards"] if k == month] == [1, 2, 2]
