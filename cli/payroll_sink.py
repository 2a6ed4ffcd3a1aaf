"""``scorecard payroll-sink --db ledger.sqlite``: apply ``sales.payroll`` to a SQLite ledger.

Kafka offsets are committed only after the ledger transaction of the record has
committed, so a crash can only replay records, and replays are no-ops.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import click

from sales_scorecard.cli.kafka_io import consume_committing, make_group_consumer
from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import PAYROLL

log = logging.getLogger(__name__)


def run_sink(settings: Settings, db: Path, group: str, idle_exit: float | None = None) -> Counter:
    """Consume the payroll topic into the ledger until stopped (or caught up and idle for ``idle_exit`` s)."""
    consumer = make_group_consumer(settings, PAYROLL.full_name(settings), group)
    ledger = Ledger(db)
    try:
        # The ledger row is durable when apply returns: only then may Kafka forget the record.
        return consume_committing(
            consumer, lambda tp, record: ledger.apply(tp.topic, tp.partition, record.offset, record.value), idle_exit)
    finally:
        consumer.close()
        ledger.close()


@click.command("payroll-sink")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), required=True, help="SQLite ledger file.")
@click.option("--group", default=None, help="Consumer group (default: <app id>-payroll-sink).")
@click.option("--idle-exit", type=float, default=None,
              help="Stop once caught up and idle for this many seconds (batch runs, tests).")
def command(db: Path, group: str | None, idle_exit: float | None) -> None:
    """Apply payroll statements and adjustments to a SQLite ledger, idempotently."""
    settings = Settings.from_env()
    counts = run_sink(settings, db, group or f"{settings.app_id}-payroll-sink", idle_exit)
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no records", err=True)
