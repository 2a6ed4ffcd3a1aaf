"""The ``scorecard`` command: a click group whose sub-commands load lazily.

Each sub-command lives in its own module under ``sales_scorecard.cli`` and exposes
a click command (or group) named ``command``; importing Faust only when a command
needs it keeps ``scorecard --help`` fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import IO, Any

import click

#: sub-command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "kafka": ("kafka", "Run the local Apache Kafka broker (up, down, status)."),
    "topics": ("topics", "Create the topics of the contract."),
    "worker": ("worker", "Run the stream processor (Faust worker + web server)."),
    "produce": ("produce", "Send JSON-lines events to their topics."),
    "simulate": ("simulate", "Generate a realistic, seeded event history."),
    "forecast": ("forecast", "The pipeline forecast: backtest it against the run rate."),
    "snapshot": ("snapshot", "Write the latest scorecard per key as JSON lines."),
    "close-period": ("close_period", "Publish a close_period command for a month."),
    "payroll-sink": ("payroll_sink", "Apply payroll events to a SQLite ledger."),
    "payroll": ("payroll", "Payroll ledger tools (export)."),
    "alert-sink": ("alert_sink", "Deliver alerts to a webhook, each exactly once."),
    "bench": ("bench.command", "Measure throughput, latency, memory and recovery; write bench/results/."),
    "whatif": ("whatif", "Recompute past rep-months under a candidate commission or scorecard plan."),
    "tokens": ("tokens", "Create bearer tokens for the web API (hashed tokens file)."),
}


class UserError(click.ClickException):
    """A mistake the user can fix; printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"scorecard: error: {self.format_message()}", err=True)


class LazyGroup(click.Group):
    """A group that imports a sub-command's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, help_text = COMMANDS[name]
        try:
            module = importlib.import_module(f"sales_scorecard.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sales_scorecard.cli.{module_name}":
                raise
            return click.Command(name, help=f"{help_text} (not available in this build)")
        cmd = module.command
        cmd.help = cmd.help or help_text
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sales-scorecard")
def cli() -> None:
    """Real-time sales scorecards on Kafka: KPIs, leaderboards, alerts, payroll."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from sales_scorecard.streams.internals_guard import InternalsMismatch
    from sales_scorecard.streams.settings import SettingsError

    try:
        cli.main(args=argv, prog_name="scorecard", standalone_mode=True)
    except (SettingsError, InternalsMismatch) as exc:
        click.echo(f"scorecard: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
