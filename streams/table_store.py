"""Faust's RocksDB table store, without a full garbage collection per table at every rebalance.

The defect (docs/faust-workarounds.md, defect 5): faust-streaming's RocksDB store runs
``gc.collect()`` at the end of ``revoke_partitions``, which every table's store calls at
every rebalance, whether or not a partition was revoked, and again in ``stop``. A full
collection walks every object the process holds: with the aggregation's state of 2,000
reps × 13 months one pass took about 0.22 s, so a rebalance stalled the event loop for
about 3.3 s over the worker's 15 tables, and five times that at 10,000 reps. The pass is
there because rocksdict's ``Rdict`` has no close that Faust calls: a revoked partition's
database is closed when its last reference goes, and the collection frees one that a
reference cycle still holds, so that the partition can be opened again (RocksDB's lock).

The fix: revoking and stopping drop the references and collect nothing. Refcounting closes
a database nobody else holds at once. The only time a database still held matters is when
its partition is opened again in this process: RocksDB then refuses with its lock, and
only then does this store collect, once, and open again.
"""

from __future__ import annotations

import gc
from collections.abc import Set as AbstractSet
from typing import Any

from faust.stores import STORES
from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP, CollectionT

from .internals_guard import Internal

#: What this module overrides or reads of Faust's store (checked when the worker starts,
#: streams.internals_guard).
RELIES_ON = (
    Internal("faust-streaming", "faust.stores.rocksdb:Store",
             ("revoke_partitions", "stop", "_open_for_partition", "_dbs", "logger")),
    Internal("mode-streaming", "mode.utils.imports:FactoryMapping", ("aliases",)),
)

#: The table store's URL scheme (``create_app``'s ``store``).
SCHEME = "scorecard-rocksdb"

#: What RocksDB says when this process already holds the database's lock.
LOCK_HELD = "lock hold by current process"


def lock_held_here(error: BaseException) -> bool:
    """Whether opening a database failed because this process still holds its lock."""
    return LOCK_HELD in str(error)


class Store(faust_rocksdb.Store):
    """Faust's RocksDB store, collecting garbage only when a partition opened again is
    still held by a reference cycle."""

    def revoke_partitions(self, table: CollectionT, tps: AbstractSet[TP]) -> None:
        """Drop the databases of the revoked partitions (Faust's, without its collection)."""
        topics = table.changelog_topic.topics
        for tp in tps:
            if tp.topic in topics and self._dbs.pop(tp.partition, None) is not None:
                self.logger.info(f"closing db {tp.topic} partition {tp.partition}")

    async def stop(self) -> None:
        """Drop every database (Faust's, without its collection)."""
        self.logger.info("Closing rocksdb on stop")
        self._dbs.clear()

    def _open_for_partition(self, partition: int) -> Any:
        try:
            return super()._open_for_partition(partition)
        except Exception as error:  # rocksdict raises a bare Exception
            if not lock_held_here(error):
                raise
            # A database of this partition, revoked earlier, is still held by a cycle.
            gc.collect()
            return super()._open_for_partition(partition)


def register() -> str:
    """Make ``SCHEME`` name this store for Faust; the store URL to give the app."""
    STORES.aliases[SCHEME] = f"{__name__}:Store"
    return f"{SCHEME}://"
