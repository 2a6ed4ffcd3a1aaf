"""Ranking: ties share a rank, the next rank skips, rep_id orders a tie (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal as D

from sales_scorecard.core.leaderboard import rank


def test_ties_share_and_skip() -> None:
    rows = [("r3", D("5")), ("r1", D("9")), ("r2", D("9")), ("r4", None), ("r5", D("1"))]
    assert [(r.rank, r.rep_id) for r in rank(rows)] == [(1, "r1"), (1, "r2"), (3, "r3"), (4, "r5")]


def test_ascending_and_empty() -> None:
    assert [(r.rank, r.rep_id) for r in rank([("b", 2), ("a", 2), ("c", 1)], descending=False)] == [
        (1, "c"), (2, "a"), (2, "b")]
    assert rank([]) == []
