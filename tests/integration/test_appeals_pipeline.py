"""Appeals end to end on a real broker (contract §10): a worker runs the dispute stage.

- open → re-credit the deal to the rep with the ``dispute_id`` → resolve upheld: the
  scorecards and the closed month's adjustments are the reference model's, each carries
  the dispute's id, and the dispute lists them;
- a manual ``adjustment_amount`` (on a closed month, and on an open one that waits for its
  close); a rejected dispute changes no number;
- every invalid transition is dead-lettered with the reference model's reason;
- an overdue dispute alerts its manager once, and the alert resolves with the dispute.

The payroll tests run with both ``SCORECARD_STAGES``: partitioned, an appeal's adjustment
reaches the rep stage partition that pays its rep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import produce_route
from tests import factories as f
from tests.integration.compare import assert_kpis_equal
from tests.integration.kafka_helpers import json_values, metric_sum, read_topic, send_raw, wait_for
from tests.reference.disputes import expected_appeals, normalise_dispute
from tests.reference.model import built_model

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"
DEC = "2026-12-{:02d}T10:00:00+08:00"
#: fields of a ``dispute`` event the reference model does not model: the links of
#: corrections add revisions and adjustment ids (checked on their own)
LINKED = ("revision", "event_id", "adjustment_ids")


def produce(settings: Settings, events: Iterable[dict[str, Any]]) -> None:
    """Send facts and appeal inputs to their topics with the contract's keys."""
    records = []
    for event in events:
        spec, key = produce_route(event)
        records.append((spec.full_name(settings), key.encode(), orjson.dumps(event)))
    send_raw(settings, records)


def disputes(settings: Settings) -> dict[str, dict[str, Any]]:
    """The latest ``dispute`` event of each dispute on ``sales.appeals`` (highest revision)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in json_values(read_topic(settings, settings.topic("sales.appeals"))):
        if event["dispute_id"] not in latest or event["revision"] > latest[event["dispute_id"]]["revision"]:
            latest[event["dispute_id"]] = event
    return latest


def payroll(settings: Settings) -> list[dict[str, Any]]:
    return json_values(read_topic(settings, settings.topic("sales.payroll")))


def adjustments(settings: Settings) -> list[dict[str, Any]]:
    return [p for p in payroll(settings) if p["type"] == "payroll.adjustment"]


def scorecards(settings: Settings) -> dict[tuple[str, str, str], dict[str, Any]]:
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for card in json_values(read_topic(settings, settings.topic("sales.scorecards"))):
        latest[(card["scope"], card["id"], card["period"])] = card
    return latest


def state_of(settings: Settings, dispute_id: str) -> str | None:
    found = disputes(settings).get(dispute_id)
    return None if found is None else found["state"]


#: r1's December deal, on sales.deals; the December close follows it on sales.control
D3 = f.deal("d3", "r1", "c3", "10000.00", closed_at=DEC.format(10))


def close_december_after_d3(settings: Settings) -> list[dict[str, Any]]:
    """Send ``D3``, wait until r1's December scorecard shows it, then close December; the
    events sent, in order.

    Input topics are read independently (contract §2), so a close sent with the deal can
    be applied first; the deal would then be a ``late_won`` adjustment. Finance closes a
    month once its facts are in.
    """
    produce(settings, [D3])
    assert wait_for(lambda: scorecards(settings).get(("rep", "r1", "2026-12"), {}).get("kpis", {}).get("revenue")
                    == "10000.00", timeout=60), scorecards(settings).get(("rep", "r1", "2026-12"))
    close = f.close_period("2026-12")
    produce(settings, [close])
    return [D3, close]


def facts_applied(worker: Any) -> float:
    return metric_sum(worker.metrics(), "scorecard_facts_total", outcome="applied")


def assert_dispute_is_the_reference(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every field of the reference model's ``dispute`` but the links of corrections."""
    got, want = normalise_dispute(got), dict(want)
    for name in LINKED:
        got.pop(name), want.pop(name)
    assert got == want


BASE = [
    f.roster("r1", "t1", manager_id="m-1"), f.roster("r2", "t1", manager_id="m-1"),
    f.target("rep", "r1", "2026-11", "100000.00"), f.target("rep", "r2", "2026-11", "100000.00"),
    # d1 is r1's, credited to r2 by mistake; d2 is r1's own.
    f.deal("d1", "r2", "c1", "60000.00", closed_at=NOV.format(5)),
    f.deal("d2", "r1", "c2", "30000.00", closed_at=NOV.format(12)),
]


def start_closed_november(settings: Settings, run_worker: Any) -> Any:
    """A worker that has applied ``BASE`` and closed November (two statements)."""
    worker = run_worker(settings)
    produce(settings, BASE)
    assert wait_for(lambda: facts_applied(worker) >= len(BASE), timeout=60)
    produce(settings, [f.close_period("2026-11")])
    assert wait_for(lambda: len(payroll(settings)) >= 2, timeout=60), payroll(settings)
    return worker


@pytest.mark.parametrize("stages", ["single", "partitioned"])
def test_a_recredit_named_by_an_upheld_dispute_pays_as_the_reference_model_says(test_settings: Settings,
                                                                              run_worker: Any, stages: str) -> None:
    s = dataclasses.replace(test_settings, stages=stages)
    start_closed_november(s, run_worker)
    opened = f.dispute_opened("D-1", "r1", subject_kind="deal", subject_ref="d1", occurred_at=DEC.format(2))
    produce(s, [opened])
    assert wait_for(lambda: state_of(s, "D-1") == "open", timeout=60), disputes(s)
    # The correction: d1 is re-credited to r1, naming the dispute.
    fix = f.deal("d1", "r1", "c1", "60000.00", version=2, closed_at=NOV.format(5), occurred_at=DEC.format(3),
                 dispute_id="D-1")
    produce(s, [fix])
    assert wait_for(lambda: len(adjustments(s)) >= 2, timeout=60), payroll(s)
    resolved = f.dispute_resolved("D-1", "upheld", resolved_by="m-1", occurred_at=DEC.format(4))
    produce(s, [resolved])
    assert wait_for(lambda: state_of(s, "D-1") == "resolved", timeout=60), disputes(s)

    # Payroll: each rep's November changes by the reference model's commission difference.
    before = built_model(BASE + [f.close_period("2026-11")])
    after = built_model(BASE + [f.close_period("2026-11"), fix])
    adj = {a["rep_id"]: a for a in adjustments(s)}
    assert set(adj) == {"r1", "r2"}
    for rep in ("r1", "r2"):
        want = after.month_commission(rep, "2026-11") - before.month_commission(rep, "2026-11")
        assert Decimal(adj[rep]["delta_commission"]) == want, (rep, adj[rep])
        assert (adj[rep]["reason"], adj[rep]["dispute_id"], adj[rep]["deal_id"]) == ("appeal", "D-1", "d1")
        assert adj[rep]["original_period"] == "2026-11" and adj[rep]["apply_in_period"] == "2026-12"
    # 60,000.00 moves from r2 to r1: r1 90,000.00 (90 % of target), r2 nothing.
    assert Decimal(adj["r1"]["delta_revenue"]) == Decimal("60000.00")
    assert Decimal(adj["r2"]["delta_revenue"]) == Decimal("-60000.00")

    # Scorecards: the reference model's KPIs.
    cards = scorecards(s)
    for rep in ("r1", "r2"):
        key = ("rep", rep, "2026-11")
        assert_kpis_equal(key, cards[key]["kpis"], after.kpis(*key))

    # The dispute: the reference model's state, with both adjustments linked.
    events = BASE + [f.close_period("2026-11"), opened, fix, resolved]
    want = expected_appeals(events).disputes["D-1"].record()
    got = disputes(s)["D-1"]
    assert_dispute_is_the_reference(got, want)
    assert sorted(got["adjustment_ids"]) == sorted(a["adjustment_id"] for a in adj.values())
    assert got["revision"] == 2 + 2  # opened, resolved, two links


@pytest.mark.parametrize("stages", ["single", "partitioned"])
def test_amounts_are_paid_once_a_rejection_pays_nothing_and_invalid_transitions_are_dead_lettered(
        test_settings: Settings, run_worker: Any, stages: str) -> None:
    s = dataclasses.replace(test_settings, stages=stages)
    worker = start_closed_november(s, run_worker)
    cards_before = {k: v["kpis"] for k, v in scorecards(s).items()}
    inputs = [
        f.dispute_opened("D-2", "r2", subject_kind="commission", subject_ref=None, occurred_at=DEC.format(2)),
        f.dispute_opened("D-3", "r1", subject_kind="kpi", subject_ref="revenue", period="2026-12",
                         occurred_at=DEC.format(2)),
        f.dispute_opened("D-4", "r1", subject_kind="deal", subject_ref="d2", occurred_at=DEC.format(2)),
    ]
    decisions = [
        # November is closed: paid now. December is open: paid once it closes.
        f.dispute_resolved("D-2", "upheld", adjustment_amount="300.00", occurred_at=DEC.format(3)),
        f.dispute_resolved("D-3", "partially_upheld", adjustment_amount="-50.00", occurred_at=DEC.format(3)),
        f.dispute_resolved("D-4", "rejected", occurred_at=DEC.format(3)),
    ]
    invalid = [
        f.dispute_resolved("D-404", "upheld", occurred_at=DEC.format(4)),  # no such dispute
        f.dispute_resolved("D-4", "upheld", adjustment_amount="1.00", occurred_at=DEC.format(4)),  # final
        f.dispute_withdrawn("D-2", withdrawn_by="r2", occurred_at=DEC.format(4)),  # final
        f.dispute_opened("D-3", "r1", occurred_at=DEC.format(4)),  # the id is taken
        f.dispute_opened("D-5", "r-nobody", occurred_at=DEC.format(4)),  # unknown rep
        {**f.dispute_resolved("D-2", "rejected", occurred_at=DEC.format(4)), "adjustment_amount": "5.00"},
    ]
    produce(s, inputs)
    assert wait_for(lambda: all(state_of(s, d) == "open" for d in ("D-2", "D-3", "D-4")), timeout=60)
    produce(s, decisions)
    assert wait_for(lambda: all(state_of(s, d) == "resolved" for d in ("D-2", "D-3", "D-4")), timeout=60)
    produce(s, invalid)
    december = close_december_after_d3(s)
    appeal_ids = {"adj:appeal:D-2", "adj:appeal:D-3"}
    assert wait_for(lambda: appeal_ids <= {a["adjustment_id"] for a in adjustments(s)}, timeout=60), payroll(s)
    assert wait_for(lambda: metric_sum(worker.metrics(), "scorecard_records_rejected_total",
                                       topic="sales.disputes") >= len(invalid), timeout=60)

    events = BASE + [f.close_period("2026-11"), *inputs, *decisions, *invalid, *december]
    model = expected_appeals(events)
    # The amounts: the reference model's adjustments, each once (the ledger posts after the statement).
    paid = [a for a in adjustments(s) if a["dispute_id"] is not None]
    assert sorted(a["adjustment_id"] for a in paid) == sorted(model.adjustments)
    for a in paid:
        want = model.adjustments[a["adjustment_id"]].record()
        assert {k: a[k] for k in want} == want
    # December's appeal follows December's statement of r1.
    r1_dec = [p["type"] for p in payroll(s) if p["rep_id"] == "r1" and p.get("period", p.get("original_period"))
              == "2026-12"]
    assert r1_dec == ["payroll.statement", "payroll.adjustment"]
    # The rejection changed no number: no adjustment names D-4, November's scorecards stand.
    assert not [p for p in payroll(s) if p.get("dispute_id") == "D-4"]
    cards_after = scorecards(s)
    for key, kpis in cards_before.items():
        if key[2] == "2026-11" and key[0] == "rep":
            assert cards_after[key]["kpis"]["revenue"] == kpis["revenue"]
    # Every dispute is the reference model's.
    served = disputes(s)
    assert set(served) == set(model.disputes)
    for dispute_id, want_dispute in model.disputes.items():
        assert normalise_dispute(served[dispute_id]) == want_dispute.record()
    # Every invalid transition is dead-lettered once, with the reference model's reason.
    dead = [d for d in json_values(read_topic(s, s.topic("sales.deadletter")))
            if d["topic"] == s.topic("sales.disputes")]
    got_reasons: dict[str, list[str]] = {}
    for letter in dead:
        got_reasons.setdefault(orjson.loads(letter["raw"])["event_id"], []).append(letter["reason"])
    assert got_reasons == model.dead_letter_reasons()


def test_an_overdue_dispute_alerts_its_manager_once_and_resolves_with_it(test_settings: Settings,
                                                                         run_worker: Any) -> None:
    s = test_settings
    worker = start_closed_november(s, run_worker)
    # Opened Wednesday 2 December 10:00: overdue after Wednesday 9 December 10:00.
    produce(s, [f.dispute_opened("D-9", "r2", occurred_at=DEC.format(2))])
    assert wait_for(lambda: state_of(s, "D-9") == "open", timeout=60)

    def overdue() -> list[dict[str, Any]]:
        return [a for a in json_values(read_topic(s, s.topic("sales.alerts"))) if a["rule"] == "dispute_overdue"]

    # The engine's clock reaches Tuesday 8 December: not overdue yet.
    produce(s, [f.activity("r1", "call", occurred_at=DEC.format(8))])
    assert wait_for(lambda: facts_applied(worker) >= len(BASE) + 2, timeout=60)
    assert not wait_for(lambda: bool(overdue()), timeout=4)
    # Thursday 10 December, then Friday 11: it fires once.
    produce(s, [f.activity("r1", "call", occurred_at=DEC.format(10))])
    assert wait_for(lambda: bool(overdue()), timeout=60)
    produce(s, [f.activity("r1", "call", occurred_at=DEC.format(11))])
    assert wait_for(lambda: facts_applied(worker) >= len(BASE) + 4, timeout=60)
    assert not wait_for(lambda: len(overdue()) > 1, timeout=4)
    [fired] = overdue()
    assert (fired["state"], fired["manager_id"], fired["dispute_id"], fired["id"]) == ("firing", "m-1", "D-9", "r2")
    assert fired["alert_id"] == "dispute_overdue:rep:r2:2026-11:D-9"
    # Resolved with the dispute.
    produce(s, [f.dispute_resolved("D-9", "rejected", occurred_at=DEC.format(11))])
    assert wait_for(lambda: len(overdue()) == 2, timeout=60)
    assert [a["state"] for a in overdue()] == ["firing", "resolved"]
