"""Trailing windows (contract §4) as running sums of a scope's day buckets.

A trailing window (``R30D``, ``R90D``), the window before it and the window a year
earlier are spans of local days that move with the clock. A ``DaySum`` holds the sum
of one scope's day buckets over one span and is kept in step with them: a contribution
to a day inside the span is applied to the sum too, and when the clock moves the span,
the days leaving it are subtracted and the days entering it added, or the sum is taken
afresh when that reads fewer day buckets. Buckets count multisets, so subtracting is
exact: the sum always equals ``Bucket.merged`` over the span's day buckets (revenue
equal in value; its Decimal may keep the finer exponent of a day that left).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .aggregates import Bucket
from .money import add_scaled

#: A span of local days: the ISO labels of its first and last day, both inclusive.
Span = tuple[str, str]


class DaySum:
    """The sum of one scope's day buckets over a span of days: every aggregate
    (``bucket``), or with ``revenue_only`` the revenue alone (``revenue``)."""

    __slots__ = ("first", "last", "bucket", "_units", "_exponent")

    def __init__(self, revenue_only: bool = False) -> None:
        # An empty span until the first ``move``: no day label lies between "" and "".
        self.first = self.last = ""
        self.bucket: Bucket | None = None if revenue_only else Bucket()
        # revenue == _units * 10 ** _exponent, as in Bucket
        self._units = 0
        self._exponent = 0

    @property
    def revenue(self) -> Decimal:
        """The exact sum of the revenue over the span."""
        if self.bucket is not None:
            return self.bucket.revenue
        return Decimal(f"{self._units}E{self._exponent}")

    def apply(self, day: str, delta: tuple[tuple[str, Any], ...], sign: int) -> None:
        """Apply a contribution to day ``day`` (see ``Bucket.apply``) if the span holds that day."""
        if not self.first <= day <= self.last:
            return
        if self.bucket is not None:
            self.bucket.apply(delta, sign)
            return
        for field, value in delta:
            if field == "revenue":
                units, exponent = value
                self._add_revenue(units if sign > 0 else -units, exponent)

    def move(self, span: Span, days: list[str], buckets: Mapping[str, Bucket]) -> None:
        """Hold the sum over ``span`` instead, given the scope's sorted day labels and
        its buckets by label."""
        first, last = span
        if first == self.first and last == self.last:
            return
        # The old and new spans as index ranges of ``days``; what lies in one only changes.
        lo, hi = bisect_left(days, self.first), bisect_right(days, self.last)
        new_lo, new_hi = bisect_left(days, first), bisect_right(days, last)
        leaving = (range(lo, min(hi, new_lo)), range(max(lo, new_hi), hi))
        entering = (range(new_lo, min(new_hi, lo)), range(max(new_lo, hi), new_hi))
        if sum(map(len, leaving + entering)) < new_hi - new_lo:
            for indexes, sign in ((leaving[0], -1), (leaving[1], -1), (entering[0], 1), (entering[1], 1)):
                for i in indexes:
                    self._add(buckets[days[i]], sign)
        elif self.bucket is not None:
            self.bucket = Bucket.merged([buckets[days[i]] for i in range(new_lo, new_hi)])
        else:
            self._units = self._exponent = 0
            for i in range(new_lo, new_hi):
                self._add(buckets[days[i]], 1)
        self.first, self.last = first, last

    def _add(self, day: Bucket, sign: int) -> None:
        if self.bucket is not None:
            self.bucket.add(day, sign)
        else:
            units, exponent = day.revenue_units
            self._add_revenue(units if sign > 0 else -units, exponent)

    def _add_revenue(self, units: int, exponent: int) -> None:
        self._units, self._exponent = add_scaled(self._units, self._exponent, units, exponent)


class TrailingSums:
    """The running sums of one scope for one trailing window: the window's aggregates,
    the previous window's revenue and the revenue of the window a year earlier."""

    __slots__ = ("window", "previous", "year_earlier")

    def __init__(self) -> None:
        self.window = DaySum()
        self.previous = DaySum(revenue_only=True)
        self.year_earlier = DaySum(revenue_only=True)

    def apply(self, day: str, delta: tuple[tuple[str, Any], ...], sign: int) -> None:
        """Apply a contribution to day ``day`` to each sum whose span holds it."""
        for s in (self.window, self.previous, self.year_earlier):
            if s.first <= day <= s.last:  # most contributions fall in the window only
                s.apply(day, delta, sign)

    def move(self, spans: tuple[Span, Span, Span], days: list[str],
             buckets: Mapping[str, Bucket]) -> tuple[Bucket, Decimal, Decimal]:
        """The window's bucket, the previous window's revenue and the year-earlier
        window's revenue over ``spans`` (window, previous, year earlier)."""
        self.window.move(spans[0], days, buckets)
        self.previous.move(spans[1], days, buckets)
        self.year_earlier.move(spans[2], days, buckets)
        assert self.window.bucket is not None  # a full sum, not revenue only
        return self.window.bucket, self.previous.revenue, self.year_earlier.revenue
