"""Ranking: ties share a rank, the next rank skips, rep_id orders a tie (contract §6)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.leaderboard import RankedRow, rank, ranking_changed

Row = tuple[str, D | int | None]


@pytest.mark.parametrize("rows,descending,expected", [
    pytest.param([("r3", D("5")), ("r1", D("9")), ("r2", D("9")), ("r4", None), ("r5", D("1"))], True,
                 [(1, "r1"), (1, "r2"), (3, "r3"), (4, "r5")], id="tie-shares-and-skips"),
    pytest.param([("b", 2), ("a", 2), ("c", 1)], False, [(1, "c"), (2, "a"), (2, "b")], id="ascending"),
    pytest.param([("b", 7), ("c", 7), ("a", 7)], True, [(1, "a"), (1, "b"), (1, "c")], id="all-tied"),
    pytest.param([("x", D("1.0")), ("w", 1), ("y", D("0.99"))], True, [(1, "w"), (1, "x"), (3, "y")],
                 id="equal-values-of-mixed-types-tie"),
    pytest.param([("a", D("-0.5")), ("b", D("0"))], True, [(1, "b"), (2, "a")], id="negative-values"),
    pytest.param([("a", None), ("b", None)], True, [], id="all-null"),
    pytest.param([], True, [], id="empty"),
])
def test_rank_table(rows: list[Row], descending: bool, expected: list[tuple[int, str]]) -> None:
    assert [(r.rank, r.rep_id) for r in rank(rows, descending=descending)] == expected


def test_rows_keep_their_values_and_accept_generators() -> None:
    ranked = rank((f"r{i}", D(i)) for i in range(3))
    assert ranked == [RankedRow(1, "r2", D(2)), RankedRow(2, "r1", D(1)), RankedRow(3, "r0", D(0))]


rows_strategy = st.lists(
    st.tuples(st.text("abcdef", min_size=1, max_size=3), st.none() | st.integers(-3, 3).map(D)),
    unique_by=lambda r: r[0], max_size=20,
)


@given(rows_strategy, st.booleans())
def test_rank_is_one_plus_the_number_strictly_better(rows: list[Row], descending: bool) -> None:
    ranked = rank(rows, descending=descending)
    present = [(rep, v) for rep, v in rows if v is not None]
    assert sorted(r.rep_id for r in ranked) == sorted(rep for rep, _ in present)
    for r in ranked:
        better = [v for _, v in present if (v > r.value if descending else v < r.value)]  # type: ignore[operator]  # ranked: not None
        assert r.rank == 1 + len(better)
    # Listed best first; within a tie by rep_id.
    assert [(r.rank, r.rep_id) for r in ranked] == sorted((r.rank, r.rep_id) for r in ranked)


def test_ranking_changed() -> None:
    base = rank([("a", D(3)), ("b", D(2))])
    assert not ranking_changed(base, rank([("b", D(2)), ("a", D(3))]))
    assert ranking_changed(base, rank([("a", D(3)), ("b", D(1))]))  # same order, new value
    assert ranking_changed(base, rank([("a", D(2)), ("b", D(3))]))  # swapped
    assert ranking_changed(base, rank([("a", D(3)), ("b", D(2)), ("c", D(1))]))  # a new row
    assert ranking_changed(base, rank([("a", D(3)), ("b", D(3))]))  # a new tie
    assert not ranking_changed([], rank([("a", None)]))
