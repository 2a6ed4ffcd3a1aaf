"""Award figures collected across the rep stage partitions (contract §11, partitioned stages).

With ``SCORECARD_STAGES=partitioned`` no engine renders every rep: each rep partition
renders its own reps' figures of a closed period (``core.award_figures.rep_figures``) and
reports them to the org stage, which renders the teams' (beside a team stage, only the
teams no team partition owns: each team partition reports its own teams' figures the
same way). This module holds the pure parts:

- ``ReportChunk``: one message's worth of a partition's report (a large partition's
  figures travel in several chunks, each well under the internal message limit);
- ``PartitionReports``: a rep or team partition's table of the periods it reported,
  each kept until the org stage's decision of the period came back, so a rebuild (or the
  org stage's request) re-sends exactly what was reported at the close;
- ``AwardReports``: the org stage's table of what it collects per period (the team
  figures and the decision time captured at its own close, every partition's chunks),
  which yields the ``ClosedPeriod`` once every partition has reported.

Both tables are plain key-value mappings (a Faust table in the worker, a dict in tests).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .award_figures import period_order, periods_due
from .awards import ClosedPeriod, RepFigures, TeamFigures

#: A report chunk holds at most this many reps (and as many of the previous quarter's):
#: about 60 KiB, far below the internal hop's 256 KiB batches and Kafka's 1 MB limit.
REPORT_CHUNK_REPS = 400

Table = MutableMapping[str, Any]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def rep_to_json(rep: RepFigures) -> dict[str, Any]:
    """A rep's figures as a table row or message holds them (decimals as their text)."""
    return {"rep_id": rep.rep_id, "name": rep.name, "team_id": rep.team_id, "manager_id": rep.manager_id,
            "score": _text(rep.score), "attainment": _text(rep.attainment)}


def rep_from_json(data: dict[str, Any]) -> RepFigures:
    """The inverse of ``rep_to_json``."""
    return RepFigures(data["rep_id"], data["name"], data["team_id"], data["manager_id"], _decimal(data["score"]),
                      _decimal(data["attainment"]))


def team_to_json(team: TeamFigures) -> dict[str, Any]:
    """A team's figures as a table row holds them."""
    return {"team_id": team.team_id, "manager_id": team.manager_id, "score": _text(team.score),
            "attainment": _text(team.attainment)}


def team_from_json(data: dict[str, Any]) -> TeamFigures:
    """The inverse of ``team_to_json``."""
    return TeamFigures(data["team_id"], data["manager_id"], _decimal(data["score"]), _decimal(data["attainment"]))


#: The stages whose partitions report: a rep partition its reps' figures, a team
#: partition its teams'.
REP, TEAM = "rep", "team"


@dataclass(frozen=True)
class Reporter:
    """A partition that reports award figures: ``stage`` (``REP`` or ``TEAM``) and its index."""

    stage: str
    partition: int

    @property
    def slot(self) -> str:
        """Its part of the org stage's keys: a rep partition's index alone (as before team
        partitions reported), a team partition's prefixed."""
        return str(self.partition) if self.stage == REP else f"{self.stage}-{self.partition}"


def reporters(rep_partitions: int, team_partitions: int) -> list[Reporter]:
    """Every partition whose report of a period the org stage waits for."""
    return [Reporter(REP, p) for p in range(rep_partitions)] + [Reporter(TEAM, p) for p in range(team_partitions)]


@dataclass(frozen=True)
class ReportChunk:
    """Part ``chunk`` of ``chunks`` of what partition ``partition`` of ``stage`` reports of
    ``period``: a rep partition some of its reps' figures and some of their previous
    quarter's, a team partition some of its teams' (``ClosedPeriod``)."""

    period: str
    partition: int
    chunk: int
    chunks: int
    reps: tuple[RepFigures, ...] = ()
    previous: tuple[RepFigures, ...] = ()
    teams: tuple[TeamFigures, ...] = ()
    stage: str = REP

    @property
    def reporter(self) -> Reporter:
        return Reporter(self.stage, self.partition)

    def to_json(self) -> dict[str, Any]:
        out = {"period": self.period, "partition": self.partition, "chunk": self.chunk, "chunks": self.chunks,
               "reps": [rep_to_json(r) for r in self.reps], "previous": [rep_to_json(r) for r in self.previous]}
        if self.stage != REP:  # a rep partition's report as before team partitions reported
            out.update(stage=self.stage, teams=[team_to_json(t) for t in self.teams])
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportChunk:
        return cls(data["period"], int(data["partition"]), int(data["chunk"]), int(data["chunks"]),
                   tuple(map(rep_from_json, data["reps"])), tuple(map(rep_from_json, data["previous"])),
                   tuple(map(team_from_json, data.get("teams", ()))), data.get("stage", REP))


def report_chunks(period: str, partition: int, reps: tuple[RepFigures, ...], previous: tuple[RepFigures, ...],
                  size: int = REPORT_CHUNK_REPS) -> tuple[ReportChunk, ...]:
    """A rep partition's report of ``period`` in chunks of at most ``size`` reps each; one
    empty chunk when it has no rep with figures (the org stage waits for every partition)."""
    count = max(1, -(-max(len(reps), len(previous)) // size))
    return tuple(ReportChunk(period, partition, i, count, reps[i * size:(i + 1) * size],
                             previous[i * size:(i + 1) * size]) for i in range(count))


def team_report_chunks(period: str, partition: int, teams: tuple[TeamFigures, ...],
                       size: int = REPORT_CHUNK_REPS) -> tuple[ReportChunk, ...]:
    """A team partition's report of ``period`` in chunks of at most ``size`` teams each; one
    empty chunk when it owns no team with figures."""
    count = max(1, -(-len(teams) // size))
    return tuple(ReportChunk(period, partition, i, count, teams=teams[i * size:(i + 1) * size], stage=TEAM)
                 for i in range(count))


class PartitionReports:
    """A rep or team partition's reports: period -> its chunks (as sent) until the org stage's
    decision of the period has been taken in, then only a settled mark."""

    SETTLED = "settled"

    def __init__(self, table: Table) -> None:
        self._table = table

    def due(self, closed_months: Iterable[str]) -> list[str]:
        """The periods the closed months end that this partition has not reported yet, in order."""
        return periods_due(closed_months, self._table.keys())

    def record(self, chunks: Iterable[ReportChunk]) -> None:
        """Keep a period's report (all its chunks, of one period)."""
        rows = [c.to_json() for c in chunks]
        self._table[rows[0]["period"]] = {"chunks": rows}

    def unsettled(self) -> list[ReportChunk]:
        """Every chunk of the periods reported and not settled yet, in period order."""
        out: list[ReportChunk] = []
        for period in sorted(self._table.keys(), key=period_order):
            out += self.kept(period)
        return out

    def kept(self, period: str) -> list[ReportChunk]:
        """The chunks of ``period`` as reported, while not settled (else none)."""
        row = self._table.get(period)
        if row is None or row.get(self.SETTLED):
            return []
        return [ReportChunk.from_json(c) for c in row["chunks"]]

    def settled(self, period: str) -> bool:
        """Whether the org stage's decision of ``period`` was taken in here."""
        row = self._table.get(period)
        return bool(row and row.get(self.SETTLED))

    def settle(self, period: str) -> None:
        """The decision of ``period`` was taken in: keep only the mark (a close read again
        reports nothing, a rebuild re-sends nothing)."""
        self._table[period] = {self.SETTLED: True}


class AwardReports:
    """What the org stage collects for each period not decided yet: ``{period}`` -> the
    team figures and the decision time captured at its close; ``{period}/{slot}/{chunk}``
    -> a chunk reported by a partition (``Reporter.slot``; the first one kept: a re-send
    repeats it). ``reporters``: every partition whose report a period waits for."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def capture(self, period: str, teams: Iterable[TeamFigures], decided_at: str, beside_teams: bool = False) -> None:
        """Keep the team figures of ``period`` as rendered at its close, and the decision's
        time; ``beside_teams``: rendered beside a team stage (only the teams no team
        partition owns)."""
        row: dict[str, Any] = {"decided_at": decided_at, "teams": [team_to_json(t) for t in teams]}
        if beside_teams:
            row["beside_teams"] = True
        self._table[period] = row

    def captured(self, period: str, beside_teams: bool = False) -> bool:
        """Whether the org stage's half of ``period`` is kept, and (without a team stage,
        ``beside_teams`` false) holds every team: a period captured beside a team stage that
        is no longer run lacks its teams' figures, and is captured again."""
        row = self._table.get(period)
        return row is not None and (beside_teams or not row.get("beside_teams"))

    def pending(self) -> list[str]:
        """The periods captured and not forgotten yet, in decision order."""
        return sorted((key for key in self._table if "/" not in key), key=period_order)

    def add(self, chunk: ReportChunk) -> None:
        """Keep a reported chunk unless one is kept already at its place."""
        key = f"{chunk.period}/{chunk.reporter.slot}/{chunk.chunk}"
        if self._table.get(key) is None:
            self._table[key] = chunk.to_json()

    def _chunks_of(self, period: str, reporter: Reporter) -> list[ReportChunk] | None:
        """Every chunk of a partition's report of ``period``; None while one is missing."""
        first = self._table.get(f"{period}/{reporter.slot}/0")
        if first is None:
            return None
        chunks = [ReportChunk.from_json(first)]
        for i in range(1, chunks[0].chunks):
            row = self._table.get(f"{period}/{reporter.slot}/{i}")
            if row is None:
                return None
            chunks.append(ReportChunk.from_json(row))
        return chunks

    def missing(self, period: str, reporters: list[Reporter]) -> list[Reporter]:
        """The partitions whose report of ``period`` is not (wholly) kept."""
        return [r for r in reporters if self._chunks_of(period, r) is None]

    def complete(self, period: str, reporters: list[Reporter]) -> tuple[ClosedPeriod, str] | None:
        """The closed period and its decision time once the period is captured and each of
        the ``reporters`` has reported all of its chunks; else None. The teams are the
        captured ones and those team partitions reported, in id order as an engine
        renders them; a team both hold (captured by an org stage that kept every team's
        figures before a team stage ran, then reported by its partition) counts once, as
        captured at the close."""
        captured = self._table.get(period)
        if captured is None:
            return None
        reps: list[RepFigures] = []
        previous: list[RepFigures] = []
        teams: dict[str, TeamFigures] = {}
        for reporter in reporters:
            chunks = self._chunks_of(period, reporter)
            if chunks is None:
                return None
            for chunk in chunks:
                reps += chunk.reps
                previous += chunk.previous
                teams.update((t.team_id, t) for t in chunk.teams)
        teams.update((t.team_id, t) for t in map(team_from_json, captured["teams"]))
        by_id = lambda r: r.rep_id  # noqa: E731 - the engine renders reps in id order
        closed = ClosedPeriod(period, tuple(sorted(reps, key=by_id)), tuple(teams[t] for t in sorted(teams)),
                              tuple(sorted(previous, key=by_id)))
        return closed, captured["decided_at"]

    def forget(self, period: str, reporters: list[Reporter]) -> None:
        """Drop everything kept for a decided period."""
        for reporter in reporters:
            first = self._table.get(f"{period}/{reporter.slot}/0")
            count = int(first["chunks"]) if first is not None else 1
            for i in range(count):
                self._drop(f"{period}/{reporter.slot}/{i}")
        self._drop(period)

    def _drop(self, key: str) -> None:
        if key in self._table:
            del self._table[key]
