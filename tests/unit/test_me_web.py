"""What ``/api/me`` tells My scorecard (contract §13): the caller, a manager's members and the
rep shown with its months (hand-built engines, no Faust)."""

from __future__ import annotations

from sales_scorecard.core.access import Principal
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.me_web import members, principal_json, rep_summary
from tests.factories import deal, roster, target


def build(*events: dict) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in events:
        engine.apply(record_from_event(ev))
    return engine


def test_principal_json_names_the_rep_of_a_rep_token_and_of_a_manager_who_sells() -> None:
    assert principal_json(Principal("rita", "rep", ("r1",))) == {
        "name": "rita", "role": "rep", "scope": ["r1"], "rep_id": "r1"}
    assert principal_json(Principal("lee", "manager", ("t2",), rep_id="r7"))["rep_id"] == "r7"  # type: ignore[index]
    assert principal_json(Principal("ops", "admin"))["rep_id"] is None  # type: ignore[index]
    assert principal_json(None) is None  # auth off


def test_a_managers_members_are_the_reps_whose_current_team_is_theirs() -> None:
    engine = build({**roster("r1", "t1"), "name": "Alice"}, roster("r2", "t2"), roster("r3", "t1"),
                   # r3 moves to t2 in November: no longer t1's
                   roster("r3", "t2", effective_at="2026-11-01T00:00:00+08:00"),
                   deal("d1", "r1", "c1", "10.00", closed_at="2026-11-05T10:00:00+08:00"))
    assert members(engine, ("t1",)) == [{"rep_id": "r1", "name": "Alice", "team_id": "t1"}]
    assert [m["rep_id"] for m in members(engine, ("t1", "t2"))] == ["r1", "r2", "r3"]
    assert members(engine, ("t9",)) == []


def test_rep_summary_lists_the_months_latest_first_and_starts_on_the_clocks_month() -> None:
    engine = build({**roster("r1", "t1"), "name": "Alice"}, roster("r2", "t1"),
                   deal("d1", "r1", "c1", "10.00", closed_at="2026-09-05T10:00:00+08:00"),
                   deal("d2", "r1", "c2", "20.00", closed_at="2026-11-05T10:00:00+08:00"),
                   deal("d3", "r2", "c3", "30.00", closed_at="2026-12-02T10:00:00+08:00"))
    # the clock is in December; r1 has nothing there: the latest month before it
    assert rep_summary(engine, "r1") == {"rep_id": "r1", "name": "Alice", "team_id": "t1",
                                         "months": ["2026-11", "2026-09"], "current_month": "2026-11"}
    assert rep_summary(engine, "r2")["current_month"] == "2026-12"  # type: ignore[index]
    assert rep_summary(engine, "r9") is None  # no scorecard


def test_a_rep_with_a_target_only_has_its_month() -> None:
    engine = build(roster("r1", "t1"), target("rep", "r1", "2026-11", "1000.00"),
                   deal("d1", "r2", "c1", "10.00", closed_at="2026-11-05T10:00:00+08:00"))
    assert rep_summary(engine, "r1")["months"] == ["2026-11"]  # type: ignore[index]
