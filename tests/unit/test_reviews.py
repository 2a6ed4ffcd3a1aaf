"""Reviews, engagement and plans per scope (contract §12), worked by hand.

The organisation: team t1 with r1, r2, r3 (active) and r4 (left on 10 November), team t2
with r5; each rep has a won deal in November, so their scorecards exist (reviews and
engagement answers make no key exist on their own).
"""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal as D
from typing import Any

import orjson
import pytest

from sales_scorecard.core.boards import BoardCache, explain, leaderboard
from sales_scorecard.core.engine import Outcome, ScorecardEngine
from sales_scorecard.core.scoreplan import Goal, ScorePlanError, load_scorecard_plan, parse_plans
from sales_scorecard.schemas.deadletter import deadletter_record, withheld
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.schemas.validation import Accepted, EventValidator, Rejected
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE, input_key
from tests import factories as f
from tests.unit.test_partitioned_stages import Whole

NOV = "2026-11"


def org() -> list[dict[str, Any]]:
    events = [f.roster(r, "t1", manager_id="m1", event_id=f"ro-{r}") for r in ("r1", "r2", "r3", "r4")]
    events.append(f.roster("r4", "t1", manager_id="m1", status="left", effective_at="2026-11-10T00:00:00+08:00",
                           event_id="ro-r4-left"))
    events.append(f.roster("r5", "t2", manager_id="m2", event_id="ro-r5"))
    for rep in ("r1", "r2", "r3", "r4", "r5"):
        events.append(f.deal(f"d-{rep}", rep, f"c-{rep}", "1000.00", closed_at="2026-11-05T10:00:00+08:00"))
        events.append(f.deal(f"d-oct-{rep}", rep, f"c-oct-{rep}", "1000.00", closed_at="2026-10-05T10:00:00+08:00"))
    return events


def build(*events: dict[str, Any]) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in (*org(), *events):
        engine.apply(record_from_event(_valid(ev)))
    return engine


def _valid(ev: dict[str, Any]) -> dict[str, Any]:
    result = EventValidator("CNY").validate(TOPIC_FOR_TYPE[ev["type"]].name, orjson.dumps(ev))
    assert isinstance(result, Accepted), result
    return result.event


def card(engine: ScorecardEngine, scope: str, id: str, period: str = NOV) -> dict[str, Any]:
    content = engine.render(scope, id, period)
    assert content is not None
    return content


# -- review_score -----------------------------------------------------------------------

def test_review_score_renormalises_over_the_roles_present() -> None:
    engine = build(f.review("a", "r1", "m1", "manager", 4), f.review("b", "r1", "cu1", "customer", "3.0"))
    # (0.5 × 4 + 0.2 × 3) / (0.5 + 0.2) = 2.6 / 0.7 = 3.714285…
    assert card(engine, "rep", "r1")["kpis"]["review_score"] == 3.7143
    assert card(engine, "rep", "r1")["kpis"]["self_rating"] is None


def test_two_peers_are_ignored_three_count() -> None:
    two = [f.review("a", "r2", "m1", "manager", 4), f.review("b", "r2", "cu1", "customer", 3),
           f.review("p1", "r2", "r1", "peer", 5), f.review("p2", "r2", "r3", "peer", 5),
           f.review("p1b", "r2", "r1", "peer", 5)]  # a second review by r1: still two distinct peers
    engine = build(*two)
    assert card(engine, "rep", "r2")["kpis"]["review_score"] == 3.7143  # as without peers: 2.6 / 0.7
    engine.apply(record_from_event(_valid(f.review("p3", "r2", "r4", "peer", 1))))
    # peers (5 + 5 + 5 + 1) / 4 = 4 from 3 distinct reviewers: (0.5×4 + 0.3×4 + 0.2×3) / 1.0 = 3.8
    assert card(engine, "rep", "r2")["kpis"]["review_score"] == 3.8


def test_self_only_has_no_score_but_shows_the_self_rating() -> None:
    engine = build(f.review("s", "r3", "r3", "self", "4.5"))
    content = card(engine, "rep", "r3")
    assert content["kpis"]["review_score"] is None and content["kpis"]["self_rating"] == 4.5
    # A null KPI is left out of the score (contract §6), shown with its goal.
    component = next(c for c in content["components"] if c["kpi"] == "review_score")
    assert (component["value"], component["achievement"], component["goal"]) == (None, None, 4.0)


def test_the_latest_occurred_at_of_a_review_id_counts() -> None:
    engine = build(f.review("a", "r1", "m1", "manager", 2, occurred_at="2026-11-25T10:00:00+08:00"))
    older = f.review("a", "r1", "m1", "manager", 4, occurred_at="2026-11-20T10:00:00+08:00")
    assert engine.apply(record_from_event(_valid(older))) is Outcome.STALE
    assert card(engine, "rep", "r1")["kpis"]["review_score"] == 2
    engine.apply(record_from_event(_valid(f.review("a", "r1", "m1", "manager", 5,
                                                   occurred_at="2026-11-28T10:00:00+08:00"))))
    assert card(engine, "rep", "r1")["kpis"]["review_score"] == 5


def test_a_quarter_pools_the_reviews_of_its_months() -> None:
    engine = build(f.review("o1", "r5", "m2", "manager", 3, period="2026-10"),
                   f.review("o2", "r5", "x1", "peer", 4, period="2026-10"),
                   f.review("o3", "r5", "x2", "peer", 4, period="2026-10"),
                   f.review("n1", "r5", "m2", "manager", 4), f.review("n2", "r5", "x3", "peer", 1))
    assert card(engine, "rep", "r5", "2026-10")["kpis"]["review_score"] == 3  # two peers: manager only
    assert card(engine, "rep", "r5")["kpis"]["review_score"] == 4  # one peer
    # Q4: manager (3 + 4) / 2 = 3.5, peers (4 + 4 + 1) / 3 = 3 from 3 reviewers:
    # (0.5 × 3.5 + 0.3 × 3) / 0.8 = 2.65 / 0.8 = 3.3125
    assert card(engine, "rep", "r5", "2026-Q4")["kpis"]["review_score"] == 3.3125
    assert card(engine, "rep", "r5", "R30D")["kpis"]["review_score"] is None  # months, quarters and years only


# -- review_coverage and team_engagement ------------------------------------------------

def test_review_coverage_counts_members_active_at_the_end_with_a_manager_review() -> None:
    engine = build(f.review("a", "r1", "m1", "manager", 4), f.review("b", "r2", "m1", "manager", 3),
                   f.review("c", "r3", "r3", "self", 5), f.review("d", "r3", "r1", "peer", 5),
                   f.review("e", "r4", "m1", "manager", 5), f.review("g", "r5", "m2", "manager", 4))
    # t1 at November's end: r1, r2, r3 (r4 left); manager reviews for r1 and r2: 2 / 3
    assert card(engine, "team", "t1")["kpis"]["review_coverage"] == 0.6667
    assert card(engine, "company", "*")["kpis"]["review_coverage"] == 0.75  # r1, r2, r5 of r1, r2, r3, r5
    assert card(engine, "team", "t1", "2026-10")["kpis"]["review_coverage"] == 0  # no October review
    assert card(engine, "team", "t1", "2026-Q4")["kpis"]["review_coverage"] == 0.6667


def test_review_coverage_follows_a_review_corrected_to_another_role_subject_or_month() -> None:
    later = "2026-11-28T10:00:00+08:00"
    engine = build(f.review("a", "r1", "m1", "manager", 4), f.review("b", "r2", "m1", "manager", 3),
                   f.review("b2", "r2", "m1", "manager", 2))
    assert card(engine, "team", "t1")["kpis"]["review_coverage"] == 0.6667  # r1, r2 of r1, r2, r3
    # a: corrected to a peer review; r1 has no manager review left
    engine.apply(record_from_event(_valid(f.review("a", "r1", "m1", "peer", 4, occurred_at=later))))
    assert card(engine, "team", "t1")["kpis"]["review_coverage"] == 0.3333
    # b: about r3 now; r2 keeps b2, r3 gains b
    engine.apply(record_from_event(_valid(f.review("b", "r3", "m1", "manager", 3, occurred_at=later))))
    assert card(engine, "team", "t1")["kpis"]["review_coverage"] == 0.6667
    # b2: moved to October; r2 has no November manager review, the quarter still counts it
    engine.apply(record_from_event(_valid(f.review("b2", "r2", "m1", "manager", 2, period="2026-10",
                                                   occurred_at=later))))
    assert card(engine, "team", "t1")["kpis"]["review_coverage"] == 0.3333
    assert card(engine, "team", "t1", "2026-Q4")["kpis"]["review_coverage"] == 0.6667
    assert card(engine, "company", "*")["kpis"]["review_coverage"] == 0.25  # r3 of r1, r2, r3, r5


def test_team_engagement_is_null_below_three_respondents() -> None:
    engine = build(f.engagement("t1", "e1", 4), f.engagement("t1", "e2", 2),
                   f.engagement("t2", "x1", 3), f.engagement("t2", "x2", 4), f.engagement("t2", "x3", 5),
                   f.engagement("t2", "x3", 2, occurred_at="2026-11-27T10:00:00+08:00"))
    assert card(engine, "team", "t1")["kpis"]["team_engagement"] is None  # 2 respondents
    assert card(engine, "team", "t2")["kpis"]["team_engagement"] == 3  # (3 + 4 + 2) / 3: x3's latest answer
    assert card(engine, "company", "*")["kpis"]["team_engagement"] == 3  # (4 + 2 + 3 + 4 + 2) / 5
    third = _valid(f.engagement("t1", "e3", 5))
    assert engine.apply(record_from_event(third)) is Outcome.APPLIED
    assert engine.apply(record_from_event(third)) is Outcome.DUPLICATE
    earlier = _valid(f.engagement("t1", "e3", 1, occurred_at="2026-11-20T10:00:00+08:00"))
    assert engine.apply(record_from_event(earlier)) is Outcome.STALE
    assert card(engine, "team", "t1")["kpis"]["team_engagement"] == 3.6667  # (4 + 2 + 5) / 3


# -- plans per scope and per-member goals -----------------------------------------------

def test_per_member_goals_scale_with_the_headcount() -> None:
    assert Goal(fixed=D("2"), per_member=True).resolve(1, {}, 5) == 10
    assert Goal(per_month=D("2"), per_member=True).resolve(3, {}, 4) == 24  # 2 × 3 months × 4 members
    assert Goal(fixed=D("2"), per_member=True).resolve(1, {}, 0) == 0  # no member: 0, left out if higher (§6)
    assert Goal(fixed=D("2")).resolve(1, {}, 5) == 2


def _plans(tmp_path: Any, text: str) -> Any:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return load_scorecard_plan(str(path))


def test_the_plan_of_each_scope_scores_its_scorecards(tmp_path: Any) -> None:
    plans = _plans(tmp_path, """
plan_id: p
components:
  - {kpi: revenue, dimension: financial, weight: 1, goal: "4000"}
scopes:
  team:
    plan_id: p-team
    components:
      - {kpi: won_deals, dimension: financial, weight: 1, goal: {value: "1", per_member: true}}
""")
    assert plans.rep is plans.company and plans.rep.plan_id == "p" and plans.team.plan_id == "p-team"
    engine = ScorecardEngine("Asia/Shanghai", scorecard_plan=plans)
    for ev in org():
        engine.apply(record_from_event(_valid(ev)))
    team = card(engine, "team", "t1")
    # t1 has 3 active members at November's end: goal 1 × 3 = 3; it won 4 deals (r4's too): achievement 1
    assert [(c["kpi"], c["goal"], c["achievement"]) for c in team["components"]] == [("won_deals", 3, 1)]
    assert team["score"] == 100
    rep = card(engine, "rep", "r1")
    assert [(c["kpi"], c["goal"]) for c in rep["components"]] == [("revenue", 4000)]
    assert rep["score"] == 25  # 1000 / 4000
    shown = explain(engine, "team", "t1", NOV)
    assert shown is not None
    assert shown["plan"] == {"plan_id": "p-team", "scope": "team", "members": 3, "per_member": ["won_deals"]}


def test_default_plans_rep_and_manager() -> None:
    plans = load_scorecard_plan(None)
    assert plans.team == plans.company
    assert [(c.kpi, c.dimension, c.weight, c.goal.resolve(1, {}), c.direction) for c in plans.team.components] == [
        ("attainment", "financial", 40, 1, "higher"), ("csat", "customer", 10, D("4.5"), "higher"),
        ("complaint_rate", "customer", 10, D("0.05"), "lower"), ("contact_coverage", "process", 10, 1, "higher"),
        ("review_coverage", "process", 10, 1, "higher"), ("turnover_rate", "learning", 10, D("0.05"), "lower"),
        ("team_engagement", "learning", 10, 4, "higher")]
    review = plans.rep.components[-1]
    assert (review.kpi, review.dimension, review.weight, review.goal.resolve(1, {})) == ("review_score", "learning",
                                                                                          10, 4)
    engine = build()
    assert [c["kpi"] for c in card(engine, "team", "t1")["components"]][-1] == "team_engagement"
    assert [c["kpi"] for c in card(engine, "rep", "r1")["components"]][-1] == "review_score"


@pytest.mark.parametrize("data,message", [
    ({"scopes": {"rep": {"components": [{"kpi": "revenue", "dimension": "financial", "weight": 1, "goal": 1}]}}},
     r"^scopes\.team: missing"),
    ({"scopes": {"boss": {}}}, r"^scopes\.boss: unknown key"),
    ({"components": [{"kpi": "revenue", "dimension": "financial", "weight": 1,
                      "goal": {"value": 1, "per_member": "yes"}}]}, r"per_member: expected true or false"),
])
def test_bad_scoped_plans_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(ScorePlanError, match=message):
        parse_plans(data)


# -- input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rating,ok", [(4.5, True), ("4.5", True), (5, True), (1, True), (4.55, False),
                                       ("4.55", False), (5.5, False), (0.9, False), (True, False)])
def test_a_rating_is_1_to_5_with_at_most_one_decimal(rating: Any, ok: bool) -> None:
    result = EventValidator("CNY").validate("sales.reviews", orjson.dumps(f.review("a", "r1", "m1", "manager",
                                                                                   rating)))
    assert isinstance(result, Accepted) is ok, result
    if not ok:
        assert isinstance(result, Rejected) and result.reason == "schema_violation"
        assert result.detail.startswith("$.rating")


def test_keys_and_topic() -> None:
    assert input_key(f.review("a", "r1", "m1", "peer", 4)) == "r1:2026-11"
    assert input_key(f.engagement("t1", "e1", 4)) == "t1:2026-11"
    assert TOPIC_FOR_TYPE["review"].name == TOPIC_FOR_TYPE["engagement"].name == "sales.reviews"
    wrong = EventValidator("CNY").validate("sales.deals", orjson.dumps(f.engagement("t1", "e1", 4)))
    assert isinstance(wrong, Rejected) and wrong.reason == "wrong_topic"
    bad_role = EventValidator("CNY").validate("sales.reviews", orjson.dumps(f.review("a", "r1", "m1", "boss", 4)))
    assert isinstance(bad_role, Rejected) and bad_role.reason == "schema_violation"


# -- privacy ------------------------------------------------------------------------------

SECRET_RATINGS = {1.3, 2.9, 4.1, 4.7}


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, str):
        try:
            return [float(value)]
        except ValueError:
            return []
    return []


def test_no_output_explanation_or_log_shows_an_engagement_answer_or_respondent(
        caplog: pytest.LogCaptureFixture) -> None:
    answers = [f.engagement("t2", "resp-secret-a", "1.3"), f.engagement("t2", "resp-secret-b", 2.9),
               f.engagement("t2", "resp-secret-c", "4.1"), f.engagement("t1", "resp-secret-d", 4.7)]
    facts = [_valid(ev) for ev in (*org(), *answers, f.close_period("2026-10"), f.close_period(NOV))]
    whole = Whole()
    caplog.set_level(logging.DEBUG)

    async def go() -> None:
        await whole.feed(facts)
        await whole.settle()

    asyncio.run(go())
    engine = whole.stage.engine
    assert engine is not None
    outputs: list[Any] = [v for sent in whole.outputs.sent.values() for _, v in sent]
    shown = [explain(engine, scope, id, period) for scope, id, period in engine.all_keys()]
    cards = {(v["scope"], v["id"], v["period"]): v for v in outputs if v and v.get("type") == "scorecard"}
    # The means are there: t2 (1.3 + 2.9 + 4.1) / 3 = 2.7667, the company (… + 4.7) / 4 = 3.25, t1 alone: null
    assert cards[("team", "t2", NOV)]["kpis"]["team_engagement"] == 2.7667
    assert cards[("company", "*", NOV)]["kpis"]["team_engagement"] == 3.25
    assert cards[("team", "t1", NOV)]["kpis"]["team_engagement"] is None
    texts = [json.dumps(x) for x in (*outputs, *shown)] + [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records if r.args]
    assert outputs and shown and all("resp-secret" not in t for t in texts)
    assert not SECRET_RATINGS & {n for x in (*outputs, *shown) for n in _numbers(x)}


def test_a_dead_lettered_engagement_answer_withholds_the_respondent_and_rating() -> None:
    bad = orjson.dumps(f.engagement("t1", "resp-secret-z", "4.55"))
    result = EventValidator("CNY").validate("sales.reviews", bad)
    assert isinstance(result, Rejected) and result.detail.startswith("$.rating") and "4.55" in result.detail
    raw, detail = withheld(bad, result.detail)
    record = deadletter_record(result.reason, detail, "sales.reviews", 0, 7, b"t1:2026-11", raw, "2026-11-26T10:00:00Z")
    assert "resp-secret" not in json.dumps(record) and "4.55" not in json.dumps(record)
    assert record["detail"].startswith("$.rating: invalid") and '"team_id":"t1"' in record["raw"]
    # Other types keep their raw bytes and detail as they came.
    review = orjson.dumps(f.review("a", "r1", "m1", "manager", "4.55"))
    assert withheld(review, "$.rating: x") == (review, "$.rating: x")


def test_a_team_board_shows_the_manager_the_team_score_and_its_dimensions() -> None:
    engine = build(f.review("a", "r1", "m1", "manager", 4), f.review("b", "r2", "m1", "manager", 3))
    # The summary comes from the engine, whatever rows the board cache holds (none here).
    board = leaderboard(BoardCache(), engine, "team:t1", NOV, "score")
    # t1 in November (team plan, contract §12): attainment null (no target); csat null;
    # complaint_rate 0 / 4 served → 1; contact_coverage 0 of a book of 8; review_coverage 2 / 3;
    # turnover_rate 1 departure / mean(4, 3) = 2/7 → 0.05 / (2/7) = 0.175; team_engagement null.
    # score = 100 × (10 + 0 + 10 × 2/3 + 10 × 0.175) / 40 = 46.0417
    assert board["team"] == {"team_id": "t1", "manager_id": "m1", "manager_name": "m1", "score": 46.0417,
                             "dimensions": {"financial": None, "customer": 100, "process": 33.3333,
                                            "learning": 17.5}}
    assert "team" not in leaderboard(BoardCache(), engine, "company", NOV, "score")
