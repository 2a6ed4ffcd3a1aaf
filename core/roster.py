"""Effective-dated roster history: which team a rep belonged to at any instant.

Attribution rules (contract §3, roster): the entry in force at instant ``t`` is the
last one with ``effective_at <= t``; "at a period's end" means the last instant
inside it (``effective_at < end``); no entry in force means team ``unassigned``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

UNASSIGNED = "unassigned"
DEFAULT_FACTOR = Decimal("1.0")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One effective-dated roster fact for a rep."""

    rep_id: str
    team_id: str
    manager_id: str
    status: str  # "active" | "left"
    effective_at: datetime
    hired_at: datetime
    name: str | None
    territory_factor: Decimal
    occurred_at: datetime
    event_id: str

    @property
    def order(self) -> tuple[datetime, datetime, str]:
        """Sort key: effective time, then later occurrence, then event id wins."""
        return (self.effective_at, self.occurred_at, self.event_id)


def _order(entry: RosterEntry) -> tuple[datetime, datetime, str]:
    return entry.order


class RepHistory:
    """The ordered roster entries of one rep (a handful: no index beside the list)."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[RosterEntry] = []

    def add(self, entry: RosterEntry) -> bool:
        """Insert an entry; False when the same event was already applied."""
        if any(e.event_id == entry.event_id for e in self.entries):
            return False
        self.entries.insert(bisect.bisect_right(self.entries, entry.order, key=_order), entry)
        return True

    def at(self, ts: datetime) -> RosterEntry | None:
        """Entry in force at instant ``ts`` (``effective_at <= ts``)."""
        # Compare on effective_at only; among equal effective_at the last one wins.
        lo, hi = 0, len(self.entries)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.entries[mid].effective_at <= ts:
                lo = mid + 1
            else:
                hi = mid
        return self.entries[lo - 1] if lo else None

    def before(self, ts: datetime) -> RosterEntry | None:
        """Entry in force just before ``ts`` (``effective_at < ts``): "at the end" of a period ending at ts."""
        lo, hi = 0, len(self.entries)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.entries[mid].effective_at < ts:
                lo = mid + 1
            else:
                hi = mid
        return self.entries[lo - 1] if lo else None

    def teams(self) -> set[str]:
        """Every team this rep ever belonged to."""
        return {e.team_id for e in self.entries}


class Roster:
    """Roster histories of all reps, with the team look-ups the KPIs need."""

    def __init__(self) -> None:
        self.reps: dict[str, RepHistory] = {}
        self._members_cache: dict[datetime, dict[str, list[str]]] = {}
        #: (end, month) -> ``hires_at_end``'s answer (the new-hire ramp reads it on every render)
        self._hires_cache: dict[tuple[datetime, str], dict[str, list[str]]] = {}
        self._departures: list[tuple[str, datetime, str]] | None = None

    def add(self, entry: RosterEntry) -> bool:
        """Record an entry; False for a repeat of an applied event."""
        hist = self.reps.get(entry.rep_id)
        if hist is None:
            hist = self.reps[entry.rep_id] = RepHistory()
        changed = hist.add(entry)
        if changed:
            self._members_cache.clear()
            self._hires_cache.clear()
            self._departures = None
        return changed

    def entry_at(self, rep_id: str, ts: datetime) -> RosterEntry | None:
        """The rep's entry in force at ``ts``."""
        hist = self.reps.get(rep_id)
        return hist.at(ts) if hist else None

    def entry_before(self, rep_id: str, ts: datetime) -> RosterEntry | None:
        """The rep's entry in force at the last instant before ``ts``."""
        hist = self.reps.get(rep_id)
        return hist.before(ts) if hist else None

    def team_at(self, rep_id: str, ts: datetime) -> str:
        """The team a rep belonged to at ``ts`` (``unassigned`` when none)."""
        entry = self.entry_at(rep_id, ts)
        return entry.team_id if entry else UNASSIGNED

    def teams_ever(self, rep_id: str) -> set[str]:
        """All teams the rep ever belonged to, plus ``unassigned``."""
        hist = self.reps.get(rep_id)
        return (hist.teams() if hist else set()) | {UNASSIGNED}

    def hires_at_end(self, end: datetime, month: str, month_of: Callable[[datetime], str]) -> dict[str, list[str]]:
        """team_id -> the members at ``end`` (``members_at_end``, in its order) whose entry
        then says they were hired in ``month`` (``month_of``: the month label of an instant,
        the same function at every call)."""
        key = (end, month)
        cached = self._hires_cache.get(key)
        if cached is not None:
            return cached
        hires: dict[str, list[str]] = {}
        for team_id, reps in self.members_at_end(end).items():
            hired = [rep_id for rep_id in reps if month_of(self.reps[rep_id].before(end).hired_at) == month]  # type: ignore[union-attr]  # a member has an entry before end
            if hired:
                hires[team_id] = hired
        self._hires_cache[key] = hires
        return hires

    def members_at_end(self, end: datetime) -> dict[str, list[str]]:
        """team_id -> reps active in it at the last instant before ``end``."""
        cached = self._members_cache.get(end)
        if cached is not None:
            return cached
        members: dict[str, list[str]] = {}
        for rep_id, hist in self.reps.items():
            entry = hist.before(end)
            if entry is not None and entry.status == "active":
                members.setdefault(entry.team_id, []).append(rep_id)
        for reps in members.values():
            reps.sort()
        self._members_cache[end] = members
        return members

    def departures(self, team_id: str | None, start: datetime, end: datetime) -> int:
        """Reps whose status turned from active to ``left`` with ``start <= effective_at < end``
        (in ``team_id``, or any). A rep whose first known entry is ``left`` never left on record."""
        return len({rep for rep, at, team in self._transitions_to_left()
                    if start <= at < end and (team_id is None or team == team_id)})

    def _transitions_to_left(self) -> list[tuple[str, datetime, str]]:
        """(rep, effective_at, team) of every entry into ``left`` from another status; kept
        until the roster changes (team and company scorecards ask on every render)."""
        if self._departures is None:
            out = []
            for rep_id, hist in self.reps.items():
                prev_status = None
                for entry in hist.entries:
                    if entry.status == "left" and prev_status is not None and prev_status != "left":
                        out.append((rep_id, entry.effective_at, entry.team_id))
                    prev_status = entry.status
            self._departures = out
        return self._departures


def whole_months_between(start: datetime, end: datetime) -> int:
    """Complete calendar months from ``start`` to ``end`` (both already in local time), at least 0."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    return max(0, months)
