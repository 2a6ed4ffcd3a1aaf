"""The ``scorecard bench`` command: run the measurements, print a table, write results."""

from __future__ import annotations

import dataclasses
import platform
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from sales_scorecard.cli.worker_process import WorkerProcessError
from sales_scorecard.streams.kafka_security import security_fields
from sales_scorecard.streams.settings import Settings

PARTS = ("engine", "state", "throughput", "latency", "memory", "failover", "workers", "loops", "whatif")
#: What runs without --only: failover waits out Faust's 60 s session timeout for its baseline,
#: workers runs the throughput events through one worker and then two, loops runs the
#: throughput part's floor and pipeline six times, and state (an in-process check of what
#: the memory part measures, a few minutes) is asked for when memory is being worked on.
DEFAULT_PARTS = ("engine", "throughput", "latency", "memory")
#: The parts that run against a broker (the bench's own, or --bootstrap).
BROKER_PARTS = frozenset({"throughput", "latency", "memory", "failover", "loops", "workers"})


@contextmanager
def broker_for(bootstrap: str | None, workdir: Path) -> Iterator[str]:
    """The given broker, or a local one of our own for the duration of the run."""
    if bootstrap:
        yield bootstrap
        return
    from sales_scorecard.localkafka import broker

    data_dir = workdir / "kafka"
    info = broker.up(port=broker.free_port(), data_dir=data_dir, progress=lambda m: click.echo(m, err=True))
    try:
        yield info.bootstrap
    finally:
        broker.down(data_dir)


def bench_settings(bootstrap: str, workdir: Path, name: str, partitions: int, own_broker: bool = False,
                   **extra: Any) -> Settings:
    """Settings of one measurement: own topic prefix and app id, topics created. Kafka
    transport security (``SCORECARD_KAFKA_*``) comes from the environment, except for the
    bench's own local broker (``own_broker``), which is plaintext on loopback."""
    from sales_scorecard.cli.topics import create_topics
    from sales_scorecard.localkafka import broker

    security = {} if own_broker else security_fields(Settings.from_env())
    tag = uuid.uuid4().hex[:6]
    settings = Settings(bootstrap_servers=bootstrap, web_port=broker.free_port(), topic_prefix=f"bench-{name}-{tag}.",
                        app_id=f"bench-{name}-{tag}", data_dir=str(workdir / f"{name}-{tag}"), partitions=partitions,
                        **security, **extra)
    create_topics(settings)
    return settings


def stock_runtime(settings: Settings) -> Settings:
    """``settings`` on Faust's stock runtime: the asyncio loop, Faust's Cython as released,
    Python's own collector thresholds."""
    from sales_scorecard.cli.bench.loops import STOCK
    from sales_scorecard.streams.runtime import PYTHON_GC_THRESHOLD

    return dataclasses.replace(settings, event_loop=STOCK[0], faust_cython=STOCK[1], gc_threshold=PYTHON_GC_THRESHOLD)


def say(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


@click.command("bench")
@click.option("--events", type=int, default=200_000, show_default=True, help="Throughput: pre-loaded events.")
@click.option("--rate", type=int, default=2000, show_default=True, help="Latency: offered load, events/s.")
@click.option("--half-c", "half_c", is_flag=True,
              help="Latency: offer half of the c this run's throughput part measured, instead of --rate.")
@click.option("--duration", type=int, default=60, show_default=True, help="Latency: seconds of offered load.")
@click.option("--latency-reps", "latency_reps", type=int, default=200, show_default=True,
              help="Latency: reps the offered events go to, round robin (one event in five a won deal).")
@click.option("--reps", type=int, default=10_000, show_default=True, help="Memory/recovery: reps of state.")
@click.option("--months", type=int, default=13, show_default=True, help="Memory/recovery: months of state.")
@click.option("--state-reps", "state_reps", type=int, default=2000, show_default=True,
              help="State: reps of the memory part's history digested in process (dict tables, no Kafka).")
@click.option("--store", "stores", type=click.Choice(["rocksdb", "memory"]), multiple=True,
              help="Memory/recovery: only these table stores (repeatable; default both).")
@click.option("--whatif-reps", "whatif_reps", type=int, default=5000, show_default=True,
              help="What-if: reps of the simulated history (offline, contract §13).")
@click.option("--whatif-months", "whatif_months", type=int, default=12, show_default=True,
              help="What-if: months of the simulated history.")
@click.option("--whatif-kafka", "whatif_kafka", is_flag=True,
              help="What-if: also time the command's read of the history from a broker (the bench's own or "
                   "--bootstrap), apart.")
@click.option("--quick", is_flag=True, help="Small sizes (20k events, 20 s at the rate, 1,000 reps) for a smoke run.")
@click.option("--only", type=click.Choice(PARTS), multiple=True,
              help="Run only these parts (repeatable); failover and loops run only when named.")
@click.option("--rounds", type=int, default=1, show_default=True,
              help="Throughput: rounds of the floor and c (median of the rounds' c/floor); latency: runs of "
                   "the offered load (medians reported, and each run); loops: rounds of every event loop and "
                   "Faust Cython variant (medians reported).")
@click.option("--bootstrap", default=None, help="Use this broker (host:port) instead of starting a local one.")
@click.option("--partitions", type=int, default=4, show_default=True, help="Partitions of the input topics.")
@click.option("--timeout", type=float, default=1800.0, show_default=True, help="Give up a step after this many s.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("bench/results"),
              show_default=True)
@click.option("--stages", type=click.Choice(["single", "partitioned"]), default="single", show_default=True,
              help="SCORECARD_STAGES of the pipeline in the throughput, latency, memory, state and failover "
                   "parts (the workers part always runs partitioned); partitioned adds each stage's cost "
                   "to the engine part.")
@click.option("--team-stage", is_flag=True,
              help="With partitioned stages (and in the workers part), run the team stage too "
                   "(SCORECARD_TEAM_STAGE).")
@click.option("--company-values", is_flag=True,
              help="With --team-stage: the company's activities and complaints from the team partitions' values "
                   "(SCORECARD_COMPANY_VALUES).")
@click.option("--profile", is_flag=True,
              help="Sample the pipeline worker with py-spy during the throughput part: CPU share per stage.")
def command(events: int, rate: int, half_c: bool, duration: int, latency_reps: int, reps: int, months: int,
            state_reps: int,
            stores: tuple[str, ...], whatif_reps: int, whatif_months: int, whatif_kafka: bool, quick: bool,
            only: tuple[str, ...],
            rounds: int, bootstrap: str | None, partitions: int, timeout: float, out_dir: Path, stages: str,
            team_stage: bool, company_values: bool, profile: bool) -> None:
    """Measure throughput, latency, memory and recovery against baselines in the same run."""
    from sales_scorecard.cli.bench import engine as engine_bench
    from sales_scorecard.cli.bench import load, throughput
    from sales_scorecard.cli.bench.report import markdown, table

    signal.signal(signal.SIGTERM, _interrupt)  # so the finally blocks stop workers and the broker
    if quick:
        events, duration, reps = min(events, 20_000), min(duration, 20), min(reps, 1000)
        state_reps = min(state_reps, 500)
        whatif_reps = min(whatif_reps, 500)
    parts = set(only or DEFAULT_PARTS)
    if rounds < 1:
        raise click.UsageError("--rounds must be at least 1")
    if team_stage and stages != "partitioned" and "workers" not in parts:
        raise click.UsageError("--team-stage runs with partitioned stages: add --stages partitioned")
    if company_values and not (team_stage and stages == "partitioned"):
        raise click.UsageError("--company-values runs beside the team stage: add --stages partitioned --team-stage")
    if half_c and not {"throughput", "latency"} <= parts:
        raise click.UsageError("--half-c offers half of this run's c: add --only throughput --only latency")
    if profile:
        from sales_scorecard.cli.bench.profile import py_spy

        if "throughput" not in parts:
            raise click.UsageError("--profile samples the throughput part: add --only throughput")
        try:
            py_spy()
        except FileNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result: dict = {"when": stamp, "machine": platform.platform(), "cpus": _cpus(), "python": platform.python_version(),
                    "parameters": {"events": events, "rate": rate, "duration": duration, "reps": reps,
                                   "months": months, "partitions": partitions, "stages": stages,
                                   **({"team_stage": True} if team_stage else {}),
                                   **({"company_values": True} if company_values else {}),
                                   **({"whatif_reps": whatif_reps, "whatif_months": whatif_months,
                                       "whatif_kafka": whatif_kafka} if "whatif" in parts else {}),
                                   **({"rounds": rounds} if parts & {"loops", "throughput"} else {}),
                                   **({"state_reps": state_reps} if "state" in parts else {})}}
    #: the pipeline's shape in the parts that run one
    shape: dict[str, Any] = {"stages": stages, "team_stage": team_stage, "company_values": company_values}
    workdir = Path(tempfile.mkdtemp(prefix="scorecard-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"bench-{stamp}.json"
    md_path = out_dir / f"bench-{stamp}.md"

    def save() -> None:
        """Write what is measured so far (a long run that is stopped keeps its parts)."""
        json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        md_path.write_text(markdown(result))

    try:
        if "engine" in parts:
            say(f"engine: offline validate/apply/render of the throughput part's {events:,} events")
            result["engine"] = engine_bench.measure_engine(
                load.realistic_events(events), on_time_rate=rate, on_time_reps=latency_reps,
                partitions=partitions if stages == "partitioned" else None, team_stage=team_stage)
            save()
        if "state" in parts:
            from sales_scorecard.cli.bench import state

            say(f"state: {state_reps:,} reps x {months} months digested in process ({stages} stages)")
            result["state"] = state.measure(state_reps, months, say, stages=stages, partitions=partitions)
            save()
        if "whatif" in parts:
            from sales_scorecard.cli.bench import whatif

            if whatif_kafka:
                with broker_for(bootstrap, workdir) as servers:
                    s = bench_settings(servers, workdir, "whatif", partitions, bootstrap is None)
                    result["whatif"] = whatif.measure(whatif_reps, whatif_months, say, fetch_from=s)
            else:
                result["whatif"] = whatif.measure(whatif_reps, whatif_months, say)
            save()
        needs_broker = parts & BROKER_PARTS
        own = bootstrap is None  # the bench's own broker is plaintext: no SCORECARD_KAFKA_* for it
        if needs_broker:
            with broker_for(bootstrap, workdir) as servers:
                if "throughput" in parts:
                    s = bench_settings(servers, workdir, "thr", partitions, own, **shape)
                    say(f"throughput: loading {events:,} events")
                    total = load.load(s, load.realistic_events(events), events)
                    say("throughput a: bare aiokafka decode")
                    a = throughput.measure_ceiling(s, total)
                    say(f"  {a['events_per_s']:,} ev/s; b: plain Faust agent, one table update per event")
                    # The baseline and the floor are a fixed yardstick: Faust as shipped (asyncio,
                    # its Cython as released), whatever runtime the worker defaults to; the loops
                    # part measures the floor on every runtime.
                    b = throughput.measure_baseline(stock_runtime(s), total, workdir, timeout)
                    say(f"  {b['events_per_s']:,} ev/s; the Faust floor (the same agent without the table "
                        f"update) and c (the full pipeline), {rounds} round(s)")
                    paired = throughput.measure_rounds(
                        s, total, workdir, timeout, rounds, stock_runtime,
                        profile_to=out_dir / f"profile-{stamp}.txt" if profile else None, say=say)
                    c = paired["pipeline"]
                    result["throughput"] = {"ceiling": a, "baseline": b, **paired,
                                            "c_over_a": throughput.rate_ratio(c, a),
                                            "c_over_b": throughput.rate_ratio(c, b)}
                    save()
                if "loops" in parts:
                    from sales_scorecard.cli.bench import loops

                    if "throughput" not in parts:  # else the throughput part's topics, already loaded
                        s = bench_settings(servers, workdir, "loops", partitions, own)
                        say(f"loops: loading {events:,} events")
                        total = load.load(s, load.realistic_events(events), events)
                    say(f"loops: floor and c per event loop and Faust Cython variant, {rounds} round(s)")
                    result["loops"] = loops.measure(s, total, workdir, timeout, rounds, say)
                    save()
                if "latency" in parts:
                    from sales_scorecard.cli.bench import latency

                    offered = max(1, round(result["throughput"]["pipeline"]["events_per_s"] / 2)) if half_c else rate
                    runs = []
                    for n in range(1, rounds + 1):  # each round on topics and a worker of its own
                        s = bench_settings(servers, workdir, "lat", partitions, own, **shape)
                        say(f"latency: {offered} ev/s{' (half of c)' if half_c else ''} for {duration} s "
                            f"over {latency_reps:,} reps" + (f", round {n} of {rounds}" if rounds > 1 else ""))
                        runs.append(latency.measure(s, offered, duration, workdir, timeout, latency_reps))
                    result["latency"] = latency.combine_rounds(runs)
                    result["latency"]["half_of_c"] = half_c
                    save()
                if "memory" in parts:
                    from sales_scorecard.cli.bench import memory

                    say(f"memory and recovery: {reps:,} reps x {months} months")
                    result["memory"] = memory.measure(lambda name, **kw: bench_settings(servers, workdir, name,
                                                                                       partitions, own,
                                                                                       **shape, **kw),
                                                      reps, months, workdir, timeout, say,
                                                      stores or memory.STORES)
                    save()
                if "workers" in parts:
                    from sales_scorecard.cli.bench import scale_out

                    result["workers"] = scale_out.measure(
                        lambda name, **kw: bench_settings(servers, workdir, name, partitions, own,
                                                          stages="partitioned", team_stage=team_stage, **kw),
                        load.realistic_events(events), workdir, timeout, say)
                    save()
                if "failover" in parts:
                    from sales_scorecard.cli.bench import failover

                    say("failover: SIGKILL the aggregation owner of two workers")
                    result["failover"] = failover.measure(lambda name, **kw: bench_settings(servers, workdir, name,
                                                                                           partitions, own,
                                                                                           **shape, **kw),
                                                          workdir, timeout, say)
    except WorkerProcessError as exc:
        save()
        raise click.ClickException(
            f"a benchmark worker failed (parts measured so far are in {json_path}): {exc}") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    save()
    click.echo(table(result))
    click.echo(f"wrote {json_path} and {md_path}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
