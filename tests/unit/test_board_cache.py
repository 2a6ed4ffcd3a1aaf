"""BoardCache: a team board lists exactly the cached reps of that team, through moves
between teams and withdrawn scorecards (the per-team index must follow both)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core.boards import BoardCache
from sales_scorecard.core.leaderboard import RankIndex, Standing

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


def rendered(rep: str, team: str, score: object, revenue: object, attainment: object = None) -> dict:
    return {"scope": "rep", "id": rep, "period": "2026-11", "team_id": team, "score": score,
            "kpis": {"revenue": revenue, "attainment": attainment, "weighted_attainment": None}}


def test_a_cached_rep_keeps_the_units_of_its_keys_and_gives_the_values_back() -> None:
    cache = BoardCache()
    cache.update(rendered("a", "t1", 87.5, "1234.50", 0.9583))
    entry = cache.entries["2026-11"]["a"]
    # millionths, negated (the largest value ranks first): what the rankings order by
    assert (entry.score, entry.revenue, entry.attainment, entry.weighted_attainment) == \
        (-87_500_000, -1_234_500_000, -958_300, None)
    assert entry.as_rendered is None
    assert entry.shown() == {"revenue": "1234.50", "attainment": 0.9583, "score": 87.5}
    assert [entry.value(m) for m in ("score", "revenue", "attainment")] == [87.5, "1234.50", 0.9583]


def test_values_their_units_do_not_spell_are_kept_as_rendered() -> None:
    # -0.0 and "-0.00" have the key of 0; "1" and 2 are a string and an int, not the floats
    # a key gives back; "7.5" is a revenue not in cents. A row shows each as rendered.
    cache = BoardCache()
    for rep, score, revenue, attainment in [("a", -0.0, "-0.00", None), ("b", "1", "7.5", 2)]:
        cache.update(rendered(rep, "t1", score, revenue, attainment))
        entry = cache.entries["2026-11"][rep]
        assert entry.as_rendered == (score, revenue, attainment, None)
        assert entry.shown() == {"revenue": revenue, "attainment": attainment, "score": score}
    assert [(r["rep_id"], repr(r["score"]), r["revenue"]) for r in cache.board("company", "2026-11", "score")] == \
        [("b", "'1'", "7.5"), ("a", "-0.0", "-0.00")]
    # rendered again as plain values: nothing is kept beside the units any more
    cache.update(rendered("a", "t1", 0.0, "0.00"))
    assert cache.entries["2026-11"]["a"].as_rendered is None
    assert cache.entries["2026-11"]["a"].shown() == {"revenue": "0.00", "attainment": None, "score": 0.0}


def test_only_a_changed_value_moves_in_the_rankings(monkeypatch) -> None:
    moves: list[tuple[str, str]] = []
    add, remove = RankIndex.add, RankIndex.remove

    def counted_add(self: RankIndex, entry: object) -> None:
        moves.append(("add", entry.rep_id))  # type: ignore[attr-defined]
        add(self, entry)

    def counted_remove(self: RankIndex, entry: object) -> None:
        moves.append(("remove", entry.rep_id))  # type: ignore[attr-defined]
        remove(self, entry)

    monkeypatch.setattr(RankIndex, "add", counted_add)
    monkeypatch.setattr(RankIndex, "remove", counted_remove)
    cache = BoardCache()
    cache.update(rendered("a", "t1", 50.0, "10.00"))
    assert moves == [("add", "a")] * 4  # score and revenue, on the company and the team board
    moves.clear()
    cache.update(rendered("a", "t1", 50.0, "10.00"))  # rendered again, nothing changed
    assert moves == []
    cache.update(rendered("a", "t1", 50.0, "12.00"))  # revenue: out and back in, on both boards
    assert sorted(moves) == [("add", "a")] * 2 + [("remove", "a")] * 2
    assert [r["revenue"] for r in cache.board("team:t1", "2026-11", "revenue")] == ["12.00"]
    moves.clear()
    cache.update(rendered("a", "t2", 50.0, "12.00"))  # a team move: off t1's rankings, onto t2's
    assert sorted(moves) == [("add", "a")] * 2 + [("remove", "a")] * 2
    assert cache.board("team:t1", "2026-11", "score") == [] and cache.ranked("team:t1", "2026-11") == 0
    assert [r["rep_id"] for r in cache.board("team:t2", "2026-11", "score")] == ["a"]


def test_the_team_boards_of_a_period_share_one_ranking_per_metric() -> None:
    # Three teams, four reps; score and revenue have values, attainment none. One grouped
    # ranking per metric with a value holds every rep of the period (four entries), not a
    # ranking per team; a team's count goes when its last rep leaves.
    cache = BoardCache()
    for rep, team, score, revenue in [("a", "t1", 50.0, "10.00"), ("b", "t1", 70.0, "5.00"),
                                      ("c", "t2", 60.0, "7.00"), ("d", "t3", 40.0, "1.00")]:
        cache.update(rendered(rep, team, score, revenue))
    teams = cache.teams["2026-11"]
    assert teams.members == {"t1": 2, "t2": 1, "t3": 1}
    score, revenue, attainment, _ = teams.by_metric
    assert score is not None and revenue is not None and attainment is None
    assert len(score) == len(revenue) == 4
    assert list(score.group_ranks("t1")[0]) == [(1, "b"), (2, "a")] and score.size("t1") == 2
    assert list(revenue.group_ranks("t1")[0]) == [(1, "a"), (2, "b")]
    cache.remove("d", "2026-11")
    assert teams.members == {"t1": 2, "t2": 1} and cache.ranked("team:t3", "2026-11") == 0
    assert cache.board("team:t3", "2026-11", "score") == [] and len(score) == 3
    assert cache.standing("team:t1", "2026-11", "score", "a") == Standing(2, 2)
