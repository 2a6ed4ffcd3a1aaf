"""What ``/api/leaderboard`` answers (``core.boards.leaderboard``): the rows of the stage's
board cache as last published, ranked as contract §6 says (ties share a rank, the next rank
skips, rep_id orders a tie), names from the roster at the period's end, percentiles over
every ranked rep (contract §11), and no rep scorecard rendered to answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.boards import METRICS, BoardCache, BoardError, leaderboard
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.schemas.records import record_from_event
from tests.factories import deal, roster, target
from tests.reference.model import built_model
from tests.reference.model import percentile as reference_percentile

NOV, OCT, DEC = "2026-11", "2026-10", "2026-12"


def day(month: str, d: int) -> str:
    return f"{month}-{d:02d}T10:00:00+08:00"


def named(event: dict[str, Any], name: str) -> dict[str, Any]:
    return {**event, "name": name}


def history() -> list[dict[str, Any]]:
    """Five reps in two teams. Eve (r5) sells for t1 in October and moves to t2 on 15
    November under a new name; Ann (r1) is renamed in December. November revenue:
    r1 200 + 100 = 300, r5 200, r2 100, r3 100, r4 50. November targets: r1 1000 (0.3),
    r2 100 (1.0; territory factor 0.5, weighted 0.5), r3 400 (0.25), r4 50 (1.0), r5 none
    (no attainment)."""
    return [
        named(roster("r1", "t1"), "Ann"), roster("r2", "t1", territory_factor="0.5"),
        roster("r3", "t2"), roster("r4", "t2"), named(roster("r5", "t1"), "Eve"),
        named(roster("r5", "t2", effective_at=day(NOV, 15)), "Eve Moved"),
        target("rep", "r1", NOV, "1000.00"), target("rep", "r2", NOV, "100.00"),
        target("rep", "r3", NOV, "400.00"), target("rep", "r4", NOV, "50.00"),
        deal("o1", "r5", "c9", "80.00", closed_at=day(OCT, 10)),
        deal("d1", "r1", "c1", "200.00", closed_at=day(NOV, 3)),
        deal("d2", "r1", "c2", "100.00", closed_at=day(NOV, 4)),
        deal("d3", "r2", "c3", "100.00", closed_at=day(NOV, 5)),
        deal("d4", "r3", "c4", "100.00", closed_at=day(NOV, 6)),
        deal("d5", "r4", "c5", "50.00", closed_at=day(NOV, 7)),
        deal("d6", "r5", "c6", "200.00", closed_at=day(NOV, 20)),
        named(roster("r1", "t1", effective_at=day(DEC, 3)), "Ann Later"),
    ]


def engine_of(events: list[dict[str, Any]]) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    for event in events:
        engine.apply(record_from_event(event))
    return engine


def flushed(engine: ScorecardEngine, cache: BoardCache | None = None) -> BoardCache:
    """The cache after a flush: every rep scorecard rendered into it, as the stage does."""
    cache = cache if cache is not None else BoardCache()
    for scope, id, period in engine.all_keys():
        if scope == "rep":
            content = engine.render(scope, id, period)
            assert content is not None
            cache.update(content)
    return cache


def no_rep_renders(engine: ScorecardEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make rendering any rep scorecard fail (team scorecards still render: the summary)."""
    render = engine.render

    def refuse(scope: str, id: str, period: str) -> Any:
        if scope == "rep":
            raise AssertionError(f"rendered rep {id} {period} to answer")
        return render(scope, id, period)

    monkeypatch.setattr(engine, "render", refuse)


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> tuple[BoardCache, ScorecardEngine]:
    engine = engine_of(history())
    cache = flushed(engine)
    no_rep_renders(engine, monkeypatch)
    return cache, engine


def shown(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["rank"], r["rep_id"], r["value"], r["top_percent"], r["top_decile"]) for r in answer["rows"]]


def test_company_revenue_board_by_hand(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    answer = leaderboard(cache, engine, "company", NOV, "revenue")
    # 5 ranked: top_percent 100 × rank / 5; the top decile is rank <= ceil(0.5) = 1; r2 and
    # r3 tie at 100.00 and share rank 3, r4 is 5th.
    assert shown(answer) == [(1, "r1", "300.00", 20.0, True), (2, "r5", "200.00", 40.0, False),
                             (3, "r2", "100.00", 60.0, False), (3, "r3", "100.00", 60.0, False),
                             (5, "r4", "50.00", 100.0, False)]
    first = answer["rows"][0]
    # Ann's name at November's end: the December rename does not show on November's board.
    assert {k: first[k] for k in ("name", "team_id", "revenue", "attainment")} == {
        "name": "Ann", "team_id": "t1", "revenue": "300.00", "attainment": 0.3}
    assert [r["name"] for r in answer["rows"]] == ["Ann", "Eve Moved", "Rep r2", "Rep r3", "Rep r4"]
    assert answer["board"] == "company" and answer["period"] == NOV and answer["metric"] == "revenue"
    assert answer["as_of"] == "2026-12-03T10:00:00+08:00"  # the engine's clock: the last event
    assert "team" not in answer


def test_attainment_and_weighted_attainment_by_hand(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    # r5 has no target, so no attainment: 4 ranked, top decile rank <= ceil(0.4) = 1.
    assert shown(leaderboard(cache, engine, "company", NOV, "attainment")) == [
        (1, "r2", 1.0, 25.0, True), (1, "r4", 1.0, 25.0, True), (3, "r1", 0.3, 75.0, False),
        (4, "r3", 0.25, 100.0, False)]
    # r2's territory factor 0.5 halves its weighted attainment: 1.0 × 0.5.
    assert shown(leaderboard(cache, engine, "company", NOV, "weighted_attainment")) == [
        (1, "r4", 1.0, 25.0, True), (2, "r2", 0.5, 50.0, False), (3, "r1", 0.3, 75.0, False),
        (4, "r3", 0.25, 100.0, False)]


def test_team_boards_follow_the_team_at_the_periods_end(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    # Eve moved to t2 on 15 November: on t2's November board, on t1's October board.
    t1 = leaderboard(cache, engine, "team:t1", NOV, "revenue")
    assert shown(t1) == [(1, "r1", "300.00", 50.0, True), (2, "r2", "100.00", 100.0, False)]
    t2 = leaderboard(cache, engine, "team:t2", NOV, "revenue")
    assert shown(t2) == [(1, "r5", "200.00", 33.3, True), (2, "r3", "100.00", 66.7, False),
                         (3, "r4", "50.00", 100.0, False)]
    assert [(r["name"], r["team_id"]) for r in t2["rows"]][0] == ("Eve Moved", "t2")
    october = leaderboard(cache, engine, "team:t1", OCT, "revenue")
    assert [(r["rep_id"], r["name"], r["team_id"], r["value"]) for r in october["rows"]] == [
        ("r5", "Eve", "t1", "80.00")]
    assert leaderboard(cache, engine, "team:t2", OCT, "revenue")["rows"] == []
    # t2 by attainment: r5 has none, so two ranked.
    assert shown(leaderboard(cache, engine, "team:t2", NOV, "attainment")) == [
        (1, "r4", 1.0, 50.0, True), (2, "r3", 0.25, 100.0, False)]
    # A team board carries the team summary (contract §12), from the engine.
    assert t2["team"] is not None and t2["team"]["team_id"] == "t2"
    assert leaderboard(cache, engine, "team:nobody", NOV, "revenue")["rows"] == []


def test_limit_keeps_the_ranks_and_percentiles_of_the_whole_board(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    assert shown(leaderboard(cache, engine, "company", NOV, "revenue", limit=2)) == [
        (1, "r1", "300.00", 20.0, True), (2, "r5", "200.00", 40.0, False)]
    # A limit inside a tie cuts the tie by rep_id.
    assert [(r["rank"], r["rep_id"]) for r in leaderboard(cache, engine, "company", NOV, "revenue", 3)["rows"]] == [
        (1, "r1"), (2, "r5"), (3, "r2")]


def test_score_board_ranks_the_reference_models_scores(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    model = built_model(history())
    scores = {rep: model.kpis("rep", rep, NOV)["score"] for rep in ("r1", "r2", "r3", "r4", "r5")}
    assert all(s is not None for s in scores.values())
    rows = leaderboard(cache, engine, "company", NOV, "score")["rows"]
    assert [(r["rep_id"], Decimal(str(r["value"]))) for r in rows] == sorted(
        ((rep, Decimal(str(s))) for rep, s in scores.items()), key=lambda r: (-r[1], r[0]))
    for row in rows:  # rank = 1 + the number of reps strictly better (contract §6)
        assert row["rank"] == 1 + sum(1 for s in scores.values() if Decimal(str(s)) > Decimal(str(row["value"])))
        assert row["score"] == row["value"]


def test_every_board_of_a_simulated_history_matches_the_reference_model(monkeypatch: pytest.MonkeyPatch) -> None:
    events = simulate(SimulationConfig(seed=5, reps=30, teams=3, months=3, start_month="2026-08"))
    engine = engine_of(events)
    cache = flushed(engine)
    no_rep_renders(engine, monkeypatch)
    model = built_model(events)
    # Every calendar period: three months, two quarters and the year.
    known = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    periods = sorted({p for scope, _, p in known if scope == "rep" and p not in ("R30D", "R90D")})
    teams = sorted({id for scope, id, _ in known if scope == "team"})
    assert len(periods) == 6 and len(teams) >= 3, (periods, teams)
    checked = 0
    for month in periods:
        for board in ["company", *(f"team:{t}" for t in teams)]:
            for metric in ("revenue", "attainment", "weighted_attainment"):
                want = model.board(board, month, metric)
                rows = leaderboard(cache, engine, board, month, metric)["rows"]
                assert [(r["rank"], r["rep_id"], Decimal(str(r["value"]))) for r in rows] == [
                    (rank, rep, Decimal(str(value))) for rank, rep, value in want], (board, month, metric)
                assert [(r["top_percent"], r["top_decile"]) for r in rows] == [
                    reference_percentile(rank, len(want)) for rank, _, _ in want]
                checked += len(rows)
    assert checked > 400


def test_a_period_not_flushed_yet_shows_what_was_last_published(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_of(history())
    cache = flushed(engine)
    # New facts reach the engine; no flush has rendered them yet.
    for event in (deal("e1", "r4", "c7", "500.00", closed_at=day(DEC, 4)),
                  deal("d7", "r3", "c8", "1000.00", closed_at=day(NOV, 28))):
        engine.apply(record_from_event(event))
    assert engine.render("rep", "r4", DEC) is not None  # the engine has December already
    real_render = engine.render
    no_rep_renders(engine, monkeypatch)
    # December has no published row: its board is empty, and without a period the board
    # shows November, the latest month published (the clock is in December).
    assert leaderboard(cache, engine, "company", DEC, "revenue")["rows"] == []
    assert leaderboard(cache, engine, "company", None, "revenue")["period"] == NOV
    # November's board is still the published one: r3 at 100.00, not 1,100.00.
    assert ("r3", "100.00") in [(r["rep_id"], r["value"]) for r in leaderboard(
        cache, engine, "company", NOV, "revenue")["rows"]]
    monkeypatch.setattr(engine, "render", real_render)
    flushed(engine, cache)  # the next flush
    no_rep_renders(engine, monkeypatch)
    december = leaderboard(cache, engine, "company", None, "revenue")
    assert december["period"] == DEC
    assert [(r["rank"], r["rep_id"], r["value"]) for r in december["rows"]] == [(1, "r4", "500.00")]
    assert [(r["rank"], r["rep_id"], r["value"]) for r in leaderboard(
        cache, engine, "team:t2", NOV, "revenue")["rows"]] == [(1, "r3", "1100.00"), (2, "r5", "200.00"),
                                                              (3, "r4", "50.00")]


def test_trailing_windows_answer_from_the_cache(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    # R30D is the 30 local days ending with the clock's day (contract §4): 4 November to
    # 3 December. d1 (r1's 200.00 on 3 November) is out; r1 keeps d2's 100.00.
    rows = leaderboard(cache, engine, "company", "R30D", "revenue")["rows"]
    assert [(r["rank"], r["rep_id"], r["value"]) for r in rows] == [
        (1, "r5", "200.00"), (2, "r1", "100.00"), (2, "r2", "100.00"), (2, "r3", "100.00"), (5, "r4", "50.00")]


def test_nothing_flushed_yet_is_an_empty_board_and_no_event_no_default_period() -> None:
    engine = engine_of(history())
    assert leaderboard(BoardCache(), engine, "company", NOV, "score")["rows"] == []
    assert leaderboard(BoardCache(), engine, "company", None, "score")["period"] == DEC  # the clock's month
    with pytest.raises(BoardError, match="period is required"):
        leaderboard(BoardCache(), ScorecardEngine("Asia/Shanghai"), "company", None, "score")


@pytest.mark.parametrize(("board", "period", "metric", "says"), [
    ("company", NOV, "height", "metric must be one of"),
    ("team:", NOV, "score", "board must be"),
    ("region:x", NOV, "score", "board must be"),
    ("company", "2026-13", "score", "2026-13"),
    ("company", "2026-11-05", "score", "period must be"),
])
def test_malformed_queries_are_board_errors(setup: tuple[BoardCache, ScorecardEngine], board: str, period: str,
                                            metric: str, says: str) -> None:
    cache, engine = setup
    with pytest.raises(BoardError, match=says):
        leaderboard(cache, engine, board, period, metric)


def test_every_metric_is_answered(setup: tuple[BoardCache, ScorecardEngine]) -> None:
    cache, engine = setup
    for metric in METRICS:
        rows = leaderboard(cache, engine, "company", NOV, metric)["rows"]
        assert rows and all(r[metric if metric != "weighted_attainment" else "value"] == r["value"] for r in rows)
