"""``scorecard close-period YYYY-MM``: publish the month-close command."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import click
import orjson

from sales_scorecard.cli.kafka_io import make_producer
from sales_scorecard.cli.main import UserError
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import CONTROL


def close_event(period: str, now: datetime | None = None) -> dict:
    """The ``close_period`` event; its id is deterministic, so closing twice is a duplicate."""
    return {
        "event_id": f"close:{period}",
        "type": "close_period",
        "schema_version": 1,
        "occurred_at": format_timestamp(now or datetime.now(UTC)),
        "period": period,
    }


@click.command("close-period")
@click.argument("period")
def command(period: str) -> None:
    """Publish a close_period command for month PERIOD (YYYY-MM): payroll statements follow."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise UserError(f"period must be a month like 2026-11, got {period!r}")
    settings = Settings.from_env()
    producer = make_producer(settings)
    try:
        producer.send(CONTROL.full_name(settings), key=period.encode(),
                      value=orjson.dumps(close_event(period))).get(timeout=30)
    finally:
        producer.close()
    click.echo(f"close_period {period} published")
