"""Trailing windows (contract §4) as running sums of a scope's day buckets.

A trailing window (``R30D``, ``R90D``), the window before it and the window a year
earlier are spans of local days that move with the clock. ``TrailingSums`` holds the
sums of one scope's day buckets over the three spans (every aggregate over the window,
the revenue alone over the other two) and is kept in step with them: a contribution to
a day inside a span is applied to its sum too, and when the clock moves a span, the days
leaving it are subtracted and the days entering it added, or the sum is taken afresh
when that reads fewer day buckets (``span_moves``). Buckets count multisets, so
subtracting is exact: a sum always equals ``Bucket.merged`` over the span's day buckets
(revenue equal in value; its Decimal may keep the finer exponent of a day that left).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .aggregates import Bucket
from .money import add_scaled, from_scaled

#: A span of local days: the ISO labels of its first and last day, both inclusive.
Span = tuple[str, str]


#: How to move a sum to another span: the index ranges of the scope's days to take out
#: (-1) and to add (+1), or None to sum afresh; and the range of the new span's days.
Moves = tuple[tuple[tuple[range, int], ...] | None, range]


def span_moves(first: str, last: str, span: Span, days: list[str]) -> Moves:
    """How a sum over the days ``first``..``last`` moves to ``span``, given the scope's
    sorted day labels: by the days leaving and entering it, or afresh when that reads
    fewer day buckets."""
    lo, hi = bisect_left(days, first), bisect_right(days, last)
    new_lo, new_hi = bisect_left(days, span[0]), bisect_right(days, span[1])
    leaving = (range(lo, min(hi, new_lo)), range(max(lo, new_hi), hi))
    entering = (range(new_lo, min(new_hi, lo)), range(max(new_lo, hi), new_hi))
    fresh = range(new_lo, new_hi)
    if sum(map(len, leaving + entering)) < len(fresh):
        return ((leaving[0], -1), (leaving[1], -1), (entering[0], 1), (entering[1], 1)), fresh
    return None, fresh


def _moved_revenue(units: int, exponent: int, moves: Moves, days: list[str],
                   buckets: Mapping[str, Bucket]) -> tuple[int, int]:
    """A revenue sum ``(units, exponent)`` moved (``span_moves``)."""
    steps, fresh = moves
    if steps is None:
        units = exponent = 0
        steps = ((fresh, 1),)
    for indexes, sign in steps:
        for i in indexes:
            u, e = buckets[days[i]].revenue_units
            units, exponent = add_scaled(units, exponent, u if sign > 0 else -u, e)
    return units, exponent


def _moved_bucket(bucket: Bucket, moves: Moves, days: list[str], buckets: Mapping[str, Bucket]) -> Bucket:
    """A sum of every aggregate moved (``span_moves``): changed in place, or a new one."""
    steps, fresh = moves
    if steps is None:
        return Bucket.merged([buckets[days[i]] for i in fresh])
    for indexes, sign in steps:
        for i in indexes:
            bucket.add(buckets[days[i]], sign)
    return bucket


class TrailingSums:
    """The running sums of one scope for one trailing window: the window's aggregates,
    the previous window's revenue and the revenue of the window a year earlier.

    One flat record, not a sum object per span: a scope keeps one per trailing window it
    rendered (152 bytes less than three). Each span is its first and last day (both ""
    until the first ``move``: no day label lies between them); a revenue is
    ``units * 10 ** exponent``, as in ``Bucket``."""

    __slots__ = ("first", "last", "bucket", "previous_first", "previous_last", "previous_units",
                 "previous_exponent", "year_first", "year_last", "year_units", "year_exponent")

    def __init__(self) -> None:
        self.first = self.last = ""
        self.bucket = Bucket()
        self.previous_first = self.previous_last = ""
        self.previous_units = self.previous_exponent = 0
        self.year_first = self.year_last = ""
        self.year_units = self.year_exponent = 0

    def apply(self, day: str, delta: tuple[tuple[str, Any], ...], sign: int) -> None:
        """Apply a contribution to day ``day`` to each sum whose span holds it."""
        if self.first <= day <= self.last:  # most contributions fall in the window only
            self.bucket.apply(delta, sign)
        previous = self.previous_first <= day <= self.previous_last
        year = self.year_first <= day <= self.year_last
        if not (previous or year):
            return
        for field, value in delta:
            if field == "revenue":
                units, exponent = value
                if sign < 0:
                    units = -units
                if previous:
                    self.previous_units, self.previous_exponent = add_scaled(
                        self.previous_units, self.previous_exponent, units, exponent)
                if year:
                    self.year_units, self.year_exponent = add_scaled(
                        self.year_units, self.year_exponent, units, exponent)

    def add(self, day: str, bucket: Bucket, sign: int) -> None:
        """Add (sign +1) or remove (sign -1) a whole bucket of day ``day`` without revenue
        (``Bucket.activities_and_complaints``): the window's sum only, the other two
        spans sum revenue alone."""
        if self.first <= day <= self.last:
            self.bucket.add(bucket, sign)

    def add_contacts(self, day: str, customer: str, n: int) -> None:
        """Add ``n`` contacts with ``customer`` on day ``day`` (``Bucket.add_contacts``)."""
        if self.first <= day <= self.last:
            self.bucket.add_contacts(customer, n)

    def move(self, spans: tuple[Span, Span, Span], days: list[str],
             buckets: Mapping[str, Bucket]) -> tuple[Bucket, Decimal, Decimal]:
        """The window's bucket, the previous window's revenue and the year-earlier
        window's revenue over ``spans`` (window, previous, year earlier)."""
        window, previous, year = spans
        if window != (self.first, self.last):
            self.bucket = _moved_bucket(self.bucket, span_moves(self.first, self.last, window, days), days, buckets)
            self.first, self.last = window
        if previous != (self.previous_first, self.previous_last):
            self.previous_units, self.previous_exponent = _moved_revenue(
                self.previous_units, self.previous_exponent,
                span_moves(self.previous_first, self.previous_last, previous, days), days, buckets)
            self.previous_first, self.previous_last = previous
        if year != (self.year_first, self.year_last):
            self.year_units, self.year_exponent = _moved_revenue(
                self.year_units, self.year_exponent, span_moves(self.year_first, self.year_last, year, days),
                days, buckets)
            self.year_first, self.year_last = year
        return (self.bucket, from_scaled(self.previous_units, self.previous_exponent),
                from_scaled(self.year_units, self.year_exponent))
