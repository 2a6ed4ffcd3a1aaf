"""``scorecard forecast backtest``: how well the pipeline forecast predicted each rep's
month, against the run rate (contract §13), on a history of events.

The history is a JSON-lines file (``scorecard simulate --out``). Its input events are
validated like the worker validates them, ordered by ``occurred_at`` and replayed through
the engine in this process (``core/backtest.py``); events of other types (appeals) are
skipped and bad ones counted, both reported.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click
import orjson

from sales_scorecard.cli.main import UserError
from sales_scorecard.core.backtest import BacktestResult, replay
from sales_scorecard.schemas.records import InputEvent, record_from_event
from sales_scorecard.schemas.validation import Accepted, EventValidator
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE


class History:
    """The input events of a JSON-lines history, validated, and what was left out."""

    def __init__(self, lines: IO[bytes], currency: str) -> None:
        validator = EventValidator(currency)
        self.records: list[InputEvent] = []
        self.rejected: dict[str, int] = {}
        self.skipped = 0
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                kind = orjson.loads(line).get("type")
            except (orjson.JSONDecodeError, AttributeError):
                kind = None
            if kind is not None and kind not in TOPIC_FOR_TYPE:
                self.skipped += 1  # not an input event of contract §3 (e.g. an appeal)
                continue
            topic = TOPIC_FOR_TYPE[kind].name if isinstance(kind, str) else "sales.deals"
            result = validator.validate(topic, line)
            if isinstance(result, Accepted):
                self.records.append(record_from_event(result.event))
            else:
                self.rejected[result.reason] = self.rejected.get(result.reason, 0) + 1
        self.records.sort(key=lambda r: r.occurred_at)


def report(result: BacktestResult) -> str:
    """The printed table: both methods' WAPE per checkpoint."""
    rows = [f"months {result.months[0]} to {result.months[-1]}" if result.months else "no month with revenue",
            f"{'checkpoint':<11}{'rep-months':>11}{'forecast WAPE':>15}{'run-rate WAPE':>15}"]
    for score in result.overall.values():
        data = score.to_json()
        rows.append(f"{score.checkpoint:<11}{score.rep_months:>11}{_pct(data['forecast_wape']):>15}"
                    f"{_pct(data['run_rate_wape']):>15}")
    return "\n".join(rows)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


@click.group("forecast")
def command() -> None:
    """The pipeline forecast (contract §13)."""


@command.command("backtest")
@click.option("--events", "events", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), required=True,
              help="JSON-lines history, e.g. from `scorecard simulate --out`; - for standard input.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result as JSON to this file.")
def backtest(events: Path, out: Path | None) -> None:
    """Replay a history; at 1/3 and 2/3 of each month compare forecast and run rate with the month's revenue."""
    from sales_scorecard.streams.aggregation import new_engine
    from sales_scorecard.streams.settings import Settings

    settings = Settings.from_env()
    if str(events) == "-":
        history = History(sys.stdin.buffer, settings.currency)
    else:
        try:
            with events.open("rb") as lines:
                history = History(lines, settings.currency)
        except OSError as exc:
            raise UserError(f"cannot read --events {events}: {exc.strerror}") from None
    if not history.records:
        raise UserError(f"--events {events} holds no valid input event (expected JSON lines of contract §3)")
    result = replay(new_engine(settings), history.records)
    click.echo(report(result))
    left_out = ", ".join(f"{reason}: {n}" for reason, n in sorted(history.rejected.items()))
    click.echo(f"replayed {len(history.records)} events; skipped {history.skipped} of other types; "
               f"rejected {sum(history.rejected.values())}{f' ({left_out})' if left_out else ''}", err=True)
    if out is not None:
        try:
            out.write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            raise UserError(f"cannot write --out {out}: {exc.strerror}") from None
