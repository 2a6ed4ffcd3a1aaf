"""``scorecard payroll export``: the CSV a payroll system imports, from the SQLite ledger."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from sales_scorecard.cli.ledger_db import Ledger
from sales_scorecard.cli.main import UserError
from sales_scorecard.streams.settings import Settings


@click.group("payroll")
def command() -> None:
    """Payroll ledger tools."""


@command.command("export")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=Path("ledger.sqlite"),
              show_default=True, help="SQLite ledger written by payroll-sink.")
@click.option("--period", required=True, help="Pay period, YYYY-MM.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="CSV file (default stdout).")
def export(db: Path, period: str, out: Path | None) -> None:
    """One row per rep per line type: commission of the period, adjustments applied in it."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise UserError(f"--period must be a month like 2026-11, got {period!r}")
    if not db.exists():
        raise UserError(f"no ledger at {db}: run `scorecard payroll-sink --db {db}` first")
    ledger = Ledger(db)
    try:
        if out is None:
            count = ledger.export(period, sys.stdout, Settings.from_env().currency)
        else:
            with open(out, "w", newline="") as f:
                count = ledger.export(period, f, Settings.from_env().currency)
    finally:
        ledger.close()
    click.echo(f"{count} rows for {period}", err=True)
