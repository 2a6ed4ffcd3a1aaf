"""``scorecard whatif``: last months' commission and scores under a candidate plan (contract §13).

Reads every fact the worker applied from the changelog of its ``facts`` table (compacted:
it keeps the whole history, where ``sales.facts`` keeps 30 days), up to the end offsets
seen at the start, into an engine under the current plans, then recomputes every
rep-month of the range under both plans (``core.whatif``). No worker needs to run.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter
from collections.abc import Container, Generator, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from sales_scorecard.cli.main import UserError
from sales_scorecard.cli.whatif_report import WRITERS, summary
from sales_scorecard.core.commission import PlanError, load_plans
from sales_scorecard.core.engine import Outcome, ScorecardEngine
from sales_scorecard.core.scoreplan import ScorePlanError, load_scorecard_plan
from sales_scorecard.core.whatif import Plans, WhatIfError, month_range, recompute, rep_engine
from sales_scorecard.core.whatif_loader import StoredFactLoader
from sales_scorecard.schemas.fact_types import FACT_TYPES
from sales_scorecard.streams.fact_log import entries
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import table_changelog

if TYPE_CHECKING:
    from kafka.consumer.fetcher import ConsumerRecord


def load_candidate(commission_plan: Path, scorecard_plan: Path | None, current: Plans) -> Plans:
    """The candidate plans; a plan file that cannot be used is a one-line ``UserError``."""
    try:
        commission = load_plans(str(commission_plan))
    except PlanError as exc:
        raise UserError(f"--commission-plan {commission_plan}: {exc}") from None
    scorecard = current.scorecard
    if scorecard_plan is not None:
        try:
            scorecard = load_scorecard_plan(str(scorecard_plan))
        except ScorePlanError as exc:
            raise UserError(f"--scorecard-plan {scorecard_plan}: {exc}") from None
    return Plans(scorecard, commission)


def current_plans(settings: Settings) -> Plans:
    """The plans the worker runs with (``SCORECARD_SCORECARD_PLAN``, ``SCORECARD_COMMISSION_PLAN``
    or the packaged defaults)."""
    try:
        return Plans(load_scorecard_plan(settings.scorecard_plan or None), load_plans(settings.commission_plan or None))
    except (PlanError, ScorePlanError) as exc:
        raise UserError(f"the current plan (SCORECARD_*_PLAN): {exc}") from None


def table_key(raw: bytes | None) -> str:
    """A table key as the changelog holds it: a JSON string (Faust's key serializer for
    ``str`` keys); raw text is read too."""
    if raw is None:
        return ""
    return str(orjson.loads(raw)) if raw.startswith(b'"') else raw.decode()


def stored_facts(records: Iterable[tuple[bytes | None, bytes | None]]) -> Iterator[dict[str, Any]]:
    """The facts of ``facts`` changelog records (key, value) in order: every fact of each row
    (a tombstone holds none)."""
    for key, value in records:
        if value is None:
            continue
        for _, fact in entries(table_key(key), orjson.loads(value)):
            yield fact


def apply_facts(engine: ScorecardEngine, facts: Iterable[dict[str, Any]],
                months: Container[str] | None = None) -> Counter[str]:
    """Apply stored facts to the what-if's engine (``StoredFactLoader``, the rep-months of
    ``months`` to be read; None: all); counts outcomes. An appeal's adjustment is paid by
    people, not by a plan: it is counted, not applied (contract §10)."""
    counts: Counter[str] = Counter()
    outcomes: Counter[Outcome] = Counter()
    loader = StoredFactLoader(engine, months)
    ledger = frozenset(kind for kind, fact_type in FACT_TYPES.items() if fact_type.ledger)
    # The load keeps millions of objects and makes no garbage cycles: the cyclic collector
    # would only walk the growing state again and again (11 % of the load's CPU at 5,000
    # reps). Whatever is cyclic is collected once it runs again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for fact in facts:
            if fact.get("type") in ledger:
                counts["appeal adjustments left out"] += 1
                continue
            try:
                outcome = loader.apply(fact)
            except (KeyError, TypeError, ValueError):
                counts["unreadable"] += 1
                continue
            outcomes[outcome] += 1
        loader.finish()
    finally:
        if collecting:
            gc.enable()
    counts.update({outcome.value: n for outcome, n in outcomes.items()})
    return counts


def read_changelog(settings: Settings, topic: str, quiet: bool) -> Generator[tuple[bytes | None, bytes | None]]:
    """(key, value) of every record of ``topic`` up to the end offsets seen at the start, in
    offset order, with a progress bar on a terminal."""
    from kafka import TopicPartition
    from tqdm import tqdm

    from sales_scorecard.cli.kafka_io import kafka_errors, make_consumer

    consumer = make_consumer(settings)
    try:
        with kafka_errors(settings):
            if topic not in consumer.topics():
                raise UserError(f"no topic {topic}: run a worker with SCORECARD_APP_ID={settings.app_id} over "
                                "the history first (its facts table is what a what-if reads)")
            tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
            bar = tqdm(total=sum(end[tp] - begin[tp] for tp in tps), unit="rows", desc="reading facts",
                       disable=quiet or not sys.stderr.isatty(), file=sys.stderr)
            try:
                while any(consumer.position(tp) < end[tp] for tp in tps):
                    batches: dict[Any, list[ConsumerRecord]] = consumer.poll(timeout_ms=1000)
                    for tp, batch in batches.items():
                        for record in batch:
                            if record.offset < end[tp]:
                                bar.update(1)
                                yield record.key, record.value
            finally:
                bar.close()
    finally:
        consumer.close()


@click.command("whatif")
@click.option("--commission-plan", "commission_plan", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Candidate commission plan (YAML, contract §7).")
@click.option("--scorecard-plan", "scorecard_plan", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Candidate scorecard plan (YAML, contract §6); default: the current one.")
@click.option("--from", "first", required=True, help="First month, YYYY-MM.")
@click.option("--to", "last", required=True, help="Last month, YYYY-MM (included).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write FILE.csv (one row per rep-month) or FILE.html (a report with a chart).")
@click.option("--top", type=click.IntRange(0), default=10, show_default=True, help="Largest changes listed.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(commission_plan: Path, scorecard_plan: Path | None, first: str, last: str, out: Path | None, top: int,
            quiet: bool) -> None:
    """Recompute every rep-month of a range under the current and a candidate plan."""
    try:
        month_range(first, last)
    except WhatIfError as exc:
        raise UserError(str(exc)) from None
    if out is not None and out.suffix.lower() not in WRITERS:
        raise UserError(f"--out {out}: the file must end in .csv or .html")
    settings = Settings.from_env()
    current = current_plans(settings)
    candidate = load_candidate(commission_plan, scorecard_plan, current)
    engine = rep_engine(settings.timezone, current)
    with closing(read_changelog(settings, table_changelog(settings, "facts"), quiet)) as records:
        counts = apply_facts(engine, stored_facts(records), frozenset(month_range(first, last)))
    click.echo("facts: " + (", ".join(f"{name} {n:,}" for name, n in sorted(counts.items())) or "none"), err=True)
    report = recompute(engine, candidate, first, last)
    click.echo(summary(report, current, candidate, top))
    if out is not None:
        WRITERS[out.suffix.lower()](report, out, top)
        click.echo(f"wrote {out}", err=True)
