"""``streams.fetch_pacing``: the bytes a fetch asks for, from the records taken per second."""

from __future__ import annotations

from sales_scorecard.streams.fetch_pacing import AT_ONCE, FetchPacing

FILL = 32768


def test_a_trickle_is_answered_at_once_and_a_load_waits_for_a_fill() -> None:
    pacing = FetchPacing(fill_bytes=FILL, fill_above=500)
    assert pacing.min_bytes == FILL  # a fill until a window says otherwise (recovery reads a backlog)
    assert pacing.took(40, 0.0) == FILL
    assert pacing.took(60, 0.5) == FILL  # the window is not over
    assert pacing.took(100, 1.0) == AT_ONCE == pacing.min_bytes  # 200 records in 1 s, under 250
    assert pacing.took(300, 1.5) == AT_ONCE
    assert pacing.took(300, 2.0) == FILL == pacing.min_bytes  # 600 records in 1 s
    assert pacing.took(0, 3.0) == AT_ONCE  # nothing taken for a second


def test_between_half_and_the_line_the_choice_stays() -> None:
    pacing = FetchPacing(fill_bytes=FILL, fill_above=500)
    pacing.took(0, 0.0)
    assert pacing.took(250, 1.0) == FILL  # 250 a second, half of the line: stays a fill
    assert pacing.took(249, 2.0) == AT_ONCE  # under half
    assert pacing.took(499, 3.0) == AT_ONCE  # 499 a second: stays at once
    assert pacing.took(500, 4.0) == FILL


def test_the_rate_is_over_the_time_the_window_really_took() -> None:
    pacing = FetchPacing(fill_bytes=4096, fill_above=500)
    pacing.took(0, 10.0)
    assert pacing.took(600, 13.0) == AT_ONCE  # 200 a second over the 3 s since the window began, not 600
    pacing = FetchPacing(fill_bytes=4096, fill_above=500, window_seconds=0.5)
    pacing.took(0, 0.0)
    assert pacing.took(199, 0.4) == 4096  # 0.4 s: the window is not over
    assert pacing.took(1, 0.5) == 4096  # 200 in 0.5 s is 400 a second: stays a fill


def test_a_worker_holding_no_counted_partition_waits_for_the_fill() -> None:
    pacing = FetchPacing(fill_bytes=FILL, fill_above=500)
    pacing.took(0, 0.0)
    assert pacing.took(0, 1.0) == AT_ONCE
    assert pacing.took(0, 1.5, holds_paced=False) == FILL  # its rate of them says nothing of its load
    assert pacing.took(0, 2.0) == FILL  # a new window begins when it holds some again
    assert pacing.took(100, 3.0) == AT_ONCE


def test_a_line_of_zero_always_waits_for_the_fill() -> None:
    pacing = FetchPacing(fill_bytes=FILL, fill_above=0)
    assert [pacing.took(0, t) for t in (0.0, 1.0, 5.0, 60.0)] == [FILL] * 4
