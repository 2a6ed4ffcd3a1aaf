"""Business days: the deadline of an appeal (contract §10), worked out on a calendar by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core.periods import (
    Calendar,
    InstantRange,
    bounds_in,
    business_deadline,
    format_timestamp,
    is_business_day,
    next_business_day,
    parse_stored_timestamp,
    parse_timestamp,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CAIRO = ZoneInfo("Africa/Cairo")


def deadline(start: str, zone: ZoneInfo = SHANGHAI, days: int = 5) -> datetime:
    return business_deadline(parse_timestamp(start), days, zone)


def test_business_days_are_monday_to_friday() -> None:
    # 2026-11-02 is a Monday.
    assert [is_business_day(date(2026, 11, d)) for d in range(2, 9)] == [True] * 5 + [False] * 2
    assert next_business_day(date(2026, 11, 6)) == date(2026, 11, 9)  # Friday -> Monday
    assert next_business_day(date(2026, 11, 7)) == date(2026, 11, 9)  # Saturday -> Monday
    assert next_business_day(date(2026, 11, 9)) == date(2026, 11, 10)


@pytest.mark.parametrize("start,expected", [
    # Friday 17:00: Mon 9, Tue 10, Wed 11, Thu 12, Fri 13 -> the next Friday 17:00.
    ("2026-11-06T17:00:00+08:00", "2026-11-13T17:00:00+08:00"),
    # Wednesday 10:00: Thu, Fri, (weekend), Mon, Tue, Wed -> seven calendar days.
    ("2026-11-04T10:00:00+08:00", "2026-11-11T10:00:00+08:00"),
    ("2026-11-02T09:00:00+08:00", "2026-11-09T09:00:00+08:00"),
    ("2026-11-06T23:59:59+08:00", "2026-11-13T23:59:59+08:00"),
    # Over a month end: Fri 27, Mon 30, Tue 1, Wed 2, Thu 3.
    ("2026-11-26T12:00:00+08:00", "2026-12-03T12:00:00+08:00"),
    # A weekend start counts from Monday 00:00 (9 Nov), five business days later is Monday 16 Nov 00:00.
    ("2026-11-07T10:00:00+08:00", "2026-11-16T00:00:00+08:00"),
    ("2026-11-08T23:59:59+08:00", "2026-11-16T00:00:00+08:00"),
    ("2026-11-09T00:00:00+08:00", "2026-11-16T00:00:00+08:00"),
    # The local date decides: 09:00Z on Friday is 17:00 in Shanghai; 18:00Z is Saturday 02:00 there.
    ("2026-11-06T09:00:00Z", "2026-11-13T17:00:00+08:00"),
    ("2026-11-06T18:00:00Z", "2026-11-16T00:00:00+08:00"),
])
def test_five_business_days_without_daylight_saving(start: str, expected: str) -> None:
    assert deadline(start) == parse_timestamp(expected)


def test_zero_days_is_the_start_or_the_next_monday_and_negative_is_an_error() -> None:
    assert deadline("2026-11-06T17:00:00+08:00", days=0) == parse_timestamp("2026-11-06T17:00:00+08:00")
    assert deadline("2026-11-07T10:00:00+08:00", days=0) == parse_timestamp("2026-11-09T00:00:00+08:00")
    with pytest.raises(ValueError, match="business days"):
        deadline("2026-11-06T17:00:00+08:00", days=-1)


def test_berlin_spring_forward_on_the_weekend_keeps_the_wall_clock() -> None:
    # Clocks go from 02:00 CET to 03:00 CEST on Sunday 29 March 2026.
    # Friday 27 March 17:00 CET (16:00Z) -> Friday 3 April 17:00 CEST (15:00Z): 7 days less an hour.
    start = parse_timestamp("2026-03-27T17:00:00+01:00")
    end = business_deadline(start, 5, BERLIN)
    assert end == datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7, hours=-1)


def test_berlin_fall_back_on_the_weekend_keeps_the_wall_clock() -> None:
    # Clocks go from 03:00 CEST back to 02:00 CET on Sunday 25 October 2026.
    # Friday 23 October 17:00 CEST (15:00Z) -> Friday 30 October 17:00 CET (16:00Z): 7 days and an hour.
    start = parse_timestamp("2026-10-23T17:00:00+02:00")
    end = business_deadline(start, 5, BERLIN)
    assert end == datetime(2026, 10, 30, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7, hours=1)


def test_a_change_of_clocks_on_a_business_day_keeps_the_wall_clock() -> None:
    # Cairo moved from EET (+02) to EEST (+03) at 00:00 on Friday 28 April 2023: a 23-hour business day.
    # Friday 21 April 12:00 EET (10:00Z) -> Friday 28 April 12:00 EEST (09:00Z).
    assert deadline("2023-04-21T12:00:00+02:00", CAIRO) == datetime(2023, 4, 28, 9, 0, tzinfo=UTC)
    # 00:30 does not exist on 28 April: read with the old offset (+02), 22:30Z, which is 01:30 EEST.
    assert deadline("2023-04-21T00:30:00+02:00", CAIRO) == datetime(2023, 4, 27, 22, 30, tzinfo=UTC)
    # Cairo went back from EEST to EET at 24:00 on Thursday 26 October 2023: 23:30 came twice; the first counts.
    # Thursday 19 October 23:30 EEST (20:30Z) -> Thursday 26 October 23:30 EEST (20:30Z).
    assert deadline("2023-10-19T23:30:00+03:00", CAIRO) == datetime(2023, 10, 26, 20, 30, tzinfo=UTC)


def business_seconds(start: datetime, end: datetime, zone: ZoneInfo) -> float:
    """Brute force: the seconds of [start, end) that fall on a local Monday to Friday."""
    total = 0.0
    day = start.astimezone(zone).date()
    while (midnight := datetime(day.year, day.month, day.day, tzinfo=zone)) < end:
        after = day + timedelta(days=1)
        if day.weekday() < 5:
            lo = max(start, midnight)
            hi = min(end, datetime(after.year, after.month, after.day, tzinfo=zone))
            total += max(0.0, (hi - lo).total_seconds())
        day = after
    return total


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from([SHANGHAI, BERLIN]),  # every business day has 24 hours in these (Berlin changes on Sundays)
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    seconds=st.integers(min_value=0, max_value=14 * 86400),
)
def test_deadline_is_where_business_time_exceeds_five_days(zone: ZoneInfo, start: datetime, seconds: int) -> None:
    now = start + timedelta(seconds=seconds)
    assert (now > business_deadline(start, 5, zone)) == (business_seconds(start, now, zone) > 5 * 86400)


# -- timestamps of stored facts ------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "2026-11-05T09:00:00+08:00", "2026-11-05T01:00:00Z", "2026-11-05t01:00:00z", "2026-11-05 01:00:00Z",
    "2026-11-05T09:00:00.5+08:00", "2026-11-05T09:00:00.123+08:00", "2026-11-05T09:00:00.123456-05:30",
    "2026-11-05T09:00:00.123456789+00:00",
])
def test_a_stored_timestamp_reads_as_the_checked_parse(text: str) -> None:
    want = parse_timestamp(text)
    got = parse_stored_timestamp(text)
    assert (got, got.utcoffset(), got.microsecond) == (want, want.utcoffset(), want.microsecond)
    assert got.tzinfo is want.tzinfo  # kept timestamps share one tzinfo per offset
    once = parse_stored_timestamp(text, kept=False)
    assert (once, once.utcoffset()) == (want, want.utcoffset())


@pytest.mark.parametrize("text", [
    "2026-11-05T09:00:00", "2026-11-05", "20261105T090000Z", "2026-11-05T09:00:60Z", "yesterday", "", 20261105,
])
def test_a_stored_timestamp_the_checked_parse_rejects_is_rejected(text: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)
    with pytest.raises(ValueError):
        parse_stored_timestamp(text)
    with pytest.raises(ValueError):
        parse_stored_timestamp(text, kept=False)


# -- render helpers: fast comparisons and formatting must answer as the plain ones -------
FIXED_ZONES = st.sampled_from([timezone(timedelta(hours=h)) for h in (-5, 0, 8)])


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 1, 1)), FIXED_ZONES,
       st.sampled_from([SHANGHAI, BERLIN, CAIRO]), st.integers(0, 400 * 86_400))
def test_bounds_in_a_timestamps_zone_compare_as_the_bounds(wall: datetime, zone: timezone, bounds_zone: ZoneInfo,
                                                          width: int) -> None:
    ts = wall.replace(tzinfo=zone)
    lo = datetime(2026, 3, 29, tzinfo=bounds_zone)
    hi = lo + timedelta(seconds=width)
    zlo, zhi = bounds_in(lo, hi, ts.tzinfo)
    assert zlo.tzinfo is zone and zhi.tzinfo is zone  # a fixed offset: converted
    assert (zlo <= ts < zhi) == (lo <= ts < hi)
    # the same instants (subtraction: ``==`` never holds across zones for a wall time in a
    # gap, PEP 495, and 2026-03-29 02:00 does not exist in Berlin)
    assert (zlo - lo, zhi - hi) == (timedelta(0), timedelta(0))


#: Wall times around Berlin's clock changes of 2026-10-25 (a repeated hour) and 2027-03-28
#: (a skipped one), in minutes from 00:00 local, each with either fold.
AROUND_CHANGES = st.builds(lambda day, minutes, fold: (day + timedelta(minutes=minutes)).replace(fold=fold),
                           st.sampled_from([datetime(2026, 10, 25), datetime(2027, 3, 28)]),
                           st.integers(0, 6 * 60), st.integers(0, 1))


@settings(max_examples=200)
@given(st.lists(st.tuples(st.one_of(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 1)),
                                    AROUND_CHANGES),
                          st.sampled_from([timezone(timedelta(hours=h)) for h in (-5, 0, 8)] + [SHANGHAI, BERLIN])),
                min_size=1, max_size=8),
       st.sampled_from([SHANGHAI, BERLIN, UTC]), st.one_of(st.integers(0, 400 * 86_400), st.integers(0, 4 * 3600)),
       st.sampled_from([datetime(2026, 3, 29), datetime(2026, 10, 25, 0, 15), datetime(2027, 3, 28, 1, 30)]))
def test_an_instant_range_answers_as_the_plain_comparison_whatever_zones_come_in_turn(
        walls: list[tuple[datetime, ZoneInfo | timezone]], bounds_zone: ZoneInfo | timezone, width: int,
        start: datetime) -> None:
    lo = start.replace(tzinfo=bounds_zone)
    hi = lo + timedelta(seconds=width)
    times = [wall.replace(tzinfo=zone) for wall, zone in walls]
    span = InstantRange(lo, hi)
    assert [span.holds(ts) for ts in times] == [lo <= ts < hi for ts in times]
    assert span.holds_any(tuple(times)) == any(lo <= ts < hi for ts in times)
    assert span.holds_any(times[0]) == (lo <= times[0] < hi)


def test_bounds_in_a_zone_with_rules_or_none_are_the_bounds_themselves() -> None:
    lo, hi = datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)
    assert bounds_in(lo, hi, SHANGHAI) == (lo, hi) and bounds_in(lo, hi, SHANGHAI)[0].tzinfo is BERLIN
    assert bounds_in(lo, hi, None)[1].tzinfo is BERLIN


def test_format_timestamp_tells_the_two_instants_of_a_repeated_wall_time_apart() -> None:
    # 2026-10-25 02:30 happens twice in Berlin: 00:30 UTC (summer time), then 01:30 UTC.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert first == second  # the same tzinfo: wall times compare, the fold is ignored
    assert format_timestamp(first) == "2026-10-25T00:30:00.000Z"
    assert format_timestamp(second) == "2026-10-25T01:30:00.000Z"
    assert format_timestamp(first) == "2026-10-25T00:30:00.000Z"
    assert format_timestamp(datetime(2026, 11, 1, 0, 0, 0, 999_999, tzinfo=SHANGHAI)) == "2026-10-31T16:00:00.999Z"


def test_a_parsed_label_is_the_same_period_each_time_and_a_bad_one_still_fails() -> None:
    cal = Calendar("Asia/Shanghai")
    first = cal.parse("2026-Q4")
    assert cal.parse("2026-Q4") is first
    assert (first.start, first.end) == (datetime(2026, 10, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI))
    for _ in range(2):
        with pytest.raises(ValueError, match="malformed period"):
            cal.parse("2026-13")


def test_the_month_label_of_an_instant_is_its_local_month() -> None:
    cal = Calendar("Asia/Shanghai")  # UTC+8
    assert cal.month_label(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == "2026-11"
    assert cal.month_label(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == "2026-12"  # midnight in Shanghai
    assert cal.month_label(datetime(2026, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))) == "2027-01"
