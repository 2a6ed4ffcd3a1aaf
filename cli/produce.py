"""``scorecard produce FILE.jsonl|-``: send each JSON line to the topic of its type.

The line's bytes are sent unchanged (the worker validates them); the record key is
the one contract §2 prescribes for the type. A line that is not JSON, has no known type or
lacks its key field is reported as ``line N: …`` and skipped (``--strict`` stops).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO

import click
import orjson

from sales_scorecard.cli.kafka_io import RoutingError, make_producer
from sales_scorecard.cli.kafka_io import route as route_event
from sales_scorecard.cli.main import UserError
from sales_scorecard.streams.settings import Settings


class LineError(ValueError):
    """A line that cannot be routed."""


def route(line: bytes, settings: Settings) -> tuple[str, bytes]:
    """(full topic name, key) for one JSON line."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc})") from None
    if not isinstance(event, dict):
        raise LineError("not a JSON object")
    try:
        topic, key = route_event(event, settings)
    except RoutingError as exc:
        raise LineError(str(exc)) from None
    return topic, key.encode()


def produce_lines(
    settings: Settings, lines: Iterable[bytes], strict: bool = False, quiet: bool = False,
    rate: float = 0.0, total: int | None = None,
) -> tuple[Counter, list[str]]:
    """Send lines; returns acknowledged records per topic and the per-line problems."""
    import time

    from tqdm import tqdm

    producer = make_producer(settings)
    counts: Counter = Counter()
    problems: list[str] = []
    futures = []
    started = time.monotonic()
    bar = tqdm(total=total, unit="ev", disable=quiet or not sys.stderr.isatty(), file=sys.stderr)
    try:
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                topic, key = route(line, settings)
            except LineError as exc:
                message = f"line {number}: {exc}"
                if strict:
                    raise UserError(message + " (stopped: --strict)") from None
                problems.append(message)
                click.echo(message, err=True)
                continue
            futures.append((topic, producer.send(topic, key=key, value=line)))
            bar.update(1)
            if rate > 0:
                ahead = len(futures) / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush()
        for topic, future in futures:
            future.get(timeout=60)
            counts[topic] += 1
    finally:
        bar.close()
        producer.close()
    return counts, problems


def _read(stream: IO[bytes]) -> Iterator[bytes]:
    yield from stream


@click.command("produce")
@click.argument("path", type=click.Path(allow_dash=True))
@click.option("--strict", is_flag=True, help="Stop at the first line that cannot be routed (exit 2).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--rate", type=float, default=0.0, help="Events per second (0: as fast as possible).")
def command(path: str, strict: bool, quiet: bool, rate: float) -> None:
    """Send JSON-lines events (FILE or - for standard input) to their topics."""
    settings = Settings.from_env()
    if path == "-":
        counts, problems = produce_lines(settings, _read(sys.stdin.buffer), strict, quiet, rate)
    else:
        try:
            with open(path, "rb") as f:
                total = sum(1 for _ in f)
                f.seek(0)
                counts, problems = produce_lines(settings, _read(f), strict, quiet, rate, total)
        except FileNotFoundError:
            raise UserError(f"no such file: {path}") from None
    sent = sum(counts.values())
    detail = ", ".join(f"{topic}: {n}" for topic, n in sorted(counts.items()))
    click.echo(f"sent {sent} records ({detail}); skipped {len(problems)} lines", err=True)
