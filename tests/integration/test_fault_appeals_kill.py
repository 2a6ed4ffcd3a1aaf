"""Kill -9 between the opening and the decision of appeals (contract §10), again while
decisions are being processed, and once while a decision on an open month is held by the
payroll ledger in memory only: after the restarts nothing is lost (every dispute is served
with its whole history, both corrections are linked, the held appeal is paid at the close)
and nothing is paid twice (each adjustment id carries one amount, and each rep's month sums
to the reference model's)."""

from __future__ import annotations

import dataclasses
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sales_scorecard.streams.settings import Settings
from tests import factories as f
from tests.integration.kafka_helpers import metric_sum, wait_for
from tests.integration.test_appeals_pipeline import (
    BASE,
    DEC,
    NOV,
    adjustments,
    close_december_after_d3,
    disputes,
    facts_applied,
    payroll,
    produce,
    state_of,
)
from tests.reference.disputes import expected_appeals, normalise_dispute
from tests.reference.model import built_model

pytestmark = [pytest.mark.integration, pytest.mark.fault]


def test_kill_minus_nine_between_open_and_resolve_loses_nothing_and_pays_nothing_twice(
        test_settings: Settings, run_worker: Any, tmp_path: Path) -> None:
    s = dataclasses.replace(test_settings, store="rocksdb")
    worker = run_worker(s, name="w")
    produce(s, BASE)
    assert wait_for(lambda: facts_applied(worker) >= len(BASE), timeout=60)
    produce(s, [f.close_period("2026-11")])
    assert wait_for(lambda: len(payroll(s)) >= 2, timeout=60), payroll(s)

    opened = [f.dispute_opened("D-1", "r1", subject_ref="d1", occurred_at=DEC.format(2)),
              f.dispute_opened("D-2", "r2", subject_kind="commission", subject_ref=None, occurred_at=DEC.format(2)),
              f.dispute_opened("D-3", "r1", subject_kind="kpi", subject_ref="revenue", period="2026-12",
                               occurred_at=DEC.format(2))]
    produce(s, opened)
    assert wait_for(lambda: all(state_of(s, d) == "open" for d in ("D-1", "D-2", "D-3")), timeout=60)

    # Kill 1: both disputes open, nothing decided.
    worker.stop(sig=signal.SIGKILL)
    worker = run_worker(s, name="w-restart1")
    fix = f.deal("d1", "r1", "c1", "60000.00", version=2, closed_at=NOV.format(5), occurred_at=DEC.format(3),
                 dispute_id="D-1")
    held = f.dispute_resolved("D-3", "partially_upheld", adjustment_amount="-50.00", occurred_at=DEC.format(3))
    decisions = [f.dispute_resolved("D-1", "upheld", occurred_at=DEC.format(4)),
                 f.dispute_resolved("D-2", "upheld", adjustment_amount="300.00", occurred_at=DEC.format(4))]
    # December is open: the ledger holds D-3's adjustment in memory; its fact is all that is kept.
    produce(s, [held])
    assert wait_for(lambda: metric_sum(worker.metrics(), "scorecard_facts_total", type="appeal_adjustment") >= 1,
                    timeout=60)
    worker.stop(sig=signal.SIGKILL)
    worker = run_worker(s, name="w-restart-held")
    produce(s, [fix])
    assert wait_for(lambda: len(adjustments(s)) >= 2, timeout=120), payroll(s)
    produce(s, decisions)
    # Kill 2: while the decisions are on their way (sent, maybe applied, maybe recorded).
    worker.stop(sig=signal.SIGKILL)
    worker = run_worker(s, name="w-restart2")
    assert wait_for(lambda: state_of(s, "D-1") == "resolved" and state_of(s, "D-2") == "resolved", timeout=120)
    assert wait_for(lambda: "adj:appeal:D-2" in {a["adjustment_id"] for a in adjustments(s)}, timeout=120)
    assert wait_for(lambda: len(disputes(s)["D-1"]["adjustment_ids"]) == 2, timeout=120), disputes(s)
    december = close_december_after_d3(s)
    assert wait_for(lambda: "adj:appeal:D-3" in {a["adjustment_id"] for a in adjustments(s)}, timeout=120), \
        payroll(s)

    # Nothing lost: each dispute is the reference model's, with its whole history.
    model = expected_appeals(BASE + [f.close_period("2026-11"), *opened, held, fix, *decisions, *december])
    served = disputes(s)
    for dispute_id in ("D-2", "D-3"):
        assert normalise_dispute(served[dispute_id]) == model.disputes[dispute_id].record()
    d1 = normalise_dispute(served["D-1"])
    want_d1 = model.disputes["D-1"].record()
    assert {k: v for k, v in d1.items() if k not in ("revision", "event_id", "adjustment_ids")} == \
        {k: v for k, v in want_d1.items() if k not in ("revision", "event_id", "adjustment_ids")}

    # Nothing paid twice: every adjustment id has one amount (a re-send repeats it exactly),
    # and each rep's November sums to the reference model's commission plus the appeal.
    by_id: dict[str, set[tuple[str, str, str]]] = {}
    for a in adjustments(s):
        by_id.setdefault(a["adjustment_id"], set()).add((a["rep_id"], a["delta_revenue"], a["delta_commission"]))
    assert all(len(versions) == 1 for versions in by_id.values()), by_id
    assert sorted(by_id) == sorted(["adj:appeal:D-2", "adj:appeal:D-3", "adj:r1:2026-11:1", "adj:r2:2026-11:1"])
    assert sorted(served["D-1"]["adjustment_ids"]) == ["adj:r1:2026-11:1", "adj:r2:2026-11:1"]
    statements = {(p["rep_id"], p["period"]): Decimal(p["commission"])
                  for p in payroll(s) if p["type"] == "payroll.statement"}
    paid = dict(statements)
    for a in adjustments(s):  # one per id (above); the first copy of each
        if by_id.pop(a["adjustment_id"], None) is not None:
            paid[(a["rep_id"], a["original_period"])] += Decimal(a["delta_commission"])
    after = built_model(BASE + [f.close_period("2026-11"), fix, *december])
    appeals = {("r1", "2026-11"): Decimal(0), ("r2", "2026-11"): Decimal("300.00"),
               ("r1", "2026-12"): Decimal("-50.00")}
    assert set(paid) == set(appeals)
    for (rep, month), amount in appeals.items():
        assert paid[(rep, month)] == after.month_commission(rep, month) + amount, (rep, month)
    for a in adjustments(s):
        if a["adjustment_id"] in model.adjustments:  # the amounts: the reference model's
            want = model.adjustments[a["adjustment_id"]].record()
            assert {k: a[k] for k in want} == want
