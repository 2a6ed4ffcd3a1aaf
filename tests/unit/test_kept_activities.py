"""What the engine keeps of a rep's activities: each time read back as given, figures shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sales_scorecard.core.kept_activities import (
    ActivityFact,
    FigureBook,
    KeptActivities,
    from_wall_micros,
    wall_micros,
)

_TIMES = [
    datetime(2026, 11, 5, 10, 0, tzinfo=timezone(timedelta(hours=8))),
    datetime(2026, 11, 5, 2, 0, 0, 123456, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(1900, 1, 1, tzinfo=UTC),
    datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=14))),
    # the second 01:30 of the autumn fold in New York (fold=1: another instant than fold=0)
    datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
    datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
]


@pytest.mark.parametrize("ts", _TIMES, ids=str)
def test_a_time_reads_back_as_the_very_datetime_given(ts: datetime) -> None:
    back = from_wall_micros(wall_micros(ts), ts.tzinfo)
    assert back == ts and back.tzinfo is ts.tzinfo and back.fold == ts.fold
    assert back.isoformat() == ts.isoformat() and back.utcoffset() == ts.utcoffset()
    assert back.astimezone(UTC) == ts.astimezone(UTC)


def test_equal_figures_are_one_tuple() -> None:
    book = FigureBook()
    zone = timezone(timedelta(hours=8))
    first = book.shared(("call", "c1", None, "t1", zone))
    assert book.shared(("call", "c1", None, "t1", timezone(timedelta(hours=8)))) is first
    assert book.shared(("call", "c2", None, "t1", zone)) is not first
    assert len(book) == 2


def test_kept_activities_read_back_in_the_order_applied() -> None:
    kept = KeptActivities()
    east, west = timezone(timedelta(hours=8)), timezone(timedelta(hours=-7))
    at_east = datetime(2026, 11, 5, 10, 0, tzinfo=east)
    at_west = datetime(2026, 11, 4, 19, 0, 0, 5, tzinfo=west)
    kept.append(at_east, ("call", "c1", None, "t1", east))
    kept.append(at_west, ("survey", None, 4, "t1", west))
    assert len(kept) == 2 and kept.ts(1) == at_west and kept.ts(1).tzinfo is west
    kept.set_figures(0, ("call", "c1", None, "t2", east))
    assert list(kept.facts()) == [ActivityFact(at_east, "call", "c1", None, "t2"),
                                  ActivityFact(at_west, "survey", None, 4, "t1")]
    assert [a.ts.isoformat() for a in kept.facts()] == ["2026-11-05T10:00:00+08:00",
                                                        "2026-11-04T19:00:00.000005-07:00"]
