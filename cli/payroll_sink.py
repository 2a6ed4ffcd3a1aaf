"""``scorecard payroll-sink --db ledger.sqlite``: apply ``sales.payroll`` to a SQLite ledger.

Kafka offsets are committed only after the ledger transaction of the record has
committed, so a crash can only replay records, and replays are no-ops.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import Counter
from pathlib import Path

import click

from sales_scorecard.cli.kafka_io import require_reachable
from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import PAYROLL

log = logging.getLogger(__name__)


def run_sink(settings: Settings, db: Path, group: str, idle_exit: float | None = None) -> Counter:
    """Consume the payroll topic into the ledger until stopped (or idle for ``idle_exit`` seconds)."""
    from kafka import KafkaConsumer, OffsetAndMetadata

    require_reachable(settings)
    ledger = Ledger(db)
    consumer = KafkaConsumer(
        PAYROLL.full_name(settings), bootstrap_servers=settings.bootstrap_servers, group_id=group,
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
        session_timeout_ms=10000, heartbeat_interval_ms=3000,
    )
    counts: Counter = Counter()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last_record = time.monotonic()
    try:
        while not stopping:
            batches = consumer.poll(timeout_ms=500)
            if not batches:
                if idle_exit is not None and time.monotonic() - last_record >= idle_exit and _caught_up(consumer):
                    break
                continue
            last_record = time.monotonic()
            for tp, records in batches.items():
                for record in records:
                    counts[ledger.apply(tp.topic, tp.partition, record.offset, record.value)] += 1
                    # The ledger row is durable: only now may Kafka forget the record.
                    consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
    finally:
        consumer.close()
        ledger.close()
    return counts


def _caught_up(consumer) -> bool:
    """True once partitions are assigned and every one is read to its end."""
    assignment = consumer.assignment()
    if not assignment:
        return False
    ends = consumer.end_offsets(list(assignment))
    return all(consumer.position(tp) >= ends[tp] for tp in assignment)


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
