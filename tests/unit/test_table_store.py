"""The RocksDB table store without a full collection per table at every rebalance
(streams/table_store.py; docs/faust-workarounds.md, defect 5): real rocksdict databases
in a temporary directory, the collector's calls counted."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import faust
import pytest
import rocksdict
from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP

from sales_scorecard.streams import table_store
from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.settings import Settings


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``gc.collect()`` call from now on (made, and counted)."""
    calls: list[int] = []
    collect = gc.collect

    def counted(*args: Any) -> int:
        calls.append(1)
        return collect(*args)

    monkeypatch.setattr(gc, "collect", counted)
    return calls


def table_of(tmp_path: Path, store_url: str) -> Any:
    app = faust.App("t", store=store_url, datadir=str(tmp_path), broker="kafka://127.0.0.1:1")
    return app.Table("x")


def changelog_partition(table: Any, partition: int) -> TP:
    return TP(table.changelog_topic.get_topic_name(), partition)


def reopens(path: Path) -> bool:
    """Whether RocksDB opens the database at ``path`` (no handle of this process holds it)."""
    try:
        rocksdict.Rdict(str(path)).close()
    except Exception as error:  # noqa: BLE001 - rocksdict raises a bare Exception
        assert table_store.lock_held_here(error), error
        return False
    return True


@pytest.fixture
def ours(tmp_path: Path) -> Any:
    """A table kept in the worker's store."""
    return table_of(tmp_path, table_store.register())


def test_fausts_store_collects_at_every_rebalance_even_with_nothing_revoked(tmp_path: Path,
                                                                             collections: list[int]) -> None:
    # The premise: the day Faust stops collecting here, this fails and the workaround can go.
    table = table_of(tmp_path, "rocksdb://")
    assert type(table.data) is faust_rocksdb.Store
    table.data.revoke_partitions(table, set())
    assert len(collections) == 1


def test_a_rebalance_that_revokes_nothing_collects_nothing(ours: Any, collections: list[int]) -> None:
    store = ours.data
    assert type(store) is table_store.Store
    store._db_for_partition(0)
    store.revoke_partitions(ours, set())
    assert collections == []
    assert 0 in store._dbs


def test_a_revoked_partition_is_closed_at_once_without_a_collection(ours: Any, collections: list[int]) -> None:
    store = ours.data
    store._db_for_partition(0)
    store._db_for_partition(1)
    path = store.partition_path(0)
    assert not reopens(path)  # held: RocksDB's lock
    store.revoke_partitions(ours, {changelog_partition(ours, 0)})
    assert reopens(path)
    assert collections == []
    assert set(store._dbs) == {1}  # the partition kept stays open


def test_a_partition_opened_again_while_a_cycle_holds_its_database_collects_once(ours: Any,
                                                                              collections: list[int]) -> None:
    store = ours.data
    cycle: list[Any] = [store._db_for_partition(0)]
    cycle.append(cycle)  # a reference cycle only the collector frees
    path = store.partition_path(0)
    store.revoke_partitions(ours, {changelog_partition(ours, 0)})
    del cycle
    assert collections == []
    assert not reopens(path)  # still held by the cycle
    db = store._db_for_partition(0)  # opened again: the store collects once, then opens
    assert collections == [1]
    db[b"k"] = b"v"
    assert db[b"k"] == b"v"


def test_stopping_drops_every_database_without_a_collection(ours: Any, collections: list[int]) -> None:
    import asyncio

    store = ours.data
    store._db_for_partition(0)
    path = store.partition_path(0)
    asyncio.run(store.stop())
    assert reopens(path)
    assert collections == []


def test_another_open_error_is_raised_not_collected(ours: Any, collections: list[int], tmp_path: Path) -> None:
    store = ours.data
    blocker = Path(store.partition_path(0))
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the database's directory goes")
    with pytest.raises(Exception) as raised:
        store._db_for_partition(0)
    assert not table_store.lock_held_here(raised.value)
    assert collections == []


def test_the_worker_app_keeps_its_tables_in_this_store(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=str(tmp_path), store="rocksdb")).app
    assert {type(table.data) for table in app.tables.values()} == {table_store.Store}
    memory = create_app(Settings(data_dir=str(tmp_path / "m"), store="memory")).app
    assert table_store.Store not in {type(table.data) for table in memory.tables.values()}
