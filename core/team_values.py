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
- Each message ends with the partition's *marker* when it moved: the clock its figures
  are computed at and the months it holds closed. The company's clock for its cards is
  the lowest clock every team partition's values reached (``CompanyValues.clock``), so a
  card never says it holds what a partition has not sent yet (contract §4); a period of
  its cards is final once its months are closed in every partition's values
  (``CompanyValues.closed``): a partition applies a close after the facts routed before
  it, so its values hold them all by then.

The same protocol one level further down (``TeamValuesFromReps``, not wired yet): the
rep partitions' values of their reps' team days, held by the team partition of each team
per sending rep partition.

No Faust or Kafka here: the org stage hands the rows and its table in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .aggregates import Bucket
from .engine import ScorecardEngine
from .periods import format_timestamp, parse_timestamp

#: (the consumer group's generation, when the partition's stage was built in ns)
Epoch = tuple[int, int]
Row = dict[str, Any]

_VALUE, _PARTITION = "value:", "partition:"


@dataclass(frozen=True)
class Marker:
    """What a team partition's values hold up to: the clock its figures are computed at
    (None: it holds no fact) and the months it holds closed."""

    clock: str | None
    closed: tuple[str, ...]

    @classmethod
    def of(cls, engine: ScorecardEngine) -> Marker:
        as_of = engine.clock()
        return cls(format_timestamp(as_of) if as_of is not None else None, tuple(sorted(engine.closed_months)))


def value_rows(engine: ScorecardEngine, partition: int, epoch: Epoch, every: bool, marker: Marker | None) -> list[Row]:
    """What a team partition sends the company after a run: a row per (team, day) whose
    value or contacts may have moved (``every``: each one it holds, then a complete row),
    each with its whole value and the contacts of the customers that moved, then the
    marker when given (always on a complete row)."""
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
        marker = marker or Marker.of(engine)
        rows.append({**tag, "complete": True, "clock": marker.clock, "closed": list(marker.closed)})
    elif marker is not None:
        rows.append({**tag, "clock": marker.clock, "closed": list(marker.closed)})
    return rows


def _bucket(value: dict[str, Any] | None) -> Bucket | None:
    return Bucket.from_value_json(value) if value is not None else None


def value_key(day: str, team: str) -> str:
    """The table key of what the company holds of a team's local day."""
    return f"{_VALUE}{day}:{team}"


def _day_and_team(key: str) -> tuple[str, str]:
    """The local day (``YYYY-MM-DD``) and team of a ``value_key`` (a team id may hold ':')."""
    return key[len(_VALUE):len(_VALUE) + 10], key[len(_VALUE) + 11:]


@dataclass(frozen=True)
class HeldValue:
    """What the company holds of a team's local day: the epoch that sent it, the value
    (``Bucket.value_json``; None: nothing) and each customer's contacts."""

    epoch: Epoch
    value: dict[str, Any] | None
    contacts: dict[str, int]

    @property
    def empty(self) -> bool:
        return self.value is None and not self.contacts

    def to_json(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "value": self.value, "contacts": self.contacts}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> HeldValue:
        return cls(_epoch(value["epoch"]), value["value"], value["contacts"])


@dataclass(frozen=True)
class PartitionValues:
    """What the company knows of a team partition's values: its latest epoch, whether that
    epoch sent all of them, whether one ever did, and the marker of its values as of its
    last complete epoch: the clock (None: it held no fact) and the months closed (a close
    is never undone, so those of older epochs stay)."""

    epoch: Epoch
    complete: bool = False
    ever_complete: bool = False
    clock: str | None = None
    #: None: not known (a state or a row from before markers named closed months)
    closed: tuple[str, ...] | None = ()

    def marked(self, row: Row) -> PartitionValues:
        """With the marker of a row of its complete epoch."""
        if "closed" not in row:  # a sender from before markers named them: nothing learnt
            return dataclasses.replace(self, clock=row["clock"])
        closed = tuple(sorted(set(self.closed or ()).union(row["closed"])))
        return dataclasses.replace(self, clock=row["clock"], closed=closed)

    def to_json(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "complete": self.complete, "ever_complete": self.ever_complete,
                "clock": self.clock, "closed": list(self.closed) if self.closed is not None else None}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> PartitionValues:
        closed = value.get("closed")
        return cls(_epoch(value["epoch"]), value["complete"],
                   value.get("ever_complete", value["complete"] or value["clock"] is not None), value["clock"],
                   tuple(closed) if closed is not None else None)


def _epoch(value: Iterable[int]) -> Epoch:
    generation, started = value
    return generation, started


class CompanyValues:
    """The values of every team partition the company holds, in a table of
    ``HeldValue`` (``value_key``) and ``PartitionValues`` (``partition:{p}``)."""

    def __init__(self, table: MutableMapping[str, Any], partitions: int, partition_of: Callable[[str], int],
                 generation: Callable[[], int] | None = None) -> None:
        """``generation``: the consumer group's generation now (a row of a later one is
        from a group that was deleted since, read again: ignored); None: not checked."""
        self.table = table
        self.partitions = partitions
        self.partition_of = partition_of
        self.generation = generation

    def _state(self, partition: int) -> PartitionValues | None:
        held = self.table.get(f"{_PARTITION}{partition}")
        return PartitionValues.from_json(held) if held is not None else None

    def _held(self) -> Iterator[tuple[str, HeldValue]]:
        """Every (team, day) held, with its key."""
        for key, held in list(self.table.items()):
            if key.startswith(_VALUE):
                yield key, HeldValue.from_json(held)

    # -- what a level of values decides: the key of a row, whose a key is, where it applies
    def _key(self, row: Row) -> str:
        """The table key of what is held of a row's (team, day)."""
        return value_key(row["day"], row["team"])

    def _source_and_day(self, key: str) -> tuple[int, str, str]:
        """The partition that sends a key's value, its local day and its team."""
        day, team = _day_and_team(key)
        return self.partition_of(team), day, team

    def _apply(self, engine: ScorecardEngine, day: str, team: str, old: Bucket | None, new: Bucket | None,
               contacts: dict[str, int]) -> None:
        """Replace a team's value of a day in the engine's figures: the company's."""
        engine.apply_team_value(day, old, new, contacts)

    def take(self, rows: Iterable[Row], engine: ScorecardEngine) -> None:
        """Apply the rows a team partition sent, in order, to the company's figures. Every
        row is written, changed or not: after a kill -9 the local table can be ahead of its
        changelog, and the rows that come again bring the changelog up to date."""
        current = self.generation() if self.generation is not None else None
        states: dict[int, PartitionValues] = {}
        written: set[str] = set()
        for row in rows:
            partition, epoch = row["partition"], _epoch(row["epoch"])
            if current is not None and epoch[0] > current:
                continue  # a deleted group's, read again
            was = states.get(partition) or self._state(partition)
            if was is not None and epoch < was.epoch:
                continue  # an older owner's, late: the newer epoch sends everything anyway
            # a new epoch's clock stays the last complete one's until it is complete
            state = was if was is not None and epoch == was.epoch else PartitionValues(
                epoch, ever_complete=was is not None and was.ever_complete, clock=was.clock if was else None,
                closed=was.closed if was else ())
            if "team" in row:
                written.add(self._replace(row, epoch, engine))
            if row.get("complete"):
                self._forget_older(partition, epoch, engine, but=written)
                state = dataclasses.replace(state, complete=True, ever_complete=True).marked(row)
            elif "clock" in row and state.complete:
                state = state.marked(row)
            states[partition] = state
        for partition, state in states.items():
            self.table[f"{_PARTITION}{partition}"] = state.to_json()

    def _replace(self, row: Row, epoch: Epoch, engine: ScorecardEngine) -> str:
        """Replace the value held of the row's (team, day) by the row's; returns its key."""
        key = self._key(row)
        raw = self.table.get(key)
        held = HeldValue.from_json(raw) if raw is not None else None
        old_value = held.value if held is not None else None
        contacts = dict(held.contacts) if held is not None else {}
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
            self._apply(engine, row["day"], row["team"], _bucket(old_value), _bucket(row["value"]), moves)
        # an emptied day stays, empty, so that writing it again reaches the changelog
        self.table[key] = HeldValue(epoch, row["value"], contacts).to_json()
        return key

    def _forget_older(self, partition: int, epoch: Epoch, engine: ScorecardEngine, but: set[str]) -> None:
        """A partition sent every value of ``epoch``: what its older epochs sent and this one
        did not name is no longer the partition's, and leaves the company's figures (every
        day of the partition is written again, as ``take`` writes every row, but those of
        ``but``, written by this message)."""
        for key, held in self._held():
            source, day, team = self._source_and_day(key)
            if key in but or source != partition:
                continue
            if held.epoch < epoch:
                if not held.empty:
                    self._apply(engine, day, team, _bucket(held.value), None,
                                {customer: -n for customer, n in held.contacts.items()})
                held = HeldValue(epoch, None, {})
            self.table[key] = held.to_json()

    def load(self, engine: ScorecardEngine) -> None:
        """Apply every value held to an engine rebuilt from the facts."""
        for key, held in self._held():
            if not held.empty:
                _, day, team = self._source_and_day(key)
                self._apply(engine, day, team, None, _bucket(held.value), dict(held.contacts))

    def restart_epochs(self, generation: int) -> bool:
        """After the consumer group started over (its generation is below one held: the
        group was deleted), every epoch held goes back to the lowest, so that the team
        partitions' new ones, numbered from the new generation, are taken; whether it did."""
        states = {p: state for p in range(self.partitions) if (state := self._state(p)) is not None}
        if not any(state.epoch[0] > generation for state in states.values()):
            return False
        lowest: Epoch = (0, 0)
        for p, state in states.items():
            self.table[f"{_PARTITION}{p}"] = dataclasses.replace(state, epoch=lowest).to_json()
        for key, held in self._held():
            self.table[key] = dataclasses.replace(held, epoch=lowest).to_json()
        return True

    def _states(self) -> list[PartitionValues] | None:
        """Every partition's state; None until each partition sent all of its values once."""
        states = []
        for partition in range(self.partitions):
            state = self._state(partition)
            if state is None or not state.ever_complete:
                return None
            states.append(state)
        return states

    def closed(self) -> frozenset[str] | None:
        """The months closed in the values of every team partition: none until each
        partition sent all of its values once (a card is final only with every value);
        None, nothing held back, while a partition's are not known (its state or its
        sender from before markers named closed months: an upgrade)."""
        states = self._states()
        if states is None:
            return frozenset()
        if any(state.closed is None for state in states):
            return None
        return frozenset.intersection(*(frozenset(state.closed or ()) for state in states))

    def clock(self) -> datetime | None:
        """The lowest clock the values of every team partition reached, of those that hold
        a fact (None until each partition sent all of its values once)."""
        states = self._states()
        if states is None:
            return None
        lowest: datetime | None = None
        for state in states:
            if state.clock is None and state.complete:
                continue  # it holds no fact: no value of it is missing
            clock = parse_timestamp(state.clock)
            lowest = clock if lowest is None or clock < lowest else lowest
        return lowest


class TeamValuesFromReps(CompanyValues):
    """What a team partition holds of the rep partitions' values of its teams' days, one
    level further down (docs/architecture.md, "Next: activities past the org stage"): the
    same protocol, a (team, day) held per sending rep partition
    (``value:{partition}:{day}:{team}``), applied to the team's figures
    (``apply_team_value`` with ``team``). Every rep partition may send a value of any
    team, so a team's day is the sum of what each holds of it."""

    def __init__(self, table: MutableMapping[str, Any], partitions: int,
                 generation: Callable[[], int] | None = None) -> None:
        super().__init__(table, partitions, lambda team: -1, generation)

    def _key(self, row: Row) -> str:
        return f"{_VALUE}{row['partition']}:{row['day']}:{row['team']}"

    def _source_and_day(self, key: str) -> tuple[int, str, str]:
        source, rest = key[len(_VALUE):].split(":", 1)
        return int(source), rest[:10], rest[11:]

    def _apply(self, engine: ScorecardEngine, day: str, team: str, old: Bucket | None, new: Bucket | None,
               contacts: dict[str, int]) -> None:
        engine.apply_team_value(day, old, new, contacts, team=team)
