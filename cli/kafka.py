"""``scorecard kafka up|down|status``: the local Apache Kafka broker."""

from __future__ import annotations

from pathlib import Path

import click

from sales_scorecard.cli.main import UserError
from sales_scorecard.localkafka import broker

_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Broker data directory (default: $SCORECARD_DATA_DIR/kafka).",
)


def _say(message: str) -> None:
    """Progress lines (downloading, waiting) go to stderr; results to stdout."""
    click.echo(message, err=True)


@click.group("kafka")
def command() -> None:
    """Run the local Apache Kafka broker (KRaft, loopback only)."""


def _describe(state: str, info: broker.BrokerInfo) -> None:
    """The status line; for a secure broker also the client settings (file paths, never a password)."""
    transport = f", SASL_SSL {broker.SASL_MECHANISM}" if info.secure else ""
    click.echo(f"kafka {state}: bootstrap {info.bootstrap}{transport} (pid {info.pid}, data {info.data_dir})")
    if info.secure:
        click.echo(f"clients need these settings (the password is in {info.password_file}, mode 0600):")
        for name, value in info.client_env().items():
            click.echo(f"  export {name}={value}")


@command.command("up")
@click.option("--port", type=int, default=9092, show_default=True, help="Client port.")
@click.option("--secure", is_flag=True,
              help="SASL_SSL client listener: throw-away CA and certificate, SCRAM-SHA-512 user `scorecard`.")
@_data_dir
def up(port: int, secure: bool, data_dir: Path | None) -> None:
    """Start the broker (fetching it from Maven Central the first time); idempotent."""
    try:
        info = broker.up(port=port, data_dir=data_dir, progress=_say, secure=secure)
    except broker.BrokerError as exc:
        raise UserError(str(exc)) from None
    _describe("already running" if info.already_running else "started", info)


@command.command("down")
@_data_dir
def down(data_dir: Path | None) -> None:
    """Stop the broker (SIGTERM, then SIGKILL); nothing running is fine."""
    try:
        stopped = broker.down(data_dir)
    except broker.BrokerError as exc:
        raise UserError(str(exc)) from None
    click.echo("kafka stopped" if stopped else "kafka was not running")


@command.command("status")
@_data_dir
def status(data_dir: Path | None) -> None:
    """Say whether the broker runs; exit code 0 when it does, 1 when it does not."""
    info = broker.status(data_dir)
    if info is None:
        click.echo("kafka is not running")
        raise SystemExit(1)
    _describe("running" if broker.port_open(info.port) else "starting (port not answering yet)", info)
