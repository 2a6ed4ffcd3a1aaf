"""The period a board shows when none is asked for; what explain says of commission and which
complaints and activities it lists."""

from __future__ import annotations

import pytest

from sales_scorecard.core.boards import current_month, default_month, explain
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, complaint, deal, roster, target


@pytest.mark.parametrize(
    ("clock_month", "labels", "expected"),
    [
        (None, [], None),
        ("2026-11", [], "2026-11"),  # nothing anywhere: the clock's month, empty
        ("2026-11", ["2026-11", "2026-10", "2026-Q4", "2026"], "2026-11"),
        ("2026-12", ["2026-11", "2026-10", "2026-Q4", "2026"], "2026-11"),  # new month, no sale yet
        ("2026-12", ["2026-10", "2027-01", "2026-Q4"], "2026-10"),  # a future month is not "latest"
        ("2026-12", ["2026-Q4", "2026"], "2026-12"),  # no month at all
    ],
)
def test_default_month(clock_month: str | None, labels: list[str], expected: str | None) -> None:
    assert default_month(clock_month, labels) == expected


def _deal(event_id: str, at: str) -> dict:
    return {"event_id": event_id, "type": "deal", "schema_version": 1, "occurred_at": at, "deal_id": event_id,
            "customer_id": "c1", "currency": "CNY", "created_at": at, "rep_id": "r1", "version": 1,
            "stage": "won", "amount": "100.00", "closed_at": at}


def test_a_close_stamped_after_midnight_does_not_blank_the_board() -> None:
    """The demo's wart: closing a month at 20:00 UTC on the 30th is 04:00 on the 1st in
    Shanghai; the board's default must stay on the month that has the sales."""
    engine = ScorecardEngine("Asia/Shanghai")
    assert current_month(engine) is None
    engine.apply(record_from_event(_deal("d1", "2026-11-20T10:00:00+08:00")))
    assert current_month(engine) == "2026-11"
    engine.apply(record_from_event({"event_id": "close:2026-10", "type": "close_period", "schema_version": 1,
                                    "occurred_at": "2026-11-30T20:00:00Z", "period": "2026-10"}))
    assert engine.calendar.containing(engine.clock())[0].label == "2026-12"
    assert current_month(engine) == "2026-11"
    engine.apply(record_from_event(_deal("d2", "2026-12-01T09:00:00+08:00")))
    assert current_month(engine) == "2026-12"


def test_explain_shows_each_month_band_with_its_gate() -> None:
    """Contract §11: a rep's explain says how the plan paid each month, gate included."""
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), target("rep", "r1", "2026-11", "1000000.00"),
               deal("d1", "r1", "c1", "1200000.00", closed_at="2026-11-05T10:00:00+08:00"),
               activity("r1", "survey", occurred_at="2026-11-06T09:00:00+08:00", score=4),
               activity("r1", "survey", occurred_at="2026-11-07T09:00:00+08:00", score=4)):
        engine.apply(record_from_event(ev))
    (nov,) = explain(engine, "rep", "r1", "2026-11")["commission_months"]  # type: ignore[index]
    assert (nov["period"], nov["commission"]) == ("2026-11", "60000.00")  # csat 4.0 < 4.5: all at 5 %
    assert [(b["rate"], b["paid_rate"], b["gate"] and b["gate"]["passed"]) for b in nov["bands"]] == [
        (0.05, 0.05, None), (0.08, 0.05, False)]
    assert nov["bands"][1]["gate"]["conditions"][0]["actual"] == 4.0
    quarter = explain(engine, "rep", "r1", "2026-Q4")["commission_months"]  # type: ignore[index]
    assert [(m["period"], m["commission"]) for m in quarter] == [
        ("2026-10", "0.00"), ("2026-11", "60000.00"), ("2026-12", "0.00")]
    engine.apply(record_from_event(activity("r1", "survey", occurred_at="2026-11-08T09:00:00+08:00", score=5)))
    engine.apply(record_from_event(activity("r1", "survey", occurred_at="2026-11-09T09:00:00+08:00", score=5)))
    (nov,) = explain(engine, "rep", "r1", "2026-11")["commission_months"]  # type: ignore[index]
    assert nov["commission"] == "66000.00"  # (4 + 4 + 5 + 5) / 4 = 4.5 holds: 50,000 + 16,000
    assert explain(engine, "team", "t1", "2026-11")["commission_months"] is None  # type: ignore[index]


def test_explain_lists_the_complaints_and_activities_the_period_counts() -> None:
    """My scorecard (contract §13) shows them as tables: a complaint counts in the month it was
    opened and, resolved, in the month of its resolution; an activity in its own month; other
    reps' facts never."""
    engine = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), roster("r2", "t1"),
               complaint("k-oct", "r1", "c1", severity="low", opened_at="2026-10-20T09:00:00+08:00",
                         status="resolved", resolved_at="2026-11-02T09:00:00+08:00"),
               complaint("k-nov", "r1", "c2", severity="critical", opened_at="2026-11-05T09:00:00+08:00"),
               complaint("k-old", "r1", "c3", opened_at="2026-10-01T09:00:00+08:00"),
               complaint("k-r2", "r2", "c4", opened_at="2026-11-05T09:00:00+08:00"),
               activity("r1", "visit", occurred_at="2026-11-06T15:30:00+08:00", customer_id="c2", effective=True),
               activity("r1", "training", occurred_at="2026-11-03T09:00:00+08:00", duration_minutes=90),
               activity("r1", "call", occurred_at="2026-11-07T09:00:00+08:00", customer_id="c5", effective=False),
               activity("r1", "call", occurred_at="2026-10-30T09:00:00+08:00", customer_id="c1", effective=True),
               activity("r2", "call", occurred_at="2026-11-07T09:00:00+08:00", customer_id="c4", effective=True)):
        engine.apply(record_from_event(ev))
    facts = explain(engine, "rep", "r1", "2026-11")["facts"]  # type: ignore[index]
    assert facts["counted_complaints"] == [
        {"complaint_id": "k-oct", "customer_id": "c1", "severity": "low", "status": "resolved",
         "opened_at": "2026-10-20T09:00:00+08:00", "resolved_at": "2026-11-02T09:00:00+08:00"},
        {"complaint_id": "k-nov", "customer_id": "c2", "severity": "critical", "status": "open",
         "opened_at": "2026-11-05T09:00:00+08:00", "resolved_at": None},
    ]
    assert facts["counted_activities"] == [
        {"occurred_at": "2026-11-03T09:00:00+08:00", "kind": "training", "customer_id": None, "detail": 90},
        {"occurred_at": "2026-11-06T15:30:00+08:00", "kind": "visit", "customer_id": "c2", "detail": None},
        # not an effective contact: no customer credited
        {"occurred_at": "2026-11-07T09:00:00+08:00", "kind": "call", "customer_id": None, "detail": None},
    ]
    october = explain(engine, "rep", "r1", "2026-10")["facts"]  # type: ignore[index]
    assert [c["complaint_id"] for c in october["counted_complaints"]] == ["k-old", "k-oct"]
    assert [a["kind"] for a in october["counted_activities"]] == ["call"]
    team = explain(engine, "team", "t1", "2026-11")["facts"]  # type: ignore[index]
    assert team["counted_complaints"] == [] and team["counted_activities"] == []
