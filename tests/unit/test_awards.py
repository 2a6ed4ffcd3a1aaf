"""Award rules (contract §11): winners worked out by hand, ties, nobody at target, bonuses, plan files."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from sales_scorecard.core.awards import (
    Award,
    AwardPlanError,
    BonusRequest,
    ClosedPeriod,
    RepFigures,
    TeamFigures,
    decide,
    load_awards,
)

DEFAULT = load_awards(None)
AT = "2026-12-01T00:00:00.000Z"


def rep(rep_id: str, score: str | None, attainment: str | None = "1.0", team: str = "t1") -> RepFigures:
    return RepFigures(rep_id, f"Rep {rep_id}", team, f"m-{team}", None if score is None else D(score),
                      None if attainment is None else D(attainment))


def winners(closed: ClosedPeriod, plan: tuple[Award, ...] = DEFAULT) -> list[tuple[str, str, float, int]]:
    return [(e["award"], e["winner_id"], e["value"], e["rank"]) for e in decide(plan, closed, AT).events]


def test_default_plan() -> None:
    assert [(a.award, a.rule, a.period, a.min_attainment, a.bonus) for a in DEFAULT] == [
        ("star_rep", "top_rep_score", "month", D("1.0"), None),
        ("star_manager", "top_team_score", "month", D("1.0"), None),
        ("most_improved", "score_gain", "quarter", None, None),
        ("top_10_percent", "top_decile", "year", None, None),
    ]


def test_star_rep_is_the_best_score_at_or_above_target_and_ties_all_win() -> None:
    month = ClosedPeriod("2026-11", reps=(
        rep("a", "80", "1.2"),
        rep("b", "85", "0.9"),   # the best score, but below target
        rep("c", "80", "1.0"),   # exactly at target counts, and ties with a
        rep("d", None, "1.5"),   # no score: not ranked
        rep("e", "79.9999", "2.0"),
        rep("f", "90", None),    # no target, no attainment: not eligible
    ))
    assert winners(month) == [("star_rep", "a", 80.0, 1), ("star_rep", "c", 80.0, 1)]


def test_nobody_at_target_means_no_star() -> None:
    month = ClosedPeriod("2026-11", reps=(rep("a", "95", "0.99"), rep("b", "90", None)),
                         teams=(TeamFigures("t1", "m1", D("90"), D("0.98")),))
    assert decide(DEFAULT, month, AT).events == () and decide(DEFAULT, month, AT).bonuses == ()


def test_star_manager_is_a_team_with_its_manager() -> None:
    month = ClosedPeriod("2026-11", teams=(
        TeamFigures("t1", "m1", D("70"), D("1.1")),
        TeamFigures("t2", "m2", D("75"), D("0.95")),  # better score, below target
        TeamFigures("t3", "m3", D("70"), D("1.0")),
        TeamFigures("t4", None, D("99"), None),       # no team target
    ))
    events = decide(DEFAULT, month, AT).events
    assert [(e["award"], e["scope"], e["winner_id"], e["manager_id"], e["value"], e["bonus"]) for e in events] == [
        ("star_manager", "team", "t1", "m1", 70.0, None), ("star_manager", "team", "t3", "m3", 70.0, None)]


def test_most_improved_compares_with_the_previous_quarter() -> None:
    quarter = ClosedPeriod(
        "2026-Q4",
        reps=(rep("a", "75"), rep("b", "85"), rep("c", "55"), rep("e", "99")),
        previous_reps=(rep("a", "60"), rep("b", "70"), rep("c", "50"), rep("x", "10")),
    )
    # gains: a +15, b +15, c +5; e has no previous quarter, x none this quarter
    assert winners(quarter) == [("most_improved", "a", 15.0, 1), ("most_improved", "b", 15.0, 1)]
    worse = ClosedPeriod("2026-Q4", reps=(rep("a", "70"), rep("b", "70")),
                         previous_reps=(rep("a", "80"), rep("b", "70")))
    assert winners(worse) == []  # a fell, b stood still: a gain must be above 0


def _year(scores: list[str]) -> ClosedPeriod:
    return ClosedPeriod("2026", reps=tuple(rep(f"r{i:02d}", s) for i, s in enumerate(scores)))


@pytest.mark.parametrize("scores,expected", [
    (["50"], [("r00", 1)]),                                         # 1 ranked: ceil(0.1) = 1
    ([str(90 - i) for i in range(9)], [("r00", 1)]),                # 9 ranked: ceil(0.9) = 1
    ([str(90 - i) for i in range(10)], [("r00", 1)]),               # 10 ranked: ceil(1.0) = 1
    ([str(90 - i) for i in range(11)], [("r00", 1), ("r01", 2)]),   # 11 ranked: ceil(1.1) = 2
    # 11 ranked, three tie for 2nd: all in, four winners
    (["90", "80", "80", "80"] + [str(70 - i) for i in range(7)], [("r00", 1), ("r01", 2), ("r02", 2), ("r03", 2)]),
    (["80", "80"] + [str(70 - i) for i in range(8)], [("r00", 1), ("r01", 1)]),  # 10 ranked, a tie at the top
    ([], []),
])
def test_top_10_percent_of_the_year(scores: list[str], expected: list[tuple[str, int]]) -> None:
    assert [(w, r) for award, w, _, r in winners(_year(scores))] == expected
    assert all(award == "top_10_percent" for award, *_ in winners(_year(scores)))


def test_only_the_awards_of_the_closed_period_kind_are_decided() -> None:
    figures = (rep("a", "80", "1.2"),)
    assert [w[0] for w in winners(ClosedPeriod("2026-11", reps=figures, previous_reps=(rep("a", "1"),)))] == [
        "star_rep"]
    assert [w[0] for w in winners(ClosedPeriod("2026-Q4", reps=figures, previous_reps=(rep("a", "1"),)))] == [
        "most_improved"]
    assert [w[0] for w in winners(ClosedPeriod("2026", reps=figures))] == ["top_10_percent"]


def test_the_award_event_and_its_bonus() -> None:
    plan = (Award("star_rep", "top_rep_score", "month", D("1.0"), D("2000.00")),
            Award("most_improved", "score_gain", "quarter", None, D("500.50")))
    month = ClosedPeriod("2026-11", reps=(rep("a", "80.12345", "1.2", team="t9"), rep("c", "80.12345", "1.0")))
    decision = decide(plan, month, AT)
    assert decision.events[0] == {
        "event_id": "award:star_rep:2026-11:a", "type": "award", "schema_version": 1, "emitted_at": AT,
        "award": "star_rep", "period": "2026-11", "scope": "rep", "winner_id": "a", "name": "Rep a",
        "team_id": "t9", "manager_id": "m-t9", "value": 80.1235, "rank": 1, "bonus": "2000.00"}
    assert decision.bonuses == (
        BonusRequest("adj:award:star_rep:2026-11:a", "star_rep", "2026-11", "a", "2026-11", D("2000.00")),
        BonusRequest("adj:award:star_rep:2026-11:c", "star_rep", "2026-11", "c", "2026-11", D("2000.00")),
    )
    assert all(b.reason == "award" for b in decision.bonuses)
    quarter = decide(plan, ClosedPeriod("2026-Q4", reps=(rep("a", "60"),), previous_reps=(rep("a", "50"),)), AT)
    # a quarter's bonus corrects the statement of its last month
    assert quarter.bonuses == (
        BonusRequest("adj:award:most_improved:2026-Q4:a", "most_improved", "2026-Q4", "a", "2026-12", D("500.50")),)
    assert decide(plan, month, AT) == decision  # deciding again gives the same ids and figures


GOOD = "{award: s, rule: top_rep_score, period: month, min_attainment: '1.0'}"


@pytest.mark.parametrize("text,message", [
    ("awards: {}", r"^awards: expected a list"),
    ("prizes: []", r"^prizes: unknown key"),
    ("awards: [{award: s, rule: best, period: month}]", r"^awards\[0\]\.rule: expected one of"),
    ("awards: [{award: s, rule: top_decile, period: week}]", r"^awards\[0\]\.period: expected one of"),
    ("awards: [{award: s, rule: top_rep_score, period: month}]", r"^awards\[0\]\.min_attainment: missing"),
    ("awards: [{award: s, rule: top_decile, period: year, min_attainment: 1}]",
     r"^awards\[0\]\.min_attainment: rule top_decile does not read it"),
    ("awards: [{award: s, rule: top_team_score, period: month, min_attainment: 1, bonus: '100.00'}]",
     r"^awards\[0\]\.bonus: only rep awards"),
    ("awards: [{award: s, rule: top_decile, period: year, bonus: '0.001'}]", r"^awards\[0\]\.bonus: expected money"),
    ("awards: [{award: s, rule: top_decile, period: year, bonus: '-5'}]", r"^awards\[0\]\.bonus: expected money"),
    ("awards: [{award: s, rule: top_decile, period: year, prize: 1}]", r"^awards\[0\]\.prize: unknown key"),
    (f"awards: [{GOOD}, {GOOD}]", r"^awards\[1\]\.award: 's' is given twice"),
    ("awards: [{rule: top_decile, period: year}]", r"^awards\[0\]\.award: expected a non-empty string"),
])
def test_plan_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "awards.yaml"
    path.write_text(text)
    with pytest.raises(AwardPlanError, match=message):
        load_awards(str(path))


def test_award_events_match_their_schema() -> None:
    from sales_scorecard.schemas.contracts import validator
    plan = (*DEFAULT, Award("rich", "top_decile", "year", None, D("10.00")))
    decisions = [
        decide(plan, ClosedPeriod("2026-11", reps=(rep("a", "80", "1.2"),),
                                  teams=(TeamFigures("t1", None, D("70"), D("1.1")),)), AT),
        decide(plan, ClosedPeriod("2026-Q4", reps=(rep("a", "80"),), previous_reps=(rep("a", "70"),)), AT),
        decide(plan, _year(["90", "80"]), AT),
    ]
    events = [e for d in decisions for e in d.events]
    assert {e["award"] for e in events} == {"star_rep", "star_manager", "most_improved", "top_10_percent", "rich"}
    for event in events:
        assert [e.message for e in validator("award").iter_errors(event)] == [], event
