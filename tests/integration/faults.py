"""Shared steps of the fault-injection suite: its topology (partitions, workers), payroll
sink processes, settling, and the checks of the ledger against an offline recomputation
and the reference model."""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.cli.snapshot import read_snapshot
from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.payroll import PayrollLedger
from sales_scorecard.localkafka.broker import free_port
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.lag import lag_topics
from sales_scorecard.streams.settings import Settings
from tests.conftest import isolated_settings
from tests.integration.compare import assert_snapshot_equals_offline, assert_snapshot_matches
from tests.integration.conftest import REPO, WorkerProcess
from tests.integration.kafka_helpers import group_caught_up, metric_sum, metric_value, wait_for
from tests.reference.model import ReferenceModel, built_model

#: Partitions of every topic in the fault suite (the internal single-partition ones aside).
#: Six is a multiple of one, two and three workers: with standby replicas Faust's sticky
#: assignor lets a worker keep up to ceil(partitions / workers), so four partitions among
#: three workers can leave one with none (2, 2, 0).
DEFAULT_PARTITIONS = 6


def fault_partitions() -> int:
    """The fault suite's partition count: ``SCORECARD_TEST_PARTITIONS``, else 6."""
    return int(os.environ.get("SCORECARD_TEST_PARTITIONS") or DEFAULT_PARTITIONS)


def fault_workers(default: int) -> int:
    """How many worker processes a fault test runs: ``SCORECARD_TEST_WORKERS``, else the
    test's own default (one for most, three for the scale-out test). The override runs the
    suite as a matrix, e.g. ``SCORECARD_TEST_WORKERS=2 make test-fault``, without making the
    default run longer."""
    return int(os.environ.get("SCORECARD_TEST_WORKERS") or default)


#: The aggregation's shapes a test runs in: the settings of each (``company-values``: the
#: partitioned stages with the company's activities from the team partitions' values).
SHAPES: dict[str, dict[str, Any]] = {
    "single": {"stages": "single"},
    "partitioned": {"stages": "partitioned"},
    "company-values": {"stages": "partitioned", "company_values": True},
}


def fault_settings(bootstrap: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of a fault test's own (``isolated_settings``: data under ``tmp_path / "data"``,
    ``fault_partitions()`` partitions) with ``overrides`` replaced."""
    return dataclasses.replace(isolated_settings(bootstrap, tmp_path / "data", partitions=fault_partitions()),
                               **overrides)


def worker_settings(base: Settings, count: int, tmp_path: Path) -> list[Settings]:
    """Settings of ``count`` workers of one group: ``base`` and copies with a web port and
    a data directory of their own."""
    return [base] + [dataclasses.replace(base, web_port=free_port(), data_dir=str(tmp_path / f"w{i}"))
                     for i in range(1, count)]


def start_workers(run_worker, settings: list[Settings], timeout: float = 240) -> list[WorkerProcess]:
    """Start one worker per settings (``run_worker`` is the fixture): the first until it is
    ready (it creates the changelog topics), then the others at once; wait until every one
    is ready."""
    workers = [run_worker(settings[0], name="w0")]
    workers += [run_worker(s, name=f"w{i}", ready=False) for i, s in enumerate(settings[1:], start=1)]
    assert wait_for(lambda: all(w.readiness().get("ready") for w in workers), timeout=timeout), \
        [w.log_tail(20) for w in workers]
    return workers


def redeliveries(worker: WorkerProcess) -> tuple[float, float]:
    """What made the worker process records again so far: the partition assignments it
    received (a rebalance: its new partitions restart from their last commit) and the
    stalled partitions it re-delivered (``scorecard_partition_rewinds_total``)."""
    text = worker.metrics()
    return metric_value(text, "scorecard_rebalances_total"), metric_sum(text, "scorecard_partition_rewinds_total")


def start_fault_workers(run_worker, settings: Settings, tmp_path: Path, default: int = 1) -> list[WorkerProcess]:
    """Start ``fault_workers(default)`` workers of one group from ``settings`` (``start_workers``
    over ``worker_settings``); wait until every one is ready."""
    return start_workers(run_worker, worker_settings(settings, fault_workers(default), tmp_path))


def start_sink(settings: Settings, db: Path) -> subprocess.Popen:
    """A ``scorecard payroll-sink`` process writing to the SQLite ledger ``db``."""
    return subprocess.Popen([sys.executable, "-m", "sales_scorecard.cli.main", "payroll-sink", "--db", str(db)],
                            env={**os.environ, **settings.to_env()}, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def aggregation_owner(workers: list[WorkerProcess]) -> WorkerProcess | None:
    """The ready worker that owns the aggregation stage (``sales.facts``), if any."""
    for w in workers:
        r = w.readiness()
        if r.get("ready") and r.get("aggregation_owner"):
            return w
    return None


def facts_seen(workers: list[WorkerProcess]) -> float:
    """Facts the aggregation stages of the live workers have seen since they started (a
    worker starting, just killed or too busy to answer within half a second counts none)."""
    answers = (http_get(w.settings.web_port, "/metrics", timeout=0.5) for w in workers)
    return sum(metric_sum(body.decode(), "scorecard_facts_total") for status, body in answers if status == 200)


def wait_mid_chunk(workers: list[WorkerProcess], seen: float, chunk_size: int, rnd: random.Random) -> None:
    """Waits for a random moment while a just-produced chunk is being digested: a random
    0.5-6 s, cut short once the workers have seen a random 20-60 % of the chunk's facts
    more than ``seen`` (``facts_seen`` before the chunk was produced), so that a fast
    machine is still mid-chunk when the kill comes."""
    delay, share = rnd.uniform(0.5, 6.0), rnd.uniform(0.2, 0.6)
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and facts_seen(workers) - seen < share * chunk_size:
        time.sleep(0.1)


def pipeline_settled(settings: Settings, *expositions: str) -> bool:
    """Every stage committed to the end of its input (the input topics, ``sales.facts``
    and ``sales.rep-facts``: the rep stage processed every message the org stage sent),
    the latest clock refresh of every worker holding a stage covers the event clock (so
    pace and expected-to-date of keys no late fact touched are re-rendered too: give the
    worker a short ``clock_refresh_seconds``) and no scorecard update is pending.
    ``expositions``: the metrics of every live worker. (The sent and done counters of
    the two stages restart with their process, so after a kill they prove nothing; the
    committed offsets do.)"""
    if not expositions or not all(expositions):
        return False
    clock = max(metric_value(m, "scorecard_event_clock_timestamp_seconds") for m in expositions)
    rendered = [metric_value(m, "scorecard_clock_rendered_timestamp_seconds") for m in expositions]
    return (group_caught_up(settings, settings.app_id, lag_topics(settings))
            and all(r >= clock for r in rendered if r > 0) and max(rendered) >= clock
            and sum(metric_value(m, "scorecard_pending_updates") for m in expositions) == 0)


def group_settled(settings: Settings, workers: list[WorkerProcess]) -> bool:
    """A ready worker of ``workers`` owns the aggregation stage and the pipeline settled
    (``pipeline_settled`` over the metrics of every one of them)."""
    return aggregation_owner(workers) is not None and pipeline_settled(settings, *(w.metrics() for w in workers))


def assert_snapshot_exact(settings: Settings, events: list[dict], more_than: int) -> list[dict]:
    """The published snapshot equals the offline recomputation of ``events`` and matches the
    independent reference model (tests/reference, written from the contract by another
    author), each over more than ``more_than`` scorecards; returns its rows."""
    rows = read_snapshot(settings)
    offline = assert_snapshot_equals_offline(rows, events, settings.timezone)
    assert offline > more_than, ("scorecards compared with the offline recomputation", offline)
    reference = assert_snapshot_matches(rows, built_model(events, timezone=settings.timezone))
    assert reference > more_than, ("scorecards compared with the reference model", reference)
    return rows


def offline_pay(events: list[dict], timezone: str, months: list[str]
                ) -> tuple[dict[tuple[str, str], tuple[Decimal, Decimal]], set[tuple[str, str]]]:
    """(rep, month) -> (revenue, commission) of a from-scratch engine over ``events``, and
    the (rep, month) pairs owed a statement (revenue, a target or activity in the month)."""
    engine = ScorecardEngine(timezone=timezone)
    for event in events:
        engine.apply(record_from_event(event))
    reps = {id for (scope, id) in engine.known if scope == "rep"}
    pay = {(rep, month): (engine.rep_month_revenue(rep, month), engine.month_commission(rep, month))
           for rep in reps for month in months}
    owed = {(rep, month) for month in months for rep in PayrollLedger().eligible_reps(engine, month)}
    return pay, owed


def ledger_paid(db: Path) -> tuple[dict[tuple[str, str], list[Decimal]], list, list]:
    """(rep, month) -> [revenue, commission] paid in the SQLite ledger (statement plus its
    adjustments), the statement rows and the adjustment rows; asserts one statement per rep
    and month, every adjustment referencing one, and no conflicting re-delivery."""
    ledger = Ledger(db)
    try:
        statements = ledger.rows("statements")
        adjustments = ledger.rows("adjustments")
        conflicts = ledger.rows("conflicts")
    finally:
        ledger.close()
    assert not conflicts, f"same id delivered with different figures: {conflicts[:3]}"
    paid: dict[tuple[str, str], list[Decimal]] = {}
    for sid, rep, _team, period, revenue, _target, commission, *_ in statements:
        assert sid == f"stmt:{rep}:{period}", sid
        assert (rep, period) not in paid, f"two statements for {rep} {period}"
        paid[(rep, period)] = [Decimal(revenue), Decimal(commission)]
    for _aid, rep, original, sid, _apply, d_revenue, d_commission, *_ in adjustments:
        assert (rep, original) in paid, f"adjustment without statement: {rep} {original}"
        assert sid == f"stmt:{rep}:{original}"
        paid[(rep, original)][0] += Decimal(d_revenue)
        paid[(rep, original)][1] += Decimal(d_commission)
    return paid, statements, adjustments


def _assert_paid_exactly(paid: dict[tuple[str, str], list[Decimal]],
                         expected: dict[tuple[str, str], tuple[Decimal, Decimal]],
                         owed: set[tuple[str, str]], months: list[str]) -> None:
    # No missing line: everyone owed a statement has one, zero figures included (a rep
    # with only a target or activity). A statement beyond that set (its facts moved away
    # after the close) must be adjusted back to zero, which the loop below checks.
    missing = owed - paid.keys()
    assert not missing, f"no statement for {sorted(missing)[:5]}"
    for key, (revenue, commission) in expected.items():
        if revenue or commission:
            assert paid.get(key) == [revenue, commission], (key, paid.get(key), (revenue, commission))
    for key, figures in paid.items():
        assert key[1] in months, key
        assert figures == list(expected.get(key, (Decimal(0), Decimal(0)))), (key, figures)


def assert_ledger_pays_exactly(db: Path, events: list[dict], timezone: str, months: list[str]) -> int:
    """Per rep and closed month, statement + adjustments equal the offline revenue and
    commission; one statement per rep and month, no conflicting re-delivery. Returns the
    number of ledger lines."""
    paid, statements, adjustments = ledger_paid(db)
    expected, owed = offline_pay(events, timezone, months)
    _assert_paid_exactly(paid, expected, owed, months)
    return len(statements) + len(adjustments)


def assert_ledger_matches_reference(db: Path, model: ReferenceModel, months: list[str]) -> int:
    """The same checks against the independent reference model: per rep and closed month,
    statement + adjustments equal its revenue and contract §7 commission, and every rep with a
    scorecard in the month (revenue, a target or any fact) has a statement. Returns the
    number of ledger lines."""
    paid, statements, adjustments = ledger_paid(db)
    keys = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    owed = {(id, period) for scope, id, period in keys if scope == "rep" and period in months}
    reps = {rep for rep, _ in owed} | {rep for rep, _ in paid}
    expected = {(rep, month): (model.revenue("rep", rep, month), model.month_commission(rep, month))
                for rep in reps for month in months}
    _assert_paid_exactly(paid, expected, owed, months)
    return len(statements) + len(adjustments)


def processing_errors(exposition: str) -> float:
    """Unexpected errors a worker counted (a poison record, a failed flush): must stay 0."""
    return metric_sum(exposition, "scorecard_processing_errors_total")
