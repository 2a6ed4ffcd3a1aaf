"""The book behind contact_coverage (core/book_counts.py; contract §5): distinct customers
with a won deal credited to the scope, closed in the 365 days before the window's end,
counted once and then kept as wins come and go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.book_counts import BookCounts, CoveredCounts, count_covered, held_within, scan_coverage

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
    assert held_within((at("2026-12-01T00:00:00+08:00"), at("2025-12-01T00:00:00+08:00")), lo, hi)  # = lo
    assert not held_within((at("2020-01-01T00:00:00+00:00"), at("2026-11-30T16:00:00+00:00")), lo, hi)  # = hi


def test_the_scan_counts_each_customer_once_whatever_its_offsets():
    wins = {
        "c1": at("2026-03-01T00:00:00+00:00"),
        "c2": (at("2026-02-01T00:00:00-05:00"), at("2026-04-01T00:00:00+08:00")),  # twice: once
        "c3": at("2024-01-01T00:00:00+00:00"),  # before the window
        "c4": at("2026-11-30T16:00:00+00:00"),  # = the end (midnight in UTC+8): outside
    }
    lo = NOV_END - timedelta(days=365)
    assert scan_coverage(wins, {}, lo, NOV_END) == (2, 0)
    # covered: in the book and contacted twice or more; c3 and c4 are not in the book
    assert scan_coverage(wins, {"c1": 2, "c2": 1, "c3": 5, "c4": 2}, lo, NOV_END) == (2, 1)
    assert scan_coverage(wins, {"c1": 3, "c2": 2, "x": 9}, lo, NOV_END) == (2, 2)


def test_covered_are_the_customers_in_the_book_contacted_twice_read_from_either_side():
    wins = {
        "c1": at("2026-03-01T00:00:00+00:00"),
        "c2": (at("2024-02-01T00:00:00-05:00"), at("2026-04-01T00:00:00+08:00")),  # the second in the window
        "c3": at("2024-01-01T00:00:00+00:00"),  # before the window
        "c4": at("2026-11-30T16:00:00+00:00"),  # = the end: outside
    }
    lo = NOV_END - timedelta(days=365)
    # fewer contacts than wins: the contacts are read, each looked up in the wins
    assert count_covered(wins, {"c1": 2, "c4": 3}, lo, NOV_END) == 1
    # more contacts than wins: the wins are read, each looked up in the contacts
    contacts = {"c1": 2, "c2": 5, "c3": 2, "c4": 2, "x": 7, "y": 2}
    assert count_covered(wins, contacts, lo, NOV_END) == 2
    assert count_covered(wins, {"c1": 1, "c2": 1, "x": 2, "y": 2, "z": 2}, lo, NOV_END) == 0
    assert count_covered({}, contacts, lo, NOV_END) == 0


OFFSETS = st.sampled_from([UTC, UTC8, timezone(timedelta(hours=-5))])
INSTANTS = st.builds(lambda days, zone: (NOV_END - timedelta(days=days)).astimezone(zone),
                     st.integers(min_value=-30, max_value=400), OFFSETS)
CUSTOMERS = st.sampled_from([f"c{i}" for i in range(12)])


@given(wins=st.dictionaries(CUSTOMERS, st.lists(INSTANTS, min_size=1, max_size=3)),
       contacts=st.dictionaries(CUSTOMERS, st.integers(min_value=1, max_value=4)))
def test_covered_matches_its_definition_and_the_scan(wins, contacts):
    held = {c: times[0] if len(times) == 1 else tuple(times) for c, times in wins.items()}
    lo = NOV_END - timedelta(days=365)
    expected = sum(1 for c, times in wins.items()
                   if contacts.get(c, 0) >= 2 and any(lo <= ts < NOV_END for ts in times))
    assert count_covered(held, contacts, lo, NOV_END) == expected
    assert scan_coverage(held, contacts, lo, NOV_END)[1] == expected


def test_a_kept_book_moves_with_the_wins_whose_time_is_in_its_window():
    books = BookCounts()
    assert books.get(REP, NOV_END) is None
    books.put(REP, NOV_END, 1)  # c1, won on 10 November
    books.put(REP, OCT_END, 0)
    c1 = at("2026-11-10T00:00:00+08:00")
    # a new customer won on 15 November: November's book grows, October's does not
    c2 = at("2026-11-15T09:00:00+08:00")
    books.changed(REP, c2, None, c2)
    assert (books.get(REP, NOV_END), books.get(REP, OCT_END)) == (2, 0)
    # c1 won a second time in October: c1 enters October's book, November's stays at 2
    second = at("2026-10-20T00:00:00+08:00")
    books.changed(REP, second, c1, (c1, second))
    assert (books.get(REP, NOV_END), books.get(REP, OCT_END)) == (2, 1)
    # the November win of c1 is retracted: c1 stays in November's book through October's win
    books.changed(REP, c1, (c1, second), second)
    assert (books.get(REP, NOV_END), books.get(REP, OCT_END)) == (2, 1)
    # c2's only win is retracted: it leaves November's book
    books.changed(REP, c2, c2, None)
    assert (books.get(REP, NOV_END), books.get(REP, OCT_END)) == (1, 1)


def test_a_change_reaches_only_its_own_scope_and_the_books_kept():
    books = BookCounts()
    books.put(REP, NOV_END, 0)
    books.put(("team", "t1"), NOV_END, 0)
    ts = at("2026-11-15T09:00:00+08:00")
    books.changed(REP, ts, None, ts)
    books.changed(("team", "t2"), ts, None, ts)  # no book kept for t2: nothing to move
    assert books.get(REP, NOV_END) == 1
    assert books.get(("team", "t1"), NOV_END) == 0
    assert books.get(("team", "t2"), NOV_END) is None


def test_a_customer_won_twice_at_the_same_time_stays_until_both_are_retracted():
    books = BookCounts()
    books.put(REP, NOV_END, 0)
    ts = at("2026-11-15T09:00:00+08:00")
    same = at("2026-11-15T01:00:00+00:00")  # the same instant, another offset
    books.changed(REP, ts, None, ts)
    books.changed(REP, same, ts, (ts, same))
    assert books.get(REP, NOV_END) == 1
    books.changed(REP, ts, (ts, same), same)
    assert books.get(REP, NOV_END) == 1
    books.changed(REP, same, same, None)
    assert books.get(REP, NOV_END) == 0


def test_kept_covered_customers_move_with_contacts_crossing_two_and_wins_in_the_window():
    covered = CoveredCounts()
    covered.put(REP, "2026-11", NOV_END, 1)  # c1: won on 10 November, called twice
    c1, c2 = at("2026-11-10T00:00:00+08:00"), at("2026-11-15T09:00:00+08:00")
    def twice(month: str) -> int:  # the won customer's calls in the month
        return 2

    def once(month: str) -> int:
        return 1

    # c2 is won: it was called twice, so it is covered now; a win outside the window, or
    # of a customer called once, is not
    covered.won(REP, c2, None, c2, twice)
    covered.won(REP, at("2024-01-01T00:00:00+08:00"), None, at("2024-01-01T00:00:00+08:00"), twice)
    covered.won(REP, c2, None, c2, once)
    assert covered.get(REP, "2026-11") == 2
    # c1's calls fall below two, and come back
    covered.contacted(REP, "2026-11", False, c1)
    assert covered.get(REP, "2026-11") == 1
    covered.contacted(REP, "2026-11", True, c1)
    # a customer never won there, or won outside the window, does not count
    covered.contacted(REP, "2026-11", True, None)
    covered.contacted(REP, "2026-11", True, at("2025-11-30T23:00:00+08:00"))
    assert covered.get(REP, "2026-11") == 2
    # c2's only win is retracted; a second win of c1 changes nothing (it stays in the window)
    covered.won(REP, c2, c2, None, twice)
    covered.won(REP, c2, c1, (c1, c2), twice)
    assert covered.get(REP, "2026-11") == 1
    # a month not kept, and a scope not kept, are not moved
    covered.contacted(REP, "2026-10", True, c1)
    covered.won(("team", "t9"), c2, None, c2, twice)
    assert (covered.get(REP, "2026-10"), covered.get(("team", "t9"), "2026-11")) == (None, None)


#: Month ends from August 2025 to January 2027 in Berlin, in summer and in winter time, as
#: the engine's calendar gives them; kept books are put in any order.
BERLIN = ZoneInfo("Europe/Berlin")
MONTH_ENDS = [datetime(2025 + (7 + k) // 12, (7 + k) % 12 + 1, 1, tzinfo=BERLIN) for k in range(18)]
YEAR_BEFORE = timedelta(days=365)
CHANGES = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(min_value=0, max_value=len(MONTH_ENDS) - 1)),
    st.tuples(st.just("win"), CUSTOMERS, st.integers(min_value=-60, max_value=560), OFFSETS),
    # a win exactly at a month's end or at the start of the year before it
    st.tuples(st.just("edge"), CUSTOMERS, st.integers(min_value=0, max_value=len(MONTH_ENDS) - 1), st.booleans(),
              OFFSETS),
    st.tuples(st.just("retract"), CUSTOMERS, st.integers(min_value=0, max_value=5)),
), max_size=40)


def _held(times: list[datetime]) -> datetime | tuple[datetime, ...] | None:
    return None if not times else times[0] if len(times) == 1 else tuple(times)


@given(changes=CHANGES, contacts=st.dictionaries(CUSTOMERS, st.integers(min_value=0, max_value=3)))
def test_kept_books_and_covered_counts_follow_every_win_change_whatever_order_they_were_put_in(changes, contacts):
    """After each change, every kept book and covered count is what a count from scratch
    gives: the moves read the kept ends newest first and stop at the first end before the
    change, so they rely on the ends being kept in order however they were put."""
    books, covered, times = BookCounts(), CoveredCounts(), {c: [] for c in [f"c{i}" for i in range(12)]}
    kept: set[datetime] = set()

    def month_of(end: datetime) -> str:  # the month ending at ``end``
        last = end - timedelta(days=1)
        return f"{last.year:04d}-{last.month:02d}"

    def recount(end: datetime) -> tuple[int, int]:
        lo = end - YEAR_BEFORE
        book = [c for c, held in times.items() if any(lo <= ts < end for ts in held)]
        return len(book), sum(1 for c in book if contacts.get(c, 0) >= 2)

    for change in changes:
        if change[0] == "put":
            end = MONTH_ENDS[change[1]]
            if end not in kept:
                kept.add(end)
                book, cov = recount(end)
                books.put(REP, end, book)
                covered.put(REP, month_of(end), end, cov)
        else:
            customer = change[1]
            old = _held(times[customer])
            if change[0] in ("win", "edge"):
                if change[0] == "win":
                    ts = (NOV_END - timedelta(days=change[2])).astimezone(change[3])
                else:
                    end = MONTH_ENDS[change[2]]
                    ts = (end if change[3] else end - YEAR_BEFORE).astimezone(change[4])
                times[customer].append(ts)
                sign_ts = ts
            elif times[customer]:
                sign_ts = times[customer].pop(change[2] % len(times[customer]))
            else:
                continue
            new = _held(times[customer])
            books.changed(REP, sign_ts, old, new)
            covered.won(REP, sign_ts, old, new, lambda month, c=customer: contacts.get(c, 0))
        for end in kept:
            assert (books.get(REP, end), covered.get(REP, month_of(end))) == recount(end)


def test_a_win_at_a_kept_end_or_at_the_start_of_its_year_moves_only_the_books_holding_it():
    books, covered = BookCounts(), CoveredCounts()
    for k in (9, 2, 14, 5):  # put out of order, as a first render of an earlier month does
        books.put(REP, MONTH_ENDS[k], 0)
        covered.put(REP, f"m{k:02d}", MONTH_ENDS[k], 0)
    end = MONTH_ENDS[9]
    at_end, at_start = end.astimezone(UTC), (end - YEAR_BEFORE).astimezone(UTC8)

    def twice(month: str) -> int:
        return 2

    # at the end itself: outside its year (and outside every earlier end's)
    books.changed(REP, at_end, None, at_end)
    covered.won(REP, at_end, None, at_end, twice)
    assert [books.get(REP, MONTH_ENDS[k]) for k in (2, 5, 9, 14)] == [0, 0, 0, 1]
    assert covered.get(REP, "m09") == 0 and covered.get(REP, "m14") == 1
    books.changed(REP, at_end, at_end, None)
    covered.won(REP, at_end, at_end, None, twice)
    # at the first instant of its year: inside it, and inside the years of the earlier ends
    books.changed(REP, at_start, None, at_start)
    covered.won(REP, at_start, None, at_start, twice)
    assert [books.get(REP, MONTH_ENDS[k]) for k in (2, 5, 9, 14)] == [1, 1, 1, 0]
    assert covered.get(REP, "m09") == 1 and covered.get(REP, "m14") == 0
