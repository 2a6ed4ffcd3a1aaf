"""The what-if offline (contract §13): a simulated history read back as the worker's ``facts``
table rows, applied to the what-if's engine, then every rep-month recomputed under the
default plan and a 6 % / 9 % candidate.

The facts are encoded as the changelog holds them (rows of a batch of facts, JSON keys)
and decoded and applied with ``scorecard whatif``'s own functions; only Kafka's fetch is
left out, so the figure is the command's work over facts read from memory rather than
from the broker. Simulating and encoding the history are timed apart, as setup; with
``--whatif-kafka`` the rows also go through a broker and the command's read of them is
timed apart too.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal

import orjson

from sales_scorecard.core.whatif import Plans
from sales_scorecard.streams.settings import Settings

#: Facts per stored row (the worker stores one row per ``sales.facts`` message, a batch).
ROW_FACTS = 200


def candidate_plans() -> Plans:
    """The default plans with the commission bands paid 6 % and 9 % instead of 5 % and 8 %."""
    from sales_scorecard.core.commission import PlanSet, load_plans
    from sales_scorecard.core.scoreplan import load_scorecard_plan

    rates = {Decimal("0.05"): Decimal("0.06"), Decimal("0.08"): Decimal("0.09")}
    default = load_plans(None).default
    plan = replace(default, plan_id="bench-6-9", tiers=tuple(replace(t, rate=rates[t.rate]) for t in default.tiers))
    return Plans(load_scorecard_plan(None), PlanSet(plan))


def stored_rows(events: list[dict]) -> Iterator[tuple[bytes, bytes]]:
    """The events as ``facts`` changelog records: ``ROW_FACTS`` facts a row, JSON-string keys."""
    from sales_scorecard.schemas.fact_types import FACT_TYPES

    for n, start in enumerate(range(0, len(events), ROW_FACTS)):
        row = [[FACT_TYPES[e["type"]].fact_key(e), e] for e in events[start:start + ROW_FACTS]]
        yield orjson.dumps(f"{n:012d}.0000beef"), orjson.dumps(row)


def measure_fetch(settings: Settings, records: list[tuple[bytes, bytes]], say: Callable[[str], None]) -> dict:
    """Seconds (wall and CPU) of ``scorecard whatif``'s read of a ``facts`` changelog holding
    ``records`` (``read_changelog``: Kafka's fetch, no decoding), produced to the broker of
    ``settings`` first (not timed)."""
    from kafka.admin import NewTopic

    from sales_scorecard.cli.kafka_io import make_admin, make_producer
    from sales_scorecard.cli.whatif import read_changelog
    from sales_scorecard.streams.topics import table_changelog

    topic = table_changelog(settings, "facts")
    admin = make_admin(settings)
    try:
        admin.create_topics([NewTopic(topic, settings.partitions, settings.replication_factor)])
    finally:
        admin.close()
    say(f"whatif: producing the {len(records):,} rows to {topic} (setup, not timed)")
    producer = make_producer(settings, acks=1, linger_ms=20)
    try:
        for n, (key, value) in enumerate(records):
            producer.send(topic, key=key, value=value, partition=n % settings.partitions)
        producer.flush()
    finally:
        producer.close()
    say("whatif: reading them back as the command does")
    started, cpu = time.perf_counter(), time.process_time()
    rows = size = 0
    for _, stored in read_changelog(settings, topic, quiet=True):
        rows += 1
        size += len(stored or b"")
    fetched, fetched_cpu = time.perf_counter() - started, time.process_time() - cpu
    say(f"  {fetched:.1f} s ({fetched_cpu:.1f} CPU-s) for {rows:,} rows, {size / 2 ** 20:,.0f} MiB")
    return {"fetch_rows": rows, "fetch_mib": round(size / 2 ** 20), "fetch_s": round(fetched, 1),
            "fetch_cpu_s": round(fetched_cpu, 1)}


def measure(reps: int, months: int, say: Callable[[str], None], fetch_from: Settings | None = None) -> dict:
    """Seconds (wall and CPU) of ``scorecard whatif``'s own work over ``reps`` × ``months``:
    decoding the stored rows and applying their facts, then recomputing the rep-months of
    the whole range under both plans; peak RSS of the process. Simulating the history and
    encoding it as rows come first and are timed apart (``setup_*``): not the command's work.
    With ``fetch_from`` (a broker's settings) the read of those rows from Kafka is timed
    too, apart (``measure_fetch``)."""
    from sales_scorecard.cli.simulation import SimulationConfig, simulate
    from sales_scorecard.cli.whatif import apply_facts, stored_facts
    from sales_scorecard.core.commission import load_plans
    from sales_scorecard.core.labels import shift
    from sales_scorecard.core.scoreplan import load_scorecard_plan
    from sales_scorecard.core.whatif import month_range, recompute, rep_engine

    first = "2026-01"
    last = shift(first, months - 1)
    say(f"whatif: simulating {reps:,} reps x {months} months (setup, not timed as the command's work)")
    started, cpu = time.perf_counter(), time.process_time()
    events = simulate(SimulationConfig(seed=7, reps=reps, teams=max(1, reps // 10), months=months, start_month=first))
    simulated, simulated_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    records = list(stored_rows(events))
    encoded, encoded_cpu = time.perf_counter() - started, time.process_time() - cpu
    facts = len(events)
    del events
    fetched = measure_fetch(fetch_from, records, say) if fetch_from is not None else {}
    current = Plans(load_scorecard_plan(None), load_plans(None))
    engine = rep_engine("Asia/Shanghai", current)
    say(f"whatif: the command's work: decoding and applying {facts:,} facts in {len(records):,} rows")
    started, cpu = time.perf_counter(), time.process_time()
    counts = apply_facts(engine, stored_facts(records), frozenset(month_range(first, last)))
    applied, applied_cpu = time.perf_counter() - started, time.process_time() - cpu
    say(f"  {applied:.1f} s ({applied_cpu:.1f} CPU-s); recomputing {first}..{last} under both plans")
    started, cpu = time.perf_counter(), time.process_time()
    report = recompute(engine, candidate_plans(), first, last)
    recomputed, recomputed_cpu = time.perf_counter() - started, time.process_time() - cpu
    say(f"  {recomputed:.1f} s ({recomputed_cpu:.1f} CPU-s)")
    total = report.total()
    return {
        "reps": reps, "months": months, "facts": facts, "rows": len(records),
        "outcomes": dict(counts), "rep_months": len(report.rows),
        # the command's work (Kafka's fetch aside): wall seconds ...
        "decode_apply_s": round(applied, 1), "recompute_s": round(recomputed, 1),
        "total_s": round(applied + recomputed, 1),
        # ... and CPU seconds of this process: on a shared machine the figure least moved by other load
        "decode_apply_cpu_s": round(applied_cpu, 1), "recompute_cpu_s": round(recomputed_cpu, 1),
        "total_cpu_s": round(applied_cpu + recomputed_cpu, 1),
        "facts_per_s": round(facts / applied), "rep_months_per_s": round(len(report.rows) / recomputed),
        # the setup: simulating the history and encoding it as the table's rows (not the command's work)
        "setup_simulate_s": round(simulated, 1), "setup_simulate_cpu_s": round(simulated_cpu, 1),
        "setup_encode_s": round(encoded, 1), "setup_encode_cpu_s": round(encoded_cpu, 1),
        # Kafka's fetch of the rows, timed apart (with --whatif-kafka only)
        **fetched,
        "commission_current": str(total.current), "commission_candidate": str(total.candidate),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
