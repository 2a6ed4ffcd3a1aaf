"""Shared steps of the fault-injection suite: payroll sink processes, settling, and the
checks of the ledger against an offline recomputation."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.payroll import PayrollLedger
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.lag import lag_topics
from sales_scorecard.streams.settings import Settings
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import group_caught_up, metric_sum, metric_value


def start_sink(settings: Settings, db: Path) -> subprocess.Popen:
    """A ``scorecard payroll-sink`` process writing to the SQLite ledger ``db``."""
    return subprocess.Popen([sys.executable, "-m", "sales_scorecard.cli.main", "payroll-sink", "--db", str(db)],
                            env={**os.environ, **settings.to_env()}, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pipeline_settled(settings: Settings, exposition: str) -> bool:
    """Both stages committed to the end of their inputs, the latest clock refresh covers the
    event clock (so pace and expected-to-date of keys no late fact touched are re-rendered
    too: give the worker a short ``clock_refresh_seconds``) and no scorecard update is pending."""
    return (group_caught_up(settings, settings.app_id, lag_topics(settings))
            and metric_value(exposition, "scorecard_clock_rendered_timestamp_seconds")
            >= metric_value(exposition, "scorecard_event_clock_timestamp_seconds")
            and metric_value(exposition, "scorecard_pending_updates") == 0)


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


def assert_ledger_pays_exactly(db: Path, events: list[dict], timezone: str, months: list[str]) -> int:
    """Per rep and closed month, statement + adjustments equal the offline revenue and
    commission; one statement per rep and month, no conflicting re-delivery. Returns the
    number of ledger lines."""
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
    expected, owed = offline_pay(events, timezone, months)
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
    return len(statements) + len(adjustments)


def processing_errors(exposition: str) -> float:
    """Unexpected errors a worker counted (a poison record, a failed flush): must stay 0."""
    return metric_sum(exposition, "scorecard_processing_errors_total")
