"""Ranking: ties share a rank, the next rank skips, rep_id orders a tie (contract §6)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.boards import BoardCache
from sales_scorecard.core.leaderboard import RankedRow, percentile, rank, ranking_changed

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


# -- percentiles (contract §11) ------------------------------------------------------------

@pytest.mark.parametrize("rank_,ranked,top_percent,top_decile", [
    (1, 1, 100.0, True),    # a board of one: ceil(0.1) = 1
    (1, 9, 11.1, True),     # 100/9 = 11.11..; ceil(0.9) = 1
    (2, 9, 22.2, False),
    (9, 9, 100.0, False),
    (1, 10, 10.0, True),    # ceil(1.0) = 1
    (2, 10, 20.0, False),
    (1, 11, 9.1, True),     # 9.09..; ceil(1.1) = 2
    (2, 11, 18.2, True),    # 18.18..
    (3, 11, 27.3, False),   # 27.27..
    (1, 16, 6.3, True),     # 6.25 rounds half-up, not to even
    (2, 3, 66.7, False),
])
def test_percentile(rank_: int, ranked: int, top_percent: float, top_decile: bool) -> None:
    assert percentile(rank_, ranked) == {"top_percent": top_percent, "top_decile": top_decile}


def test_tied_reps_share_a_percentile_and_a_tie_at_the_line_is_all_in() -> None:
    # 11 ranked: the top decile is ranks <= 2; three reps tie for 2nd, so four reps are in it.
    rows = [("a", 90)] + [(r, 80) for r in ("b", "c", "d")] + [(f"z{i}", 70 - i) for i in range(7)]
    cache = BoardCache()
    for rep, score in rows:
        cache.update({"scope": "rep", "id": rep, "period": "2026-11", "team_id": "t1", "score": str(score),
                      "kpis": {"revenue": "1.00", "attainment": None, "weighted_attainment": None}})
    board = cache.board("company", "2026-11", "score")
    assert [(r["rep_id"], r["rank"], r["top_percent"], r["top_decile"]) for r in board[:6]] == [
        ("a", 1, 9.1, True), ("b", 2, 18.2, True), ("c", 2, 18.2, True), ("d", 2, 18.2, True),
        ("z0", 5, 45.5, False), ("z1", 6, 54.5, False)]  # 100*5/11 = 45.45.., 100*6/11 = 54.54..
    # attainment is null for everyone: nobody is ranked on it, so no row and no division by 0
    assert cache.board("company", "2026-11", "attainment") == []
    # a row limit does not change the denominator: the board still ranks 11
    assert cache.board("company", "2026-11", "score", limit=1)[0]["top_percent"] == 9.1
