"""What an engine that renders no rep scorecard keeps of its reps (the org engine).

The org stage renders team and company scorecards only, but two of their figures read
members' month revenue: the new-hire ramp (contract §5) and ``history`` splits of team
targets (contract §12); and the query API's lists (``/api/boards``, ``/api/me``, the
default board month) read which rep periods exist. ``RepTally`` keeps exactly that, in
place of the rep buckets (day, month, quarter, year, trailing sums) a rendering engine
keeps: per rep and calendar period the number of contributions it holds (a period exists
while it holds one, as a bucket does) and per rep month the revenue, exact, as a bucket
sums it (``core.aggregates.Bucket``: units of ``10 ** exponent``).
"""

from __future__ import annotations

from decimal import Decimal

from .money import add_scaled, from_scaled

#: What a rep period holds: [contributions, revenue units, revenue exponent] (revenue: months only).
Tally = list[int]


class RepTally:
    """Contributions per rep period and revenue per rep month (see the module docstring)."""

    __slots__ = ("periods",)

    def __init__(self) -> None:
        #: rep_id -> calendar label (month, quarter, year) -> its tally
        self.periods: dict[str, dict[str, Tally]] = {}

    def apply(self, rep_id: str, labels: tuple[str, str, str], revenue: tuple[int, int] | None,
              sign: int) -> list[str]:
        """Add (sign +1) or remove (-1) one contribution to the rep's month, quarter and year
        (``labels``), its revenue (``money_units``, or None) to the month; returns the labels
        left without any contribution (they stop existing)."""
        periods = self.periods.get(rep_id)
        if periods is None:
            periods = self.periods[rep_id] = {}
        emptied = []
        for index, label in enumerate(labels):
            tally = periods.get(label)
            if tally is None:
                tally = periods[label] = [0, 0, 0]
            tally[0] += sign
            if tally[0] == 0:
                del periods[label]
                emptied.append(label)
            elif index == 0 and revenue is not None:
                units, exponent = revenue
                tally[1], tally[2] = add_scaled(tally[1], tally[2], units if sign > 0 else -units, exponent)
        if not periods:
            del self.periods[rep_id]
        return emptied

    def revenue(self, rep_id: str, month: str) -> Decimal:
        """The revenue credited to the rep in the month (0 without any contribution)."""
        tally = self.periods.get(rep_id, {}).get(month)
        return from_scaled(tally[1], tally[2]) if tally is not None else Decimal(0)

    def holds(self, rep_id: str) -> bool:
        """Whether any period of the rep holds a contribution."""
        return rep_id in self.periods
