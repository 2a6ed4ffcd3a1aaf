"""``scorecard snapshot``: the latest revision of every scorecard, as JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson

from sales_scorecard.cli.kafka_io import make_consumer
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import SCORECARDS

if TYPE_CHECKING:
    from kafka.consumer.fetcher import ConsumerRecord


def latest_by_key(records: Iterable[tuple[bytes | None, dict | None]]) -> dict[str, dict]:
    """Latest revision per ``{scope}:{id}:{period}`` from (key, value) records in topic
    order; a tombstone (value None) withdraws the key until a higher revision comes back.
    A re-sent older revision never replaces a newer one (a later record wins a tie)."""
    latest: dict[str, dict] = {}
    withdrawn: dict[str, int] = {}
    for raw_key, rec in records:
        if rec is None:
            key = raw_key.decode() if raw_key else ""
            old = latest.pop(key, None)
            if old is not None:
                withdrawn[key] = old["revision"]
            continue
        key = f"{rec['scope']}:{rec['id']}:{rec['period']}"
        if rec["revision"] <= withdrawn.get(key, 0):
            continue
        old = latest.get(key)
        if old is None or rec["revision"] >= old["revision"]:
            latest[key] = rec
    return latest


def read_records_to_end(settings: Settings, topic: str) -> list[ConsumerRecord]:
    """Every record of a topic up to the end offsets seen at the start, partition by
    partition in offset order (tombstones included)."""
    from kafka import TopicPartition

    consumer = make_consumer(settings)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records: list[ConsumerRecord] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                records.extend(r for r in batch if r.offset < end[tp])
        return records
    finally:
        consumer.close()


def read_topic_to_end(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) of a topic, as ``read_records_to_end`` reads them."""
    return [(r.key, r.value) for r in read_records_to_end(settings, topic)]


def read_snapshot(settings: Settings, period: str | None = None, scope: str | None = None) -> list[dict]:
    """The latest scorecards, filtered and sorted by key."""
    records = ((k, None if v is None else orjson.loads(v))
               for k, v in read_topic_to_end(settings, SCORECARDS.full_name(settings)))
    latest = latest_by_key(records)
    return [rec for key, rec in sorted(latest.items())
            if (period is None or rec["period"] == period) and (scope is None or rec["scope"] == scope)]


@click.command("snapshot")
@click.option("--period", default=None, help="Only this period (e.g. 2026-11, 2026-Q4, 2026, R30D).")
@click.option("--scope", type=click.Choice(["rep", "team", "company"]), default=None, help="Only this scope.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default stdout).")
def command(period: str | None, scope: str | None, out: Path | None) -> None:
    """Read sales.scorecards to its end; write the latest revision per key as JSON lines."""
    rows = read_snapshot(Settings.from_env(), period, scope)
    data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
    click.echo(f"{len(rows)} scorecards", err=True)
