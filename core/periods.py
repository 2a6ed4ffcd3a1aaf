"""Calendar periods and clocks (contract §4) in a configurable IANA time zone.

A timestamp belongs to the local day, month, quarter and year of its local calendar
date; periods are half-open ``[start, end)`` at local midnight. Trailing windows
(``R30D``, ``R90D``) are whole local days ending with the local date of ``as_of``
(contract §4). Business days (Monday to Friday, local) time the appeals' deadline
(contract §10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Literal, cast
from zoneinfo import ZoneInfo

from .bounded_memo import BoundedMemo
from .money import CONTEXT

Kind = Literal["day", "month", "quarter", "year", "R30D", "R90D"]
CALENDAR_KINDS: tuple[Kind, ...] = ("month", "quarter", "year")
TRAILING_DAYS: dict[str, int] = {"R30D": 30, "R90D": 90}

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


_MICROSECOND = timedelta(microseconds=1)
#: UTC offset -> the tzinfo that parsed timestamps with that offset share.
_ZONES: dict[timedelta, tzinfo] = {}


def micros(delta: timedelta) -> int:
    """A duration in whole microseconds (how the aggregates sum sales cycles and resolution times)."""
    return delta // _MICROSECOND


def parse_timestamp(text: object) -> datetime:
    """Parse an RFC 3339 timestamp with an offset or ``Z`` into an aware datetime (anything
    else, a value of another type included, raises ValueError)."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError(f"not an RFC 3339 timestamp with offset: {text!r}")
    s = text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T").replace(" ", "T")
    if "." in s:  # Python accepts at most 6 fractional digits
        head, rest = s.split(".", 1)
        frac = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        s = f"{head}.{frac[:6].ljust(6, '0')}{rest[len(frac):]}"
    value = datetime.fromisoformat(s)
    # fromisoformat makes a new tzinfo (and its timedelta) per call: ~100 bytes of every
    # timestamp the engine keeps. Timestamps with the same offset share the first one's.
    zone = value.tzinfo
    shared = _ZONES.setdefault(value.utcoffset(), zone)  # type: ignore[arg-type]
    return value if shared is zone else value.replace(tzinfo=shared)


def parse_stored_timestamp(text: object, kept: bool = True) -> datetime:
    """``parse_timestamp`` for a timestamp that was checked before it was stored (a fact of
    the worker's ``facts`` table): read by ``datetime.fromisoformat`` when it can, the
    checked parse otherwise (so anything ``parse_timestamp`` rejects still raises ValueError).
    A timestamp that is not ``kept`` (read once, then dropped) keeps its own tzinfo."""
    if isinstance(text, str) and text[4:5] == "-":
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return parse_timestamp(text)
        zone = value.tzinfo
        if zone is not None:
            if not kept:
                return value
            shared = _ZONES.setdefault(value.utcoffset(), zone)  # type: ignore[arg-type]
            return value if shared is zone else value.replace(tzinfo=shared)
    return parse_timestamp(text)


def format_timestamp(value: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with a ``Z`` (millisecond precision)."""
    # A render formats the same few instants (as_of, period bounds) again and again. The
    # fold is part of the key: two wall times of one zone that differ only by it compare
    # equal (same tzinfo) but are different instants.
    return _format_utc(value, value.fold)


@lru_cache(maxsize=1024)
def _format_utc(value: datetime, fold: int) -> str:
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def bounds_in(lo: datetime, hi: datetime, zone: tzinfo | None) -> tuple[datetime, datetime]:
    """``lo`` and ``hi`` as instants of ``zone`` when it is a fixed UTC offset, else as given.

    Comparing timestamps of different tzinfo objects converts both to UTC (ten times the
    cost of a plain comparison); timestamps sharing one fixed-offset tzinfo compare their
    wall times, which is exact. So a loop testing many timestamps against ``[lo, hi)``
    converts the bounds to each timestamp's tzinfo as it meets one, and compares as
    usual with any other kind of tzinfo (a zone with rules may repeat wall times)."""
    if type(zone) is timezone:
        return lo.astimezone(zone), hi.astimezone(zone)
    return lo, hi


#: No tzinfo met yet (``bounds_in``'s loops; None is a naive timestamp's).
NO_ZONE = timezone(timedelta(0), "no zone yet")


class InstantRange:
    """``[lo, hi)`` tested against many timestamps: the bounds are moved into each
    timestamp's tzinfo as one is met (``bounds_in``), so most tests compare wall times."""

    __slots__ = ("lo", "hi", "_zone", "_zlo", "_zhi")

    def __init__(self, lo: datetime, hi: datetime) -> None:
        self.lo, self.hi = lo, hi
        self._zone: tzinfo | None = NO_ZONE
        self._zlo, self._zhi = lo, hi

    def holds(self, ts: datetime) -> bool:
        """Whether ``lo <= ts < hi``."""
        if ts.tzinfo is not self._zone:
            self._zone = ts.tzinfo
            self._zlo, self._zhi = bounds_in(self.lo, self.hi, self._zone)
        return self._zlo <= ts < self._zhi

    def holds_any(self, times: datetime | tuple[datetime, ...]) -> bool:
        """Whether one timestamp, or any of a tuple of them, is in the range."""
        if type(times) is not tuple:
            return self.holds(times)  # type: ignore[arg-type]  # a datetime
        return any(map(self.holds, times))


@dataclass(frozen=True)
class Period:
    """A half-open interval ``[start, end)`` of local time with a label."""

    kind: Kind
    label: str
    start: datetime
    end: datetime

    def contains(self, ts: datetime) -> bool:
        """True when ``start <= ts < end``."""
        return self.start <= ts < self.end


class Calendar:
    """Period arithmetic in one time zone."""

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        #: date -> its local day (``day``); a memo of its own, not an ``lru_cache`` of a
        #: bound method, which referred back to the calendar: a cycle only the collector frees
        self._days: BoundedMemo[date, Period] = BoundedMemo(65536)
        # One shared label tuple per local date: contributions hold them, and fresh
        # strings per event were ~0.7 KiB per rep-period of state (docs/benchmarks.md).
        self._labels: dict[date, tuple[str, str, str, str]] = {}
        #: label -> its calendar period (``parse``; a Period is immutable)
        self._periods: BoundedMemo[str, Period] = BoundedMemo(4096)

    # -- instants and dates -------------------------------------------------
    def local_date(self, ts: datetime) -> date:
        """The local calendar date of an aware timestamp."""
        return ts.astimezone(self.zone).date()

    def midnight(self, d: date) -> datetime:
        """Local midnight starting ``d`` (aware)."""
        return datetime(d.year, d.month, d.day, tzinfo=self.zone)

    # -- periods by label ---------------------------------------------------
    def day(self, d: date) -> Period:
        """The local day ``d``."""
        day = self._days.get(d)
        if day is None:
            end = self.midnight(d + timedelta(days=1))
            day = self._days.put(d, Period("day", d.isoformat(), self.midnight(d), end))
        return day

    def month_of(self, year: int, month: int) -> Period:
        """The month ``year-month``."""
        ny, nm = (year + 1, 1) if month == 12 else (year, month + 1)
        return Period("month", f"{year:04d}-{month:02d}", self.midnight(date(year, month, 1)),
                      self.midnight(date(ny, nm, 1)))

    def quarter_of(self, year: int, quarter: int) -> Period:
        """The quarter ``year-Qquarter``."""
        first = 3 * (quarter - 1) + 1
        end = self.month_of(year, first + 2).end
        return Period("quarter", f"{year:04d}-Q{quarter}", self.midnight(date(year, first, 1)), end)

    def year_of(self, year: int) -> Period:
        """The calendar year."""
        return Period("year", f"{year:04d}", self.midnight(date(year, 1, 1)), self.midnight(date(year + 1, 1, 1)))

    def parse(self, label: str) -> Period:
        """A calendar period (``2026``, ``2026-Q4``, ``2026-11``, ``2026-11-05``) by label."""
        period = self._periods.get(label)
        return period if period is not None else self._periods.put(label, self._parse(label))

    def _parse(self, label: str) -> Period:
        if m := _MONTH.match(label):
            return self.month_of(int(m.group(1)), int(m.group(2)))
        if m := _QUARTER.match(label):
            return self.quarter_of(int(m.group(1)), int(m.group(2)))
        if m := _YEAR.match(label):
            return self.year_of(int(m.group(1)))
        if m := _DAY.match(label):
            try:
                return self.day(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            except ValueError:
                pass
        raise ValueError(f"malformed period {label!r}: expected YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD")

    # -- periods of an instant ---------------------------------------------
    def containing(self, ts: datetime) -> tuple[Period, Period, Period]:
        """The (month, quarter, year) containing ``ts``."""
        d = self.local_date(ts)
        return (self.month_of(d.year, d.month), self.quarter_of(d.year, (d.month - 1) // 3 + 1), self.year_of(d.year))

    def labels_containing(self, ts: datetime) -> tuple[str, str, str, str]:
        """Labels of the (day, month, quarter, year) containing ``ts``; cheap, no Period objects."""
        d = self.local_date(ts)
        labels = self._labels.get(d)
        if labels is None:
            labels = self._labels[d] = (d.isoformat(), f"{d.year:04d}-{d.month:02d}",
                                        f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}", f"{d.year:04d}")
        return labels

    def month_label(self, ts: datetime) -> str:
        """The label of the local month containing ``ts``."""
        return self.labels_containing(ts)[1]

    def trailing(self, kind: str, as_of: datetime) -> Period:
        """``R30D``/``R90D``: the whole local days ending with the local date of ``as_of``."""
        days = TRAILING_DAYS[kind]
        last = self.local_date(as_of)
        start, end = self.midnight(last - timedelta(days=days - 1)), self.midnight(last + timedelta(days=1))
        return Period(cast(Kind, kind), kind, start, end)  # a key of TRAILING_DAYS (KeyError above otherwise)

    # -- relations ----------------------------------------------------------
    def previous(self, p: Period) -> Period:
        """The preceding period of the same kind (same-length window for trailing ones)."""
        if p.kind in TRAILING_DAYS:
            days = TRAILING_DAYS[p.kind]
            last = self.local_date(p.start) - timedelta(days=1)
            return Period(p.kind, p.label, self.midnight(last - timedelta(days=days - 1)),
                          self.midnight(last + timedelta(days=1)))
        prev_instant = p.start - timedelta(seconds=1)
        return self._same_kind_at(p.kind, prev_instant)

    def year_earlier(self, p: Period) -> Period:
        """The same period one calendar year earlier."""
        if p.kind in TRAILING_DAYS:
            s, e = self.local_date(p.start), self.local_date(p.end)
            return Period(p.kind, p.label, self.midnight(_minus_year(s)), self.midnight(_minus_year(e)))
        return self.parse(_minus_year_label(p))

    def months_of(self, p: Period) -> list[Period]:
        """The months inside a quarter or year (a month: itself)."""
        if p.kind == "month":
            return [p]
        d = self.local_date(p.start)
        count = 3 if p.kind == "quarter" else 12 if p.kind == "year" else 0
        if not count:
            raise ValueError(f"{p.kind} has no months")
        return [self.month_of(d.year, d.month + i) for i in range(count)]

    def _same_kind_at(self, kind: str, ts: datetime) -> Period:
        month, quarter, year = self.containing(ts)
        if kind == "month":
            return month
        if kind == "quarter":
            return quarter
        if kind == "year":
            return year
        return self.day(self.local_date(ts))


def elapsed(p: Period, as_of: datetime | None) -> Decimal | None:
    """``(as_of − start) / (end − start)`` clamped to [0, 1]; trailing windows are 1."""
    if as_of is None:
        return None
    if p.kind in TRAILING_DAYS:
        return Decimal(1)
    total = (p.end - p.start).total_seconds()
    done = (as_of - p.start).total_seconds()
    if done <= 0:
        return Decimal(0)
    if done >= total:
        return Decimal(1)
    return CONTEXT.divide(Decimal(str(done)), Decimal(str(total)))


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _minus_year_label(p: Period) -> str:
    year = int(p.label[:4]) - 1
    return f"{year:04d}{p.label[4:]}"


# -- business days -----------------------------------------------------------------
#: ``date.weekday()`` of the business days: Monday to Friday.
BUSINESS_WEEKDAYS = frozenset(range(5))


def is_business_day(d: date) -> bool:
    """True for a Monday to Friday."""
    return d.weekday() in BUSINESS_WEEKDAYS


def business_deadline(start: datetime, days: int, zone: tzinfo) -> datetime:
    """The instant after which more than ``days`` business days have passed since ``start``.

    Business time is every local Monday to Friday, whole days of whatever length (23 or 25
    hours when daylight saving time changes); weekends add none. So the deadline is the same
    local wall-clock time ``days`` business days later: Friday 17:00 plus 5 is the next
    Friday 17:00. A start on a weekend counts from Monday 00:00: Saturday plus 5 is Monday
    00:00 nine days later. A wall-clock time the zone skips on the deadline's day is read
    with the offset before the change (it falls later by the gap); one it repeats is its
    first occurrence. The result is in UTC.
    """
    if days < 0:
        raise ValueError(f"business days must be >= 0, got {days}")
    local = start.astimezone(zone)
    day, wall = local.date(), local.time().replace(fold=0)
    if not is_business_day(day):
        day, wall = next_business_day(day), time.min
    for _ in range(days):
        day = next_business_day(day)
    # In UTC: a local time in a gap or fold never compares equal to another zone's (PEP 495).
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def next_business_day(d: date) -> date:
    """The first business day after ``d``."""
    d += timedelta(days=1)
    while not is_business_day(d):
        d += timedelta(days=1)
    return d
