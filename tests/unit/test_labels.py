"""Period label arithmetic: which scorecards a contribution can change."""

from __future__ import annotations

from sales_scorecard.core.labels import touched_by


def test_a_contribution_touches_its_periods_the_next_ones_and_a_year_later() -> None:
    assert set(touched_by("2026-11", coverage=False)) == {
        "2026-11", "2026-Q4", "2026",   # its own periods
        "2026-12", "2027-Q1", "2027",   # the next ones (growth over the previous period)
        "2027-11", "2027-Q4",           # a year later (growth over the year before)
    }


def test_a_win_also_touches_the_twelve_months_of_its_coverage_book() -> None:
    touched = set(touched_by("2026-11", coverage=True))
    assert touched - set(touched_by("2026-11", coverage=False)) == {
        "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06",
        "2027-07", "2027-08", "2027-09", "2027-10",
    }  # 2026-12 and 2027-11 are touched anyway
    assert len(touched) == 18
