"""One partition's rows of a table shared by the partitions a worker owns."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from .publisher import KeyValue


class PartitionView(MutableMapping[str, Any]):
    """The rows of ``table`` whose key starts with ``"{partition}/"``, keyed without it.

    A worker holds several partitions of the rep stage in one Faust table; the same
    fact can be stored by two partitions (a customer's deal in the partitions of both
    reps that deal with it), and each partition rebuilds from its own rows only.
    """

    def __init__(self, table: KeyValue, partition: int) -> None:
        self._table = table
        self._prefix = f"{partition}/"

    def __getitem__(self, key: str) -> Any:
        return self._table[self._prefix + key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._table[self._prefix + key] = value

    def __delitem__(self, key: str) -> None:
        del self._table[self._prefix + key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self._prefix + key) in self._table

    def get(self, key: str, default: Any = None) -> Any:
        return self._table.get(self._prefix + key, default)

    def __iter__(self) -> Iterator[str]:
        prefix, cut = self._prefix, len(self._prefix)
        return (key[cut:] for key in list(self._table) if key.startswith(prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)
