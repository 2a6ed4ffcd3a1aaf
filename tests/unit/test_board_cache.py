"""BoardCache: a team board lists exactly the cached reps of that team, through moves
between teams and withdrawn scorecards (the per-team index must follow both)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core.boards import BoardCache

REPS = [f"r{n}" for n in range(6)]
TEAMS = ["t1", "t2", "t3"]


def content(rep: str, team: str, revenue: int) -> dict:
    return {"scope": "rep", "id": rep, "period": "2026-11", "team_id": team, "score": str(revenue),
            "kpis": {"revenue": f"{revenue}.00", "attainment": None, "weighted_attainment": None}}


operations = st.lists(st.one_of(
    st.tuples(st.just("update"), st.sampled_from(REPS), st.sampled_from(TEAMS), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.sampled_from(REPS), st.none(), st.none()),
), max_size=40)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_team_boards_follow_moves_and_removals(ops) -> None:
    cache = BoardCache()
    current: dict[str, tuple[str, int]] = {}  # the independent model: rep -> (team, revenue)
    for op, rep, team, revenue in ops:
        if op == "update":
            cache.update(content(rep, team, revenue))
            current[rep] = (team, revenue)
        else:
            cache.remove(rep, "2026-11")
            current.pop(rep, None)
    company = cache.board("company", "2026-11", "revenue")
    assert {row["rep_id"] for row in company} == set(current)
    for team in TEAMS:
        rows = cache.board(f"team:{team}", "2026-11", "revenue")
        assert {row["rep_id"]: row["team_id"] for row in rows} == {
            rep: t for rep, (t, _) in current.items() if t == team}
        values = [int(row["value"].split(".")[0]) for row in rows]
        assert values == sorted(values, reverse=True)
