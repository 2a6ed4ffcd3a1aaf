"""Alert rules: each incident fires once and resolves once (contract §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sales_scorecard.core.alert_rules import AlertState, evaluate_complaints, evaluate_scorecard, load_alert_rules
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.schemas.records import record_from_event
from tests.factories import deal, roster, target

RULES = load_alert_rules(None)
NOW = "2026-11-30T00:00:00.000Z"


def run(engine: ScorecardEngine, states: dict[str, AlertState], scope: str, id: str, period: str) -> list[dict]:
    content = engine.render(scope, id, period)
    events = []
    for t in evaluate_scorecard(RULES, content, states, "m-1", NOW):
        states[t.key] = t.state
        if t.event is not None:
            events.append(t.event)
    return events


def at(day: int) -> datetime:  # local midnight (UTC+8) of a November day
    return datetime(2026, 11, day, tzinfo=UTC) - timedelta(hours=8)


def test_below_pace_fires_once_as_pace_decays_and_resolves_with_hysteresis() -> None:
    e = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), target("rep", "r1", "2026-11", "3000.00"),
               deal("d1", "r1", "c1", "1000.00", closed_at="2026-11-02T10:00:00+08:00")):
        e.apply(record_from_event(ev))
    states: dict[str, AlertState] = {}
    e.wall_clock = at(6)  # 5 of 30 days: 16.7 % elapsed, pace 6.0 but too early anyway
    assert run(e, states, "rep", "r1", "2026-11") == []
    fired = []
    for day in range(7, 29):  # no new sales: pace = 1000 / (3000 × elapsed) decays
        e.wall_clock = at(day)
        fired += run(e, states, "rep", "r1", "2026-11")
    assert [(x["rule"], x["state"]) for x in fired] == [("attainment_below_pace", "firing")]
    assert fired[0]["manager_id"] == "m-1" and fired[0]["message_zh"] and "behind pace" in fired[0]["message"]
    # pace 0.83: between 0.80 and 0.85 -> still firing, nothing new
    e.apply(record_from_event(deal("d2", "r1", "c2", "1080.00", closed_at="2026-11-20T10:00:00+08:00")))
    e.wall_clock = at(27)  # elapsed 26/30: expected 2600, revenue 2080 -> pace 0.80
    assert run(e, states, "rep", "r1", "2026-11") == []
    e.apply(record_from_event(deal("d3", "r1", "c3", "200.00", closed_at="2026-11-21T10:00:00+08:00")))
    resolved = run(e, states, "rep", "r1", "2026-11")  # 2280 / 2600 = 0.877
    assert [(x["state"], x["alert_id"]) for x in resolved] == [("resolved", fired[0]["alert_id"])]
    assert run(e, states, "rep", "r1", "2026-11") == []


def test_drop_of_six_points_fires_once_and_resolves_at_the_high() -> None:
    e = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), target("rep", "r1", "2026-11", "1000.00"),
               deal("d1", "r1", "c1", "940.00", closed_at="2026-11-02T10:00:00+08:00"),
               deal("d2", "r1", "c2", "60.00", closed_at="2026-11-03T10:00:00+08:00")):
        e.apply(record_from_event(ev))
    states: dict[str, AlertState] = {}
    assert run(e, states, "rep", "r1", "2026-11") == []  # high-water 1.00
    e.apply(record_from_event(deal("d2", "r1", "c2", "60.00", stage="reversed", version=2,
                                   closed_at="2026-11-03T10:00:00+08:00")))
    fired = [x for x in run(e, states, "rep", "r1", "2026-11") if x["rule"] == "attainment_dropped"]
    assert [(x["state"], x["value"], x["threshold"]) for x in fired] == [("firing", 0.94, 1.0)]
    assert [x for x in run(e, states, "rep", "r1", "2026-11") if x["rule"] == "attainment_dropped"] == []
    e.apply(record_from_event(deal("d4", "r1", "c4", "60.00", closed_at="2026-11-04T10:00:00+08:00")))
    back = [x for x in run(e, states, "rep", "r1", "2026-11") if x["rule"] == "attainment_dropped"]
    assert [x["state"] for x in back] == ["resolved"]


def test_complaint_spike_and_state_round_trip() -> None:
    states: dict[str, AlertState] = {}
    now = datetime(2026, 11, 20, tzinfo=UTC)
    complaints = [(now - timedelta(days=d), "critical") for d in (1, 2)] + [(now - timedelta(days=9), "critical")]
    assert evaluate_complaints(RULES, "r1", complaints, now, states, "m-1", NOW) == []
    complaints.append((now - timedelta(days=3), "high"))
    [t] = evaluate_complaints(RULES, "r1", complaints, now, states, "m-1", NOW)
    assert t.event is not None and t.event["state"] == "firing" and t.event["rule"] == "complaint_spike"
    states[t.key] = AlertState.from_json(t.state.to_json())  # as the agent persists it
    assert evaluate_complaints(RULES, "r1", complaints, now, states, "m-1", NOW) == []
    later = now + timedelta(days=6)
    [r] = evaluate_complaints(RULES, "r1", complaints, later, states, "m-1", NOW)
    assert r.event is not None and r.event["state"] == "resolved" and r.event["alert_id"] == t.event["alert_id"]


def test_alert_events_validate_against_their_schema() -> None:
    from sales_scorecard.schemas.contracts import validator

    states: dict[str, AlertState] = {}
    now = datetime(2026, 11, 20, tzinfo=UTC)
    [t] = evaluate_complaints(RULES, "r1", [(now - timedelta(days=d), "critical") for d in (1, 2, 3)], now,
                              states, "m-1", "2026-11-20T00:00:00.000Z")
    assert t.event is not None and t.event["period"] == "R7D"
    errors = list(validator("alert").iter_errors(t.event))
    assert not errors, errors


def test_a_split_share_is_paced_like_an_own_target_and_a_resplit_resolves() -> None:
    # contract §12: t1's 6000 split equally: r1's share 3000, its only target.
    e = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), roster("r2", "t1"), target("team", "t1", "2026-11", "6000.00", split="equal"),
               deal("d1", "r1", "c1", "1000.00", closed_at="2026-11-02T10:00:00+08:00")):
        e.apply(record_from_event(ev))
    states: dict[str, AlertState] = {}
    e.wall_clock = at(16)  # 15 of 30 days: expected 1500, pace 1000 / 1500 = 0.667 < 0.80
    fired = run(e, states, "rep", "r1", "2026-11")
    assert [(x["rule"], x["state"], x["id"]) for x in fired] == [("attainment_below_pace", "firing", "r1")]
    # r2 gets 5000 of its own: r1's share is 6000 - 5000 = 1000, pace 1000 / 500 = 2
    e.apply(record_from_event(target("rep", "r2", "2026-11", "5000.00", occurred_at="2026-11-16T00:00:00+08:00")))
    assert e.render("rep", "r1", "2026-11")["kpis"]["target"] == "1000.00"  # type: ignore[index]
    resolved = run(e, states, "rep", "r1", "2026-11")
    assert [(x["state"], x["alert_id"]) for x in resolved] == [("resolved", fired[0]["alert_id"])]
