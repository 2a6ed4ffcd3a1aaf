"""A rep who changes team mid-month, and a deal reassigned between reps whose records
are consumed by different workers, through the real broker and real worker processes;
every published scorecard is compared key by key with the independent reference model
(tests/reference), as are the team leaderboards and the payroll ledger.

Facts go in phases, and each phase is processed before the next is sent, so the late
parts really are late: a rep's deals are credited to the old team before the roster
entry that moves them arrives, and the month is closed before the deal moves."""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from sales_scorecard.cli.snapshot import read_snapshot, read_topic_to_end
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ACTIVITIES, DEALS, LEADERBOARDS, PAYROLL, ROSTER, SCORECARDS
from tests.conftest import isolated_settings
from tests.factories import activity, close_period, complaint, deal, roster, target
from tests.integration.compare import (
    applied_total,
    assert_rep_teams_match,
    assert_snapshot_matches,
    boards_mismatch,
    latest_boards,
)
from tests.integration.conftest import WorkerProcess
from tests.integration.faults import (
    SHAPES,
    aggregation_owner,
    assert_ledger_matches_reference,
    ledger_paid,
    pipeline_settled,
    processing_errors,
    start_sink,
    start_workers,
    worker_settings,
)
from tests.integration.kafka_helpers import (
    group_assignment,
    group_caught_up,
    json_values,
    key_partition,
    metric_sum,
    produce_events,
    read_topic,
    wait_for,
)
from tests.reference.model import ReferenceModel, built_model

pytestmark = pytest.mark.integration

LOCAL = "+08:00"  # Asia/Shanghai, the default zone


def at(day: str, time_of_day: str = "10:00:00") -> str:
    """``MM-DD`` of 2026 at a local time of day."""
    return f"2026-{day}T{time_of_day}{LOCAL}"


class Feed:
    """Sends input events in phases; each phase is waited for until the pipeline settled
    (every fact applied, committed, rendered and published)."""

    def __init__(self, settings: Settings, workers: Callable[[], list[WorkerProcess]]) -> None:
        self.settings = settings
        self.workers = workers
        self.sent: list[dict] = []

    def owner_metrics(self) -> str:
        owner = aggregation_owner(self.workers())
        return "" if owner is None else owner.metrics()

    def phase(self, events: list[dict], timeout: float = 180) -> None:
        produce_events(self.settings, events)
        self.sent += events

        def settled() -> bool:
            text = self.owner_metrics()
            return bool(text) and applied_total(text) >= len(self.sent) and \
                pipeline_settled(self.settings, *(w.metrics() for w in self.workers()))

        assert wait_for(settled, timeout=timeout, interval=0.5), [w.log_tail(30) for w in self.workers()]


def published_history(settings: Settings, key: str) -> list[dict | None]:
    """Every value published on ``sales.scorecards`` under ``key``, tombstones as None."""
    return [None if v is None else orjson.loads(v)
            for k, v in read_topic_to_end(settings, SCORECARDS.full_name(settings)) if k == key.encode()]


def board_problems(settings: Settings, model: ReferenceModel) -> list[str]:
    return boards_mismatch(latest_boards(json_values(read_topic(settings, LEADERBOARDS.full_name(settings)))), model)


# --------------------------------------------------------------------------- a. team transfer
@pytest.mark.parametrize("shape", ["single", "partitioned", "company-values"])
def test_rep_transfers_team_mid_month_while_deals_flow(test_settings: Settings, run_worker, shape: str) -> None:
    """Rep rx moves from team ta (manager m-a) to tb (m-b) on 16 November at local
    midnight. Some of rx's later deals are processed before that roster entry arrives (first
    credited to ta, including a December deal that alone makes ta's December scorecards),
    others after it; a complaint opened in ta is resolved in tb; ra2's move to tb
    back-dated to 20 October arrives last, after the deals it re-attributes."""
    s = dataclasses.replace(test_settings, clock_refresh_seconds=2, **SHAPES[shape])
    worker = run_worker(s)
    feed = Feed(s, lambda: [worker])
    transfer = "2026-11-16T00:00:00" + LOCAL

    # Phase 1: the roster, targets and everything up to the transfer.
    feed.phase([
        roster("rx", "ta", manager_id="m-a"), roster("ra1", "ta", manager_id="m-a"),
        roster("ra2", "ta", manager_id="m-a"), roster("rb1", "tb", manager_id="m-b"),
        roster("rb2", "tb", manager_id="m-b"),
        target("rep", "rx", "2026-Q4", "900000.00"), target("rep", "ra1", "2026-11", "200000.00"),
        target("rep", "rb1", "2026", "2400000.00"), target("team", "ta", "2026-10", "400000.00"),
        target("company", "*", "2026-Q4", "3000000.00", market_size="90000000.00"),
        deal("x1", "rx", "c-x1", "150000.00", closed_at=at("10-10"), created_at=at("09-20")),
        activity("rx", "training", occurred_at=at("10-15"), duration_minutes=90),
        deal("a2-1", "ra2", "c-a2", "80000.00", closed_at=at("10-25"), created_at=at("10-01")),
        deal("b2-1", "rb2", "c-b2", "30000.00", stage="lost", closed_at=at("10-30")),
        activity("rb2", "email", occurred_at=at("11-01"), customer_id="c-b2"),
        activity("rx", "call", occurred_at=at("11-02"), customer_id="c-x1"),
        complaint("cx1", "rx", "c-x1", severity="high", opened_at=at("11-03", "09:00:00")),
        deal("a1-1", "ra1", "c-a1", "200000.00", closed_at=at("11-03"), created_at=at("10-10"), customer_tier="B"),
        activity("ra1", "call", occurred_at=at("11-04"), customer_id="c-a1"),
        activity("ra1", "visit", occurred_at=at("11-05"), customer_id="c-a1"),
        deal("x2", "rx", "c-x2", "120000.00", closed_at=at("11-05"), created_at=at("10-20"), customer_tier="A"),
        activity("rx", "visit", occurred_at=at("11-06"), customer_id="c-x2"),
        activity("rx", "survey", occurred_at=at("11-07"), customer_id="c-x2", score=4),
        deal("x3", "rx", "c-x3", "60000.00", stage="lost", closed_at=at("11-08")),
        deal("b1-1", "rb1", "c-b1", "300000.00", closed_at=at("11-09"), created_at=at("10-01")),
        complaint("cb1", "rb1", "c-b1", severity="low", status="resolved", opened_at=at("11-10"),
                  resolved_at=at("11-11")),
        deal("a2-2", "ra2", "c-a2", "50000.00", closed_at=at("11-12")),
    ])
    # Phase 2: rx keeps selling after the 16th, before the roster knows of the move: these
    # are credited to ta for now, and x5 alone makes ta's December scorecard.
    feed.phase([
        deal("x4", "rx", "c-x4", "100000.00", closed_at=transfer, created_at=at("11-01")),  # at the instant: tb
        activity("rx", "meeting", occurred_at=at("11-18"), customer_id="c-x4"),
        deal("x5", "rx", "c-x1", "250000.00", closed_at=at("12-03"), created_at=at("11-20")),
    ])
    # Phase 3: the transfer arrives, interleaved with more facts of both teams.
    feed.phase([
        deal("x6", "rx", "c-x6", "90000.00", closed_at=at("11-25"), created_at=at("11-17")),
        roster("rx", "tb", manager_id="m-b", effective_at=transfer),
        deal("b2-2", "rb2", "c-b2", "60000.00", closed_at=at("11-20"), created_at=at("11-02")),
        complaint("cx1", "rx", "c-x1", severity="high", status="resolved", opened_at=at("11-03", "09:00:00"),
                  resolved_at=at("11-20", "15:00:00"), version=2),  # opened in ta, resolved in tb
        deal("x7", "rx", "c-x7", "40000.00", closed_at=at("11-15", "23:59:59")),  # the last second in ta
        deal("a1-2", "ra1", "c-a1", "70000.00", stage="lost", closed_at=at("11-22")),
        activity("rx", "survey", occurred_at=at("11-26"), customer_id="c-x6", score=5),
        activity("ra1", "call", occurred_at=at("11-28"), customer_id="c-a1"),
        complaint("cb2", "rb2", "c-b2", severity="critical", opened_at=at("11-29")),
        activity("rb1", "demo", occurred_at=at("12-02"), customer_id="c-b1"),
        activity("rx", "call", occurred_at=at("12-04"), customer_id="c-x1"),
    ])
    # Phase 4: ra2's move to tb, back-dated to 20 October, arrives after both deals it moves.
    feed.phase([roster("ra2", "tb", manager_id="m-b", effective_at=at("10-20", "00:00:00"))])
    time.sleep(2)  # the last coalesced flush and clock refresh

    text = worker.metrics()
    assert processing_errors(text) == 0, worker.log_tail()
    assert metric_sum(text, "scorecard_records_rejected_total") == 0, worker.log_tail()
    model = built_model(feed.sent, timezone=s.timezone)
    rows = read_snapshot(s)
    assert assert_snapshot_matches(rows, model, exact_keys=True) >= 30
    assert assert_rep_teams_match(rows, model) >= 10

    # The scenario does what it says (reference model only, nothing taken from the engine).
    assert model.team_and_manager("rx", "2026-10") == ("ta", "m-a")
    assert model.team_and_manager("rx", "2026-11") == ("tb", "m-b")
    assert model.team_at("rx", model.cal.period("2026-11").start) == "ta"
    keys = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    assert ("team", "ta", "2026-12") not in keys
    # ... and ta's December key, made by x5 while rx was still in ta, was withdrawn.
    history = published_history(s, "team:ta:2026-12")
    assert history and history[0] is not None and history[-1] is None, history

    # Team boards place rx (and ra2) by the team at each period's end.
    assert [r[1] for r in model.board("team:tb", "2026-11")].count("rx") == 1
    assert "rx" not in [r[1] for r in model.board("team:ta", "2026-11")]
    assert "rx" in [r[1] for r in model.board("team:ta", "2026-10")]
    assert wait_for(lambda: not board_problems(s, model), timeout=30, interval=1), board_problems(s, model)


# --------------------------------------------------------------------------- b. reassignment
def split_reps(settings: Settings, members: dict[str, set[tuple[str, int]]]) -> tuple[str, str]:
    """Two rep ids whose roster and activity records land in partitions owned by different
    group members (the roster and activity topics are co-partitioned)."""
    roster_topic, activities_topic = ROSTER.full_name(settings), ACTIVITIES.full_name(settings)
    owner_of = {}
    for member, tps in members.items():
        for topic, partition in tps:
            owner_of[(topic, partition)] = member
    chosen: dict[str, str] = {}
    for i in range(200):
        rep = f"rep{i}"
        p = key_partition(rep.encode(), settings.partitions)
        member = owner_of.get((roster_topic, p))
        if member is not None and owner_of.get((activities_topic, p)) == member:
            chosen.setdefault(member, rep)
        if len(chosen) == 2:
            first, second = sorted(chosen.values())
            return first, second
    raise AssertionError(f"no two reps on different members: {members}")


@pytest.mark.fault
@pytest.mark.slow
def test_deal_reassigned_between_reps_on_different_workers(kafka_bootstrap: str, run_worker,
                                                          tmp_path: Path) -> None:
    """Six partitions, two worker processes. Deal dx, won in November by rep X, is
    reassigned to rep Y after November is closed, then amended; X's and Y's roster entries
    and activities are consumed by different workers (every version of the deal is in the
    partition of its key, deal_id). Scorecards, boards and the payroll ledger (statement
    plus adjustments per rep and month) equal the reference model."""
    base = dataclasses.replace(isolated_settings(kafka_bootstrap, tmp_path / "data", partitions=6),
                               clock_refresh_seconds=2, stages="partitioned")
    workers = start_workers(run_worker, worker_settings(base, 2, tmp_path))

    inputs = [ROSTER.full_name(base), ACTIVITIES.full_name(base), DEALS.full_name(base)]

    def split() -> dict[str, set[tuple[str, int]]]:
        members = group_assignment(base, base.app_id, inputs)
        return members if len(members) == 2 and all(members.values()) else {}

    assert wait_for(lambda: bool(split()), timeout=120), group_assignment(base, base.app_id, inputs)
    members = split()
    rx, ry = split_reps(base, members)
    feed = Feed(base, lambda: [w for w in workers if w.proc.poll() is None])
    nov = "2026-11"

    db = tmp_path / "ledger.sqlite"
    sink = start_sink(base, db)
    try:
        feed.phase([
            roster(rx, "tx", manager_id="m-x"), roster(ry, "ty", manager_id="m-y"),
            roster("rz", "ty", manager_id="m-y"),
            target("rep", rx, nov, "500000.00"), target("rep", ry, nov, "200000.00"),
            target("rep", ry, "2026-12", "200000.00"),
            deal("dx", rx, "c-1", "300000.00", closed_at=at("11-12"), created_at=at("10-15"), customer_tier="A"),
            deal("dx2", rx, "c-2", "250000.00", closed_at=at("11-20"), created_at=at("11-01")),
            deal("dy", ry, "c-3", "150000.00", closed_at=at("11-14"), created_at=at("11-02")),
            deal("dz", "rz", "c-4", "80000.00", closed_at=at("11-18")),
            activity(rx, "call", occurred_at=at("11-03"), customer_id="c-1"),
            activity(rx, "visit", occurred_at=at("11-04"), customer_id="c-1"),
            activity(ry, "call", occurred_at=at("11-05"), customer_id="c-3"),
            activity(ry, "training", occurred_at=at("11-06"), duration_minutes=120),
            complaint("k1", ry, "c-3", severity="medium", opened_at=at("11-15")),
            activity(rx, "call", occurred_at=at("12-01"), customer_id="c-2"),
            deal("dy2", ry, "c-5", "20000.00", closed_at=at("12-02")),
        ])
        # Finance closes November: statements for rx (550,000 against 500,000), ry and rz.
        feed.phase([close_period(nov)])
        # dx moves to ry (a reassignment of a closed month), then its amount is amended.
        feed.phase([deal("dx", ry, "c-1", "300000.00", version=2, closed_at=at("11-12"), created_at=at("10-15"),
                         customer_tier="A", occurred_at=at("12-03"))])
        feed.phase([
            activity(ry, "visit", occurred_at=at("12-04"), customer_id="c-1"),
            deal("dx", ry, "c-1", "320000.00", version=3, closed_at=at("11-12"), created_at=at("10-15"),
                 customer_tier="A", occurred_at=at("12-05")),
            activity(rx, "meeting", occurred_at=at("12-05"), customer_id="c-2"),
        ])
        time.sleep(2)  # the last coalesced flush and clock refresh
        assert wait_for(lambda: group_caught_up(base, f"{base.app_id}-payroll-sink", [PAYROLL.full_name(base)]),
                        timeout=120)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)

    assert all(w.proc.poll() is None for w in workers), [w.log_tail() for w in workers]
    assert all(processing_errors(w.metrics()) == 0 for w in workers), [w.log_tail() for w in workers]
    # Both workers consumed input, and the partitions stayed where they were when the reps
    # were chosen: rx's and ry's records went through different workers.
    assert all(metric_sum(w.metrics(), "scorecard_records_received_total") > 0 for w in workers)
    assert group_assignment(base, base.app_id, inputs) == members
    px, py = (key_partition(rep.encode(), base.partitions) for rep in (rx, ry))
    member_of = {p: m for m, tps in members.items() for t, p in tps if t == ROSTER.full_name(base)}
    assert member_of[px] != member_of[py]

    model = built_model(feed.sent, timezone=base.timezone)
    rows = read_snapshot(base)
    assert assert_snapshot_matches(rows, model, exact_keys=True) >= 20
    assert assert_rep_teams_match(rows, model) >= 5
    assert wait_for(lambda: not board_problems(base, model), timeout=30, interval=1), board_problems(base, model)

    # Payroll: per rep, November's statement plus its adjustments equal the reference figures.
    assert assert_ledger_matches_reference(db, model, [nov]) >= 5
    assert model.revenue("rep", rx, nov) == 250000 and model.revenue("rep", ry, nov) == 470000
    _, _, adjustments = ledger_paid(db)
    # The move and the amendment are adjustments of November's statements, paid in December
    # (contract §8 payroll.adjustment: the reason of the change, the first open month).
    moves = sorted((rep, reason, apply) for _aid, rep, original, _sid, apply, _dr, _dc, reason, *_ in adjustments
                   if original == nov)
    assert moves == sorted([(rx, "reassignment", "2026-12"), (ry, "reassignment", "2026-12"),
                            (ry, "amendment", "2026-12")]), adjustments
