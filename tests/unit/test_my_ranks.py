"""The ranks My scorecard shows (contract §13), looked up in the board cache: a hand-worked
board of a few reps with ties (contract §6: ties share a rank, the next rank skips; no value,
no rank) and percentiles (contract §11: top_percent = 100 × rank / ranked, half-up to one
decimal; top_decile = rank ≤ ⌈ranked / 10⌉).

November (2026-11):

    rep  team  score  revenue
    a    t1    80     500.00
    b    t1    90     500.00
    c    t2    80     300.00
    d    t1    70     700.00
    e    t2    —      300.00

Company by score: b 1; a, c tie 2; d 4 (e has no score: 4 ranked). By revenue: d 1; a, b
tie 2; c, e tie 4 (5 ranked). Team t1 by score: b 1, a 2, d 3; by revenue: d 1, a and b 2.
Team t2 by score: c 1 (1 ranked); by revenue: c and e tie 1 (2 ranked).

October (2026-10): a 95 / 100.00 in team t2 (it moved to t1 in November), b 50 / 100.00 in
t1, c 60 / 200.00 in t2; d and e have no October scorecard. Company by score: a 1, c 2,
b 3; by revenue: c 1, a and b 2. Team t1: b 1 by both. Team t2 by score a 1, c 2.
"""

from __future__ import annotations

from typing import Any

import pytest

from sales_scorecard.core.boards import BoardCache
from sales_scorecard.core.leaderboard import RankIndex, Standing
from sales_scorecard.core.my_ranks import my_ranks

NOV, OCT = "2026-11", "2026-10"


def content(rep: str, period: str, team: str, score: str | None, revenue: str) -> dict[str, Any]:
    return {"scope": "rep", "id": rep, "period": period, "team_id": team, "score": score,
            "kpis": {"revenue": revenue, "attainment": None, "weighted_attainment": None}}


@pytest.fixture
def cache() -> BoardCache:
    cache = BoardCache()
    for row in [("a", NOV, "t1", "80", "500.00"), ("b", NOV, "t1", "90", "500.00"), ("c", NOV, "t2", "80", "300.00"),
                ("d", NOV, "t1", "70", "700.00"), ("e", NOV, "t2", None, "300.00"),
                ("a", OCT, "t2", "95", "100.00"), ("b", OCT, "t1", "50", "100.00"), ("c", OCT, "t2", "60", "200.00")]:
        cache.update(content(*row))
    return cache


def rank(rank: int, of: int, top_percent: float, top_decile: bool, previous: int | None) -> dict[str, Any]:
    return {"rank": rank, "of": of, "top_percent": top_percent, "top_decile": top_decile, "previous_rank": previous}


def test_a_tied_rep_shares_the_rank_and_a_moved_rep_was_not_on_its_new_team_board_before(cache: BoardCache) -> None:
    assert my_ranks(cache, "a", NOV) == {
        "rep_id": "a", "month": NOV, "previous_month": OCT,
        "boards": {
            # 100 × 2 / 4 = 50.0; ⌈4 / 10⌉ = 1; first by score in October
            "company": {"board": "company", "score": rank(2, 4, 50.0, False, 1),
                        "revenue": rank(2, 5, 40.0, False, 2)},
            # 100 × 2 / 3 = 66.67 → 66.7; in October a was on t2's board, not t1's
            "team": {"board": "team:t1", "score": rank(2, 3, 66.7, False, None),
                     "revenue": rank(2, 3, 66.7, False, None)},
        }}


def test_the_first_is_in_the_top_decile_and_moves_up_from_third(cache: BoardCache) -> None:
    ranks = my_ranks(cache, "b", NOV)["boards"]
    assert ranks["company"]["score"] == rank(1, 4, 25.0, True, 3)
    assert ranks["company"]["revenue"] == rank(2, 5, 40.0, False, 2)  # tied with a, as in October
    assert ranks["team"]["score"] == rank(1, 3, 33.3, True, 1)
    assert ranks["team"]["revenue"] == rank(2, 3, 66.7, False, 1)


def test_a_rep_without_a_score_has_no_score_rank_and_one_new_this_month_no_previous(cache: BoardCache) -> None:
    ranks = my_ranks(cache, "e", NOV)["boards"]
    assert ranks["company"] == {"board": "company", "score": None, "revenue": rank(4, 5, 80.0, False, None)}
    assert ranks["team"] == {"board": "team:t2", "score": None, "revenue": rank(1, 2, 50.0, True, None)}
    assert my_ranks(cache, "d", NOV)["boards"]["company"]["revenue"] == rank(1, 5, 20.0, True, None)


def test_a_month_not_in_the_cache_has_no_answer_yet(cache: BoardCache) -> None:
    # d's October, an unknown rep, and an empty cache (a worker that has just rebuilt its
    # state, before its first flush): /api/me/ranks answers 503 rather than empty ranks
    assert my_ranks(cache, "d", OCT) is None
    assert my_ranks(cache, "z", NOV) is None
    assert my_ranks(BoardCache(), "a", NOV) is None


def test_the_previous_month_of_january_is_last_december() -> None:
    cache = BoardCache()
    cache.update(content("a", "2026-01", "t1", "80", "10.00"))
    assert my_ranks(cache, "a", "2026-01")["previous_month"] == "2025-12"  # type: ignore[index]


def test_a_withdrawn_scorecard_leaves_the_ranks_of_the_others(cache: BoardCache) -> None:
    cache.remove("b", NOV)  # b no longer ahead of a by score, nor tied by revenue
    ranks = my_ranks(cache, "a", NOV)["boards"]
    assert ranks["company"]["score"] == rank(1, 3, 33.3, True, 1)
    assert ranks["company"]["revenue"] == rank(2, 4, 50.0, False, 2)
    assert ranks["team"]["score"] == rank(1, 2, 50.0, True, None)


def test_standing_on_another_teams_board_is_none(cache: BoardCache) -> None:
    assert cache.standing("team:t2", NOV, "score", "a") is None
    assert cache.standing("team:t1", NOV, "score", "a") == Standing(2, 3)
    assert cache.standing("team:t9", NOV, "score", "a") is None
    assert cache.standing("company", "2026-09", "score", "a") is None


def test_the_ranks_read_no_board(cache: BoardCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """/me at 100,000 reps: every rank is a lookup in the ordered index, never a read of rows."""
    def whole_board(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a board was read")

    for owner, name in [(BoardCache, "board"), (RankIndex, "ranks"), (RankIndex, "top")]:
        monkeypatch.setattr(owner, name, whole_board)
    assert my_ranks(cache, "a", NOV)["boards"]["company"]["score"]["rank"] == 2
