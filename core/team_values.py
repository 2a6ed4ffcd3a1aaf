"""The team partitions' values to the company, and what the company holds of them.

With ``SCORECARD_COMPANY_VALUES`` the company's activities and complaints come from the
team partitions instead of from each fact (docs/architecture.md, "The company from the
team partitions' values"). Values are absolute, so a value sent twice changes nothing:

- After each run a team partition sends, of every (team, local day) whose activities or
  complaints moved, the day's value (``ScorecardEngine.team_value``, ``Bucket.value_json``)
  and the contacts of each customer that moved (``team_contacts``), and the clock its
  figures are computed at.
- Each row carries the partition's *epoch*: the consumer group's generation and when the
  partition's stage was built. A partition that was rebuilt (a crash, a rebalance) may
  have lost values it computed before, so a new epoch starts with every value it holds,
  each with all of its day's contacts (``whole``), closed by a *complete* row: the
  company then drops what the partition's older epochs sent and this one did not name.
  A row of an epoch older than the last the company saw of the partition (an old
  owner's, late) is ignored.
- The company's clock for its cards is the lowest clock every team partition's values
  reached (``CompanyValues.clock``), so a card never says it holds what a partition has
  not sent yet (contract §4).

No Faust or Kafka here: the org stage hands the rows and its table in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from datetime import datetime
from typing import Any

from .aggregates import Bucket
from .engine import ScorecardEngine
from .periods import parse_timestamp

#: (the consumer group's generation, when the partition's stage was built in ns)
Epoch = tuple[int, int]
Row = dict[str, Any]

_VALUE, _PARTITION = "value:", "partition:"


def value_rows(engine: ScorecardEngine, partition: int, epoch: Epoch, every: bool, clock: str | None) -> list[Row]:
    """What a team partition sends the company after a run: a row per (team, day) whose
    value or contacts may have moved (``every``: each one it holds, then a complete row),
    each with its whole value and the contacts of the customers that moved."""
    tag = {"partition": partition, "epoch": list(epoch)}
    rows: list[Row] = []
    for (team, day), customers in sorted(engine.take_team_days(every=every).items()):
        value = engine.team_value(team, day)
        row = {**tag, "team": team, "day": day, "value": value.value_json() if value is not None else None,
               "contacts": {c: engine.team_contacts(team, day, c) for c in sorted(customers)}}
        if every:
            row["whole"] = True  # every customer contacted: those it does not name have none
        rows.append(row)
    if every:
        rows.append({**tag, "complete": True, "clock": clock})
    elif clock is not None:
        rows.append({**tag, "clock": clock})
    return rows


def _bucket(value: dict[str, Any] | None) -> Bucket | None:
    return Bucket.from_value_json(value) if value is not None else None


class CompanyValues:
    """The values of every team partition the company holds, in a table:
    ``value:{day}:{team}`` -> ``{"epoch", "value", "contacts"}`` and ``partition:{p}`` ->
    ``{"epoch", "complete", "clock"}`` (the partition's latest epoch, whether it sent all
    of it, and the clock of its values while complete)."""

    def __init__(self, table: MutableMapping[str, Any], partitions: int, partition_of: Callable[[str], int]) -> None:
        self.table = table
        self.partitions = partitions
        self.partition_of = partition_of

    def take(self, rows: Iterable[Row], engine: ScorecardEngine) -> None:
        """Apply the rows a team partition sent, in order, to the company's figures."""
        for row in rows:
            partition, epoch = row["partition"], tuple(row["epoch"])
            key = f"{_PARTITION}{partition}"
            was: dict[str, Any] | None = self.table.get(key)
            held = tuple(was["epoch"]) if was is not None else None
            if held is not None and epoch < held:
                continue  # an older owner's, late: the newer epoch sends everything anyway
            state: dict[str, Any] = was if was is not None and epoch == held else {
                # a new epoch: the clock stays the last complete one's until it is complete
                "epoch": list(epoch), "complete": False, "clock": was["clock"] if was is not None else None}
            if "team" in row:
                self._replace(row, engine)
            if row.get("complete"):
                self._forget_older(partition, epoch, engine)
                state = {**state, "complete": True, "clock": row["clock"]}
            elif "clock" in row and state["complete"]:
                state = {**state, "clock": row["clock"]}
            if state != was:
                self.table[key] = state

    def _replace(self, row: Row, engine: ScorecardEngine) -> None:
        """Replace the value held of the row's (team, day) by the row's."""
        key = f"{_VALUE}{row['day']}:{row['team']}"
        held = self.table.get(key)
        old_value = held["value"] if held is not None else None
        contacts = dict(held["contacts"]) if held is not None else {}
        moves: dict[str, int] = {}
        named = row["contacts"]
        if row.get("whole"):
            for customer in [c for c in contacts if c not in named]:
                moves[customer] = -contacts.pop(customer)
        for customer, n in named.items():
            moved = n - contacts.get(customer, 0)
            if moved:
                moves[customer] = moved
            if n:
                contacts[customer] = n
            else:
                contacts.pop(customer, None)
        if moves or row["value"] != old_value:
            engine.apply_team_value(row["day"], _bucket(old_value), _bucket(row["value"]), moves)
        if row["value"] is None and not contacts:
            if held is not None:
                del self.table[key]
        else:
            self.table[key] = {"epoch": row["epoch"], "value": row["value"], "contacts": contacts}

    def _forget_older(self, partition: int, epoch: Epoch, engine: ScorecardEngine) -> None:
        """A partition sent every value of ``epoch``: what its older epochs sent and this one
        did not name is no longer the partition's, and leaves the company's figures."""
        for key, held in list(self.table.items()):
            if not key.startswith(_VALUE) or tuple(held["epoch"]) >= epoch:
                continue
            day, team = key[len(_VALUE):len(_VALUE) + 10], key[len(_VALUE) + 11:]
            if self.partition_of(team) != partition:
                continue
            engine.apply_team_value(day, _bucket(held["value"]), None,
                                    {customer: -n for customer, n in held["contacts"].items()})
            del self.table[key]

    def load(self, engine: ScorecardEngine) -> None:
        """Apply every value held to an engine rebuilt from the facts."""
        for key, held in self.table.items():
            if key.startswith(_VALUE):
                engine.apply_team_value(key[len(_VALUE):len(_VALUE) + 10], None, _bucket(held["value"]),
                                        held["contacts"])

    def clock(self) -> datetime | None:
        """The lowest clock the values of every team partition reached (None until each
        partition sent all of its values once)."""
        lowest: datetime | None = None
        for partition in range(self.partitions):
            state = self.table.get(f"{_PARTITION}{partition}")
            if state is None or state["clock"] is None:
                return None
            clock = parse_timestamp(state["clock"])
            lowest = clock if lowest is None or clock < lowest else lowest
        return lowest
