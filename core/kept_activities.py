"""What the engine keeps of a rep's activities: a time and a shared record of figures each.

A worker keeps every activity it applied (a roster change credits them to a team again,
explanations list them), so they are kept column-wise per rep instead of as a record and
a datetime each (120 bytes): the time as 8 bytes of an array (``wall_micros``: the
wall-clock microseconds and the fold; the tzinfo is in the figures) and the figures
(kind, contact, value, team and the time's tzinfo) as one tuple that every activity with
the same figures shares (``FigureBook``: a rep calls the same customers again and again).
What is read back (``ActivityFact``) is the very time given, same tzinfo object included.
The engine's index of the event ids applied keeps each as bytes (``event_key``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

#: An activity's kind, the customer of an effective contact (else None), its value (the
#: campaign id, training minutes or survey score, else None), the team it is credited to
#: and its time's tzinfo.
Figures = tuple[str, str | None, str | int | None, str, tzinfo | None]

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def event_key(event_id: str) -> bytes:
    """An activity's event id as the engine's duplicate index keeps it: its UTF-8 bytes
    (one to one, so duplicates are recognised exactly; 16 bytes less than the str)."""
    return event_id.encode("utf-8", "surrogatepass")


def wall_micros(ts: datetime) -> int:
    """``ts``'s wall-clock time in microseconds since 1970-01-01 (of its own zone), times
    two, plus its fold: with the tzinfo, the very datetime (``from_wall_micros``)."""
    return (ts.replace(tzinfo=None, fold=0) - _EPOCH) // _MICROSECOND * 2 + ts.fold


def from_wall_micros(value: int, zone: tzinfo | None) -> datetime:
    """The datetime ``wall_micros`` gave ``value`` for, with ``zone`` as its tzinfo."""
    micros, fold = divmod(value, 2)
    # an aware datetime plus a timedelta is wall-clock arithmetic: the tzinfo stays, fold 0
    ts = _EPOCH.replace(tzinfo=zone) + timedelta(microseconds=micros)
    return ts.replace(fold=1) if fold else ts


@dataclass(frozen=True, slots=True)
class ActivityFact:
    """An activity as the engine keeps it: the fields its contribution reads and the team
    it is credited to (an activity never changes; a roster change may move its team)."""

    ts: datetime
    kind: str
    #: the customer of an effective contact (call, visit, meeting, email, demo), else None
    contact: str | None
    #: the campaign id (campaign), minutes (training) or score (survey), else None
    value: str | int | None
    team: str


class FigureBook:
    """One tuple for equal activity figures (their strings already interned). Figures no
    activity holds any more (a roster change moved their team) are kept: a few tuples."""

    __slots__ = ("_shared",)

    def __init__(self) -> None:
        self._shared: dict[Figures, Figures] = {}

    def shared(self, figures: Figures) -> Figures:
        """``figures``, or the equal tuple given before."""
        return self._shared.setdefault(figures, figures)

    def __len__(self) -> int:
        return len(self._shared)


class KeptActivities:
    """One rep's activities in the order they were applied: a time and figures each."""

    __slots__ = ("_times", "_figures")

    def __init__(self) -> None:
        self._times = array("q")
        self._figures: list[Figures] = []

    def append(self, ts: datetime, figures: Figures) -> None:
        """Keep an activity at ``ts`` (its tzinfo is ``figures``' last field)."""
        self._times.append(wall_micros(ts))
        self._figures.append(figures)

    def __len__(self) -> int:
        return len(self._figures)

    def ts(self, i: int) -> datetime:
        """The time of the ``i``-th activity."""
        return from_wall_micros(self._times[i], self._figures[i][4])

    def figures(self, i: int) -> Figures:
        """The figures of the ``i``-th activity."""
        return self._figures[i]

    def set_figures(self, i: int, figures: Figures) -> None:
        """Replace the figures of the ``i``-th activity (its team moved)."""
        self._figures[i] = figures

    def items(self) -> Iterator[tuple[int, datetime, Figures]]:
        """Every activity's index, time and figures."""
        for i, (value, figures) in enumerate(zip(self._times, self._figures, strict=True)):
            yield i, from_wall_micros(value, figures[4]), figures

    def facts(self) -> Iterator[ActivityFact]:
        """Every activity as read back."""
        for _, ts, (kind, contact, value, team, _) in self.items():
            yield ActivityFact(ts, kind, contact, value, team)
