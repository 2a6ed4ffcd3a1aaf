"""BoardCache boards are what ranking every member with ``rank`` gives (contract §6), for every
board, period and metric, through updates, team moves, withdrawals, missing values and
ties; ``update``, ``remove`` and ``ranked`` answer as a plain per-period dict would."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core import leaderboard
from sales_scorecard.core.boards import METRICS, BoardCache, RowParts
from sales_scorecard.core.leaderboard import percentile, rank
from sales_scorecard.core.money import format_money

REPS = [f"r{n}" for n in range(7)]
TEAMS = ["t1", "t2", "t3"]
PERIODS = ["2026-11", "2026-Q4"]
BOARDS = ["company", *(f"team:{t}" for t in TEAMS), "team:nobody"]
NAMES = {"r0": "Ada", "r3": "Lin"}
LIMITS = (None, 0, 1, 2, 3, 100, -1)
# Few distinct values, so ties are frequent; "1", "1.0" and 1.0 are one value spelled three
# ways, and 0 and -0 one value that rows still show apart ("-0.00", -0.0).
RATIOS = st.sampled_from([None, 0.0, -0.0, 1.0, "1", "1.0", 0.25, -0.5, 2])
MONEY = st.sampled_from([None, "0.00", "-0.00", "1.00", "1.0", "250.50", "-3.00", "1000.00"])

Model = dict[str, dict[str, dict[str, Any]]]  # period -> rep_id -> its last content


def content(rep: str, team: str, period: str, revenue: str | None, attainment: Any,
            weighted: Any, score: Any, scope: str = "rep") -> dict[str, Any]:
    return {"scope": scope, "id": rep, "period": period, "team_id": team,
            "score": None if score is None else str(score),
            "kpis": {"revenue": revenue, "attainment": attainment, "weighted_attainment": weighted}}


updates = st.builds(content, st.sampled_from(REPS), st.sampled_from(TEAMS), st.sampled_from(PERIODS),
                    MONEY, RATIOS, RATIOS, RATIOS, st.sampled_from(["rep", "rep", "rep", "team"]))
operations = st.lists(st.one_of(
    updates.map(lambda c: ("update", c)),
    st.tuples(st.just("remove"), st.tuples(st.sampled_from(REPS), st.sampled_from(PERIODS))),
), max_size=40)


def value(c: dict[str, Any], metric: str) -> Decimal | None:
    raw = c["score"] if metric == "score" else c["kpis"][metric]
    return None if raw is None else Decimal(str(raw))


def members(model: Model, board: str, period: str) -> dict[str, dict[str, Any]]:
    reps = model.get(period, {})
    if board == "company":
        return reps
    return {rep: c for rep, c in reps.items() if c["team_id"] == board[5:]}


def reference_board(model: Model, board: str, period: str, metric: str, names: dict[str, str] | None,
                    limit: int | None) -> list[dict[str, Any]]:
    """Rank every member with ``rank``, then cut: the specification of a board."""
    reps = members(model, board, period)
    out = []
    ranking = rank((rep, value(c, metric)) for rep, c in reps.items())
    for row in ranking[: limit if limit else None]:
        c = reps[row.rep_id]
        out.append({"rank": row.rank, "rep_id": row.rep_id, "name": (names or {}).get(row.rep_id, row.rep_id),
                    "team_id": c["team_id"],
                    "value": format_money(row.value) if metric == "revenue" else float(row.value),  # type: ignore[arg-type]
                    "revenue": c["kpis"]["revenue"], "attainment": c["kpis"]["attainment"], "score": c["score"],
                    **percentile(row.rank, len(ranking))})  # among every rep ranked, not the rows cut
    return out


@settings(max_examples=300, deadline=None)
@given(operations, st.sampled_from([1_000, 2, 1]))
def test_boards_match_ranking_every_member(ops, block: int) -> None:
    # ``block``: the most reps a block of a ranking holds (1 and 2: many blocks, split often)
    leaderboard.BLOCK, default = block, leaderboard.BLOCK
    try:
        check_boards_match_ranking(ops)
    finally:
        leaderboard.BLOCK = default


def check_boards_match_ranking(ops) -> None:
    cache = BoardCache()
    model: Model = {}
    for op, arg in ops:
        if op == "update":
            c = arg
            if c["scope"] != "rep":
                assert cache.update(c) == set()
                continue
            period, old = c["period"], model.get(c["period"], {}).get(c["id"])
            expected = {("company", period), (f"team:{c['team_id']}", period)}
            if old is not None:
                expected.add((f"team:{old['team_id']}", period))
            assert cache.update(c) == expected
            model.setdefault(period, {})[c["id"]] = c
        else:
            rep, period = arg
            old = model.get(period, {}).pop(rep, None)
            expected = set() if old is None else {("company", period), (f"team:{old['team_id']}", period)}
            assert cache.remove(rep, period) == expected
    # One RowParts per set of names, shared by every board, period, metric and limit, as
    # one publication shares it: each rep's row built once is every board's row.
    named = RowParts()
    for period in [*PERIODS, "2026-10"]:
        for board in BOARDS:
            assert cache.ranked(board, period) == len(members(model, board, period))
            for metric in METRICS:
                for names, limit in [(None, None), *((NAMES, limit) for limit in LIMITS)]:
                    expected = repr(reference_board(model, board, period, metric, names, limit))
                    # Compared as text: same fields in the same order, -0.0 apart from 0.0.
                    assert repr(cache.board(board, period, metric, names, limit=limit)) == expected
                    if names is NAMES:
                        assert repr(cache.board(board, period, metric, names, limit=limit, parts=named)) == expected
