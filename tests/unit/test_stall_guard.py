"""The stall guard's detector (``streams.stall_guard.StallDetector``): which partitions
count as stalled, and when."""

from __future__ import annotations

from sales_scorecard.streams.stall_guard import CHECK_SECONDS, CHECKS, Progress, StallDetector

STUCK = Progress(committed=158, read=2025, highwater=2026)  # the run that found it
DONE = Progress(committed=2026, read=2025, highwater=2026)
NEVER_READ = Progress(committed=None, read=None, highwater=353)


def observe(detector: StallDetector, progress: dict, times: int, idle: bool = True) -> list[list]:
    return [detector.observe(progress, idle) for _ in range(times)]


def test_a_behind_partition_is_reported_on_the_last_of_the_identical_idle_checks() -> None:
    detector = StallDetector(checks=4)
    assert observe(detector, {"a": STUCK, "b": DONE}, 4) == [[], [], [], ["a"]]


def test_a_stuck_state_is_reported_once_and_again_only_after_it_changed() -> None:
    detector = StallDetector(checks=2)
    assert observe(detector, {"a": STUCK}, 5) == [[], ["a"], [], [], []]
    moved = Progress(committed=300, read=2025, highwater=2026)
    assert observe(detector, {"a": moved}, 2) == [[], ["a"]]


def test_progress_or_work_in_the_queues_restarts_the_count() -> None:
    detector = StallDetector(checks=3)
    assert observe(detector, {"a": NEVER_READ}, 2) == [[], []]
    assert detector.observe({"a": Progress(committed=5, read=4, highwater=353)}, True) == []
    assert observe(detector, {"a": Progress(committed=5, read=4, highwater=353)}, 2) == [[], ["a"]]
    detector = StallDetector(checks=3)
    assert observe(detector, {"a": NEVER_READ}, 2) == [[], []]
    assert detector.observe({"a": NEVER_READ}, idle=False) == []
    assert observe(detector, {"a": NEVER_READ}, 3) == [[], [], ["a"]]


def test_caught_up_or_unknown_partitions_are_never_stalled() -> None:
    detector = StallDetector(checks=1)
    empty = Progress(committed=None, read=None, highwater=0)
    unknown = Progress(committed=None, read=None, highwater=None)
    assert observe(detector, {"done": DONE, "empty": empty, "unknown": unknown}, 3) == [[], [], []]


def test_reset_forgets_streaks_and_reports() -> None:
    detector = StallDetector(checks=2)
    assert observe(detector, {"a": STUCK}, 2) == [[], ["a"]]
    detector.reset()
    assert observe(detector, {"a": STUCK}, 2) == [[], ["a"]]


def test_a_partition_that_left_the_assignment_is_forgotten() -> None:
    detector = StallDetector(checks=2)
    assert observe(detector, {"a": STUCK}, 2) == [[], ["a"]]
    assert detector.observe({}, True) == []
    assert observe(detector, {"a": STUCK}, 2) == [[], ["a"]]


def test_the_default_window_is_far_above_the_commit_interval() -> None:
    assert CHECK_SECONDS * CHECKS >= 60
