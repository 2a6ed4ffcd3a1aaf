"""DirtyKeys: a set of scorecard keys kept apart by period kind."""

from __future__ import annotations

from sales_scorecard.core.dirty_keys import DirtyKeys, KeyQueue
from sales_scorecard.core.labels import touched_by, touched_by_kind


def test_months_and_longer_periods_are_kept_apart_and_read_as_one_set() -> None:
    keys = DirtyKeys([("rep", "r1", "2026-11"), ("rep", "r1", "2026-Q4"), ("rep", "r1", "2026")])
    keys.add(("rep", "r1", "R30D"))
    keys.add(("rep", "r1", "2026-11"))  # already marked
    assert keys.months == {("rep", "r1", "2026-11")}
    assert keys.longer == {("rep", "r1", "2026-Q4"), ("rep", "r1", "2026"), ("rep", "r1", "R30D")}
    assert len(keys) == 4 and ("rep", "r1", "2026") in keys and ("rep", "r2", "2026") not in keys
    assert set(keys) == keys.months | keys.longer
    keys.discard_all([("rep", "r1", "2026-11"), ("rep", "r1", "2026"), ("team", "t1", "2026-11")])
    assert not keys.months and len(keys) == 2 and keys
    keys.discard_all(list(keys))
    assert not keys


def test_touched_by_kind_splits_touched_by() -> None:
    months, longer = touched_by_kind("2026-11", coverage=False)
    # worked by hand: the month, the next, a year later; the quarter, the next, a year
    # later; the year and the next
    assert months == ("2026-11", "2026-12", "2027-11")
    assert longer == ("2026", "2026-Q4", "2027", "2027-Q1", "2027-Q4")
    assert set(months) | set(longer) == set(touched_by("2026-11", coverage=False))


NOVEMBER = {("rep", "r1", label) for label in ("2026-11", "2026-12", "2027-11")}
NOVEMBER_LONGER = {("rep", "r1", label) for label in ("2026", "2026-Q4", "2027", "2027-Q1", "2027-Q4", "R30D", "R90D")}


def test_a_contribution_marks_its_periods_and_trailing_windows_again_once_they_were_taken() -> None:
    keys = DirtyKeys()
    keys.mark_contribution("rep", "r1", "2026-11", coverage=False)
    assert keys.months == NOVEMBER and keys.longer == NOVEMBER_LONGER
    # the months taken (a leading-edge flush): the next contribution marks them again,
    # the longer keys are still marked
    keys.keep(set())
    keys.mark_contribution("rep", "r1", "2026-11", coverage=False)
    assert keys.months == NOVEMBER and keys.longer == NOVEMBER_LONGER
    keys.keep(set(), set())
    keys.mark_contribution("rep", "r1", "2026-11", coverage=False)
    assert keys.months == NOVEMBER and keys.longer == NOVEMBER_LONGER
    keys.drop_months([("rep", "r1", "2027-11")])  # no such scorecard yet
    keys.mark_contribution("rep", "r1", "2026-11", coverage=False)
    assert keys.months == NOVEMBER and keys.longer == NOVEMBER_LONGER
    keys.discard_all([("rep", "r1", "R30D"), ("rep", "r1", "2026-12")])
    keys.mark_contribution("rep", "r1", "2026-11", coverage=False)
    assert keys.months == NOVEMBER and keys.longer == NOVEMBER_LONGER
    # another rep, and the rep's team, of the same month: marked on their own
    keys.mark_contribution("rep", "r2", "2026-11", coverage=False)
    keys.mark_contribution("team", "r1", "2026-11", coverage=False)
    assert ("rep", "r2", "2026-11") in keys.months and ("team", "r1", "R90D") in keys.longer
    assert len(keys.months) == 3 * len(NOVEMBER) and len(keys.longer) == 3 * len(NOVEMBER_LONGER)
    # with coverage: the month and the twelve after it (2027-11 among them)
    keys.mark_contribution("rep", "r1", "2026-11", coverage=True)
    r1_months = {key for key in keys.months if key[:2] == ("rep", "r1")}
    assert len(r1_months) == 13 and ("rep", "r1", "2027-10") in r1_months


def test_a_key_queue_hands_keys_out_first_in_first_out_each_once() -> None:
    queue = KeyQueue()
    queue.extend([("rep", "r1", "2026"), ("rep", "r2", "2026"), ("rep", "r1", "2026")])  # the repeat keeps its place
    queue.extend([("team", "t1", "2026")])
    assert len(queue) == 3 and ("rep", "r2", "2026") in queue
    assert queue.take(2) == [("rep", "r1", "2026"), ("rep", "r2", "2026")]
    assert ("rep", "r1", "2026") not in queue and list(queue) == [("team", "t1", "2026")]
    queue.extend([("rep", "r1", "2026")])  # given back: to the back
    assert queue.take(5) == [("team", "t1", "2026"), ("rep", "r1", "2026")]
    assert not queue and queue.take(1) == []
