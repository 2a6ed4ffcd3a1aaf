"""The book behind contact_coverage (core/book_counts.py; contract §5): distinct customers
with a won deal credited to the scope, closed in the 365 days before the window's end,
counted once and then kept as wins come and go."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sales_scorecard.core.book_counts import BookCounts, held_within, scan_book

UTC8 = timezone(timedelta(hours=8))
#: The end of November 2026 in UTC+8; its book's window starts 2025-11-30T16:00Z.
NOV_END = datetime(2026, 12, 1, tzinfo=UTC8)
OCT_END = datetime(2026, 11, 1, tzinfo=UTC8)
REP = ("rep", "r1")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_close_time_counts_from_the_windows_first_instant_up_to_its_end():
    lo, hi = NOV_END - timedelta(days=365), NOV_END
    assert held_within(at("2025-12-01T00:00:00+08:00"), lo, hi)  # = lo
    assert not held_within(at("2025-11-30T23:59:59+08:00"), lo, hi)
    assert held_within(at("2026-11-30T15:59:59+00:00"), lo, hi)  # one second before the end, in UTC
    assert not held_within(at("2026-12-01T00:00:00+08:00"), lo, hi)  # = hi
    assert held_within((at("2020-01-01T00:00:00+00:00"), at("2026-06-01T00:00:00+00:00")), lo, hi)
    assert not held_within((at("2020-01-01T00:00:00+00:00"), at("2027-01-01T00:00:00+00:00")), lo, hi)


def test_the_scan_counts_each_customer_once_whatever_its_offsets():
    wins = {
        "c1": at("2026-03-01T00:00:00+00:00"),
        "c2": (at("2026-02-01T00:00:00-05:00"), at("2026-04-01T00:00:00+08:00")),  # twice: once
        "c3": at("2024-01-01T00:00:00+00:00"),  # before the window
        "c4": at("2026-11-30T16:00:00+00:00"),  # = the end (midnight in UTC+8): outside
    }
    assert scan_book(wins, NOV_END - timedelta(days=365), NOV_END) == 2


def test_a_count_is_scanned_once_then_kept_as_wins_change():
    books = BookCounts()
    wins: dict[str, datetime | tuple[datetime, ...]] = {"c1": at("2026-11-10T00:00:00+08:00")}
    assert books.count(REP, NOV_END, wins) == 1
    assert books.count(REP, OCT_END, wins) == 0
    # a new customer won on 15 November: November's book grows, October's does not
    ts = at("2026-11-15T09:00:00+08:00")
    wins["c2"] = ts
    books.changed(REP, ts, None, ts)
    assert books.count(REP, NOV_END, {}) == 2  # kept: the wins given are not read again
    assert books.count(REP, OCT_END, {}) == 0
    # c1 won a second time in October: c1 enters October's book, November's stays at 2
    second = at("2026-10-20T00:00:00+08:00")
    old, wins["c1"] = wins["c1"], (wins["c1"], second)
    books.changed(REP, second, old, wins["c1"])
    assert books.count(REP, NOV_END, {}) == 2
    assert books.count(REP, OCT_END, {}) == 1
    # the November win of c1 is retracted: c1 stays in November's book through October's win
    retracted = at("2026-11-10T00:00:00+08:00")
    books.changed(REP, retracted, wins["c1"], second)
    assert books.count(REP, NOV_END, {}) == 2
    assert books.count(REP, OCT_END, {}) == 1
    # c2's only win is retracted: it leaves November's book
    books.changed(REP, ts, ts, None)
    assert books.count(REP, NOV_END, {}) == 1


def test_a_change_reaches_only_its_own_scope():
    books = BookCounts()
    books.count(REP, NOV_END, {})
    books.count(("team", "t1"), NOV_END, {})
    ts = at("2026-11-15T09:00:00+08:00")
    books.changed(REP, ts, None, ts)
    assert books.count(REP, NOV_END, {}) == 1
    assert books.count(("team", "t1"), NOV_END, {}) == 0
