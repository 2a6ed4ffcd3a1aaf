"""``scorecard simulate``: write a seeded event history as JSON lines, or produce it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
import orjson

from sales_scorecard.cli.main import UserError
from sales_scorecard.cli.simulation import SimulationConfig, simulate, summary

#: Share of rep-months with a dispute in ``scorecard simulate`` (the library's default is none).
DEFAULT_DISPUTE_RATE = 0.05


@click.command("simulate")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--reps", type=click.IntRange(1), default=100, show_default=True)
@click.option("--teams", type=click.IntRange(1), default=10, show_default=True)
@click.option("--months", type=click.IntRange(1, 36), default=5, show_default=True)
@click.option("--start", "start", default="2026-07", show_default=True, help="First month, YYYY-MM.")
@click.option("--dispute-rate", "dispute_rate", type=float, default=DEFAULT_DISPUTE_RATE, show_default=True,
              help="Share of a rep's months disputed (appeals, sent to sales.disputes); 0 for none.")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=None,
              help="JSON-lines file (default: standard output).")
@click.option("--produce", "produce", is_flag=True, help="Send straight to Kafka instead of writing a file.")
@click.option("--rate", type=float, default=0.0, help="With --produce: events per second (0: as fast as possible).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(seed: int, reps: int, teams: int, months: int, start: str, dispute_rate: float, out: Path | None,
            produce: bool, rate: float, quiet: bool) -> None:
    """Generate a realistic history: roster, targets, deals, complaints, activities, appeals."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
        raise UserError(f"--start must be a month like 2026-07, got {start!r}")
    if not 0 <= dispute_rate <= 1:
        raise UserError(f"--dispute-rate must be between 0 and 1 (a share of rep-months), got {dispute_rate}")
    from zoneinfo import ZoneInfo  # noqa: F401 - settings validate the zone

    from sales_scorecard.streams.settings import Settings

    settings = Settings.from_env()
    cfg = SimulationConfig(seed=seed, reps=reps, teams=teams, start_month=start, months=months,
                           timezone=settings.timezone, currency=settings.currency, dispute_rate=dispute_rate)
    events = simulate(cfg)
    lines = [orjson.dumps(e) for e in events]
    if produce:
        from sales_scorecard.cli.produce import produce_lines

        counts, _ = produce_lines(settings, lines, quiet=quiet, rate=rate, total=len(lines))
        click.echo(f"produced {sum(counts.values())} events", err=True)
    elif out is None or str(out) == "-":
        sys.stdout.buffer.write(b"".join(line + b"\n" for line in lines))
    else:
        out.write_bytes(b"".join(line + b"\n" for line in lines))
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(summary(events).items())), err=True)
