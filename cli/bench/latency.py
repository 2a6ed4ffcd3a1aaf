"""End-to-end latency at a steady offered load.

A paced producer sends a mix of calls and won deals (one in five) for 200 reps (or
``reps``), round robin, in one month; a consumer reads ``sales.scorecards`` as updates arrive. Every won deal is worth
1.00, so a rep's month revenue counts its deals: the first update of rep r showing
revenue >= k reflects r's k-th deal, and its arrival time minus that deal's send time is
the deal's end-to-end latency (produce -> validate -> aggregate -> coalesced update).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from decimal import Decimal
from pathlib import Path

import orjson

from sales_scorecard.cli.bench.load import TEAM_SIZE, load
from sales_scorecard.cli.bench.throughput import pipeline_handled
from sales_scorecard.cli.bench.workers import Usage, scorecard_worker
from sales_scorecard.cli.kafka_io import make_consumer, make_producer, route
from sales_scorecard.streams.settings import Settings

REPS = 200
MONTH = "2026-11"
DEAL_EVERY = 5


def _roster(rep: str, teams: int) -> dict:
    at = f"{MONTH}-01T09:00:00+08:00"
    return {"event_id": f"lat-ros-{rep}", "type": "roster", "schema_version": 1, "occurred_at": at, "rep_id": rep,
            "team_id": f"t{int(rep[1:]) % teams:02d}", "manager_id": "m1", "status": "active", "effective_at": at,
            "hired_at": at, "name": rep}


def _event(i: int, rep: str) -> dict:
    second = i // 1000
    day, hour, minute = 2 + (second // 86400) % 27, (second // 3600) % 24, (second // 60) % 60
    at = f"{MONTH}-{day:02d}T{hour:02d}:{minute:02d}:{second % 60:02d}+08:00"
    if i % DEAL_EVERY == 0:
        return {"event_id": f"lat-d{i}", "type": "deal", "schema_version": 1, "occurred_at": at, "deal_id": f"LD{i}",
                "customer_id": f"lc{i}", "currency": "CNY", "created_at": at, "rep_id": rep, "version": 1,
                "stage": "won", "amount": "1.00", "closed_at": at}
    return {"event_id": f"lat-a{i}", "type": "activity", "schema_version": 1, "occurred_at": at, "rep_id": rep,
            "kind": "call", "customer_id": f"lc{i}", "effective": True, "duration_minutes": 5}


def rep_ids(rep_count: int = REPS) -> list[str]:
    """The ids of the part's reps."""
    return [f"r{n:04d}" for n in range(rep_count)]


def roster(rep_count: int = REPS) -> list[dict]:
    """The roster entries of ``rep_count`` reps, in teams of ``TEAM_SIZE`` (round robin)."""
    teams = max(1, rep_count // TEAM_SIZE)
    return [_roster(rep, teams) for rep in rep_ids(rep_count)]


def steady_history(rate: int, seconds: int, rep_count: int = REPS) -> list[dict]:
    """The roster and the first ``rate × seconds`` events this part offers (``measure``)."""
    reps = rep_ids(rep_count)
    return roster(rep_count) + [_event(i, reps[i % rep_count]) for i in range(rate * seconds)]


class UpdateWatcher(threading.Thread):
    """Reads scorecard updates; records when each rep's month revenue first reached k."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        from kafka import TopicPartition

        self.consumer = make_consumer(settings)
        topic = settings.topic("sales.scorecards")
        tps = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]
        self.consumer.assign(tps)
        self.consumer.seek_to_end(*tps)
        for tp in tps:
            self.consumer.position(tp)
        self.reached: dict[str, list[float]] = {}  # rep -> arrival time of revenue k (index k-1)
        #: rep -> when the worker sent the update that first showed revenue k (epoch ms)
        self.sent_ms: dict[str, list[int]] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            batches = self.consumer.poll(timeout_ms=100, max_records=5000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    if record.value is None:
                        continue
                    value = orjson.loads(record.value)
                    if value["scope"] != "rep" or value["period"] != MONTH:
                        continue
                    count = int(Decimal(value["kpis"].get("revenue") or "0"))
                    times = self.reached.setdefault(value["id"], [])
                    sent = self.sent_ms.setdefault(value["id"], [])
                    while len(times) < count:
                        times.append(now)
                        sent.append(record.timestamp)
        self.consumer.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def first_seen_ms(settings: Settings, topic: str) -> dict[str, int]:
    """deal id -> when the earliest message of ``topic`` carrying it was sent (epoch ms)."""
    from sales_scorecard.cli.snapshot import read_records_to_end
    from sales_scorecard.streams.fact_batches import decode_batch

    seen: dict[str, int] = {}
    for record in read_records_to_end(settings, settings.topic(topic)):
        for fact in decode_batch(record.value).facts:
            if fact.get("type") == "deal":
                deal = fact["deal_id"]
                seen[deal] = min(seen.get(deal, record.timestamp), record.timestamp)
    return seen


def hop_breakdown(hops: dict[str, list[float]]) -> dict[str, dict[str, int]]:
    """p50 and p99 in ms of each hop's durations (seconds)."""
    out = {}
    for name, values in hops.items():
        if values:
            values = sorted(values)
            out[name] = {"p50": round(1000 * percentile(values, .5)), "p99": round(1000 * percentile(values, .99))}
    return out


def measure(settings: Settings, rate: int, duration: int, workdir: Path, timeout: float,
            rep_count: int = REPS) -> dict:
    """Offer ``rate`` events/s for ``duration`` s to a running worker over ``rep_count`` reps;
    latency per won deal."""
    reps = rep_ids(rep_count)
    load(settings, roster(rep_count))
    proc = scorecard_worker(settings, workdir / f"latency-{settings.app_id}.log").start()
    try:
        proc.wait_ready(timeout)
        proc.wait(lambda: pipeline_handled(proc) >= rep_count, timeout, "the roster")
        watcher = UpdateWatcher(settings)
        watcher.start()
        producer = make_producer(settings, linger_ms=5)
        sent: dict[str, list[float]] = {r: [] for r in reps}
        deals_of: dict[str, list[tuple[str, float]]] = {r: [] for r in reps}  # (deal id, epoch s sent)
        total = rate * duration
        before = Usage.of(proc.pid)
        started = time.monotonic()
        for i in range(total):
            rep = reps[i % rep_count]
            event = _event(i, rep)
            due = started + i / rate
            delay = due - time.monotonic()
            if delay > 0.002:
                time.sleep(delay)
            topic, key = route(event, settings)
            if event["type"] == "deal":
                sent[rep].append(time.monotonic())
                deals_of[rep].append((event["deal_id"], time.time()))
            producer.send(topic, key=key.encode(), value=orjson.dumps(event))
        producer.flush()
        offered_for = time.monotonic() - started
        deals = sum(len(v) for v in sent.values())

        def reflected() -> int:
            return sum(min(len(watcher.reached.get(r, ())), len(sent[r])) for r in reps)

        drain_deadline = time.monotonic() + max(60.0, timeout)
        while reflected() < deals and time.monotonic() < drain_deadline:
            proc.check_alive()
            time.sleep(0.2)
        # the load's cost, from its first event until every deal was reflected
        loaded = Usage.of(proc.pid).since(before)
        watcher.stopping.set()
        watcher.join(timeout=10)
        latencies = sorted(
            watcher.reached[r][k] - sent[r][k]
            for r in reps for k in range(min(len(sent[r]), len(watcher.reached.get(r, ()))))
        )
        drained_after = time.monotonic() - started
    finally:
        proc.stop()
    # Where the time went, from the send times Kafka keeps with every message: the
    # worker's forward to sales.facts (ingest), the org stage's to sales.rep-facts
    # (partitioned), the update on sales.scorecards (aggregate), its arrival here (deliver).
    in_facts = first_seen_ms(settings, "sales.facts")
    in_reps = first_seen_ms(settings, "sales.rep-facts") if settings.stages == "partitioned" else {}
    hops: dict[str, list[float]] = {"ingest": [], "org": [], "aggregate": [], "deliver": []}
    wall_minus_mono = time.time() - time.monotonic()
    for r in reps:
        for k in range(min(len(sent[r]), len(watcher.reached.get(r, ())))):
            deal, sent_at = deals_of[r][k]
            forwarded, routed = in_facts.get(deal), in_reps.get(deal)
            update_sent = watcher.sent_ms[r][k] / 1000
            if forwarded is None:
                continue
            hops["ingest"].append(forwarded / 1000 - sent_at)
            if routed is not None:
                hops["org"].append((routed - forwarded) / 1000)
            hops["aggregate"].append(update_sent - (routed or forwarded) / 1000)
            hops["deliver"].append(watcher.reached[r][k] + wall_minus_mono - update_sent)
    quantiles = (("p50", .5), ("p95", .95), ("p99", .99))
    ms = {q: round(1000 * percentile(latencies, v)) for q, v in quantiles} if latencies else {}
    if latencies:
        ms["max"] = round(1000 * latencies[-1])
    return {"offered_events_per_s": rate, "duration_s": duration, "events": total, "reps": rep_count,
            "achieved_events_per_s": round(total / offered_for), "won_deals": deals, "deals_reflected": len(latencies),
            "all_reflected_after_s": round(drained_after, 1), "coalesce_ms": settings.coalesce_ms, "ms": ms,
            "hops_ms": hop_breakdown(hops),
            "load": load_share(loaded.cpu, loaded.wall, total, loaded.machine_share or 0.0)}


def load_share(worker_cpu: float, seconds: float, events: int, machine_busy: float) -> dict[str, float]:
    """What the offered load cost, from its first event until the last deal was reflected
    (``seconds``): the worker's CPU in cores (1.0: one core busy all the time), its CPU per
    event, and the share of the machine's cores busy (worker, broker, the bench's own
    producer and consumer)."""
    return {"worker_cores": round(worker_cpu / seconds, 3) if seconds > 0 else 0.0,
            "worker_cpu_us_per_event": round(1e6 * worker_cpu / events) if events else 0,
            "machine_busy_share": round(machine_busy, 3)}


def combine_rounds(results: list[dict]) -> dict:
    """Several latency runs at the same load as one result: the median of each quantile,
    of each hop's quantiles and of the load figures across runs (every quantile on its
    own), the won and reflected deals of all runs, the first run's load parameters, and
    every run's quantiles, load and deals under ``rounds`` (only with more than one run)."""
    first = results[0]
    if len(results) == 1:
        return first

    def med(values: list) -> int | float:
        m = statistics.median(values)
        return round(m) if all(isinstance(v, int) for v in values) else round(m, 3)

    ms = {q: med([r["ms"][q] for r in results]) for q in first["ms"] if all(q in r["ms"] for r in results)}
    hops = {hop: {q: med([r["hops_ms"][hop][q] for r in results]) for q in figures}
            for hop, figures in first["hops_ms"].items() if all(hop in r["hops_ms"] for r in results)}
    load = {k: med([r["load"][k] for r in results]) for k in first["load"]}
    return {**first, "ms": ms, "hops_ms": hops, "load": load,
            "achieved_events_per_s": med([r["achieved_events_per_s"] for r in results]),
            # summed, so that a run whose drain timed out shows as deals not reflected
            "won_deals": sum(r["won_deals"] for r in results),
            "deals_reflected": sum(r["deals_reflected"] for r in results),
            "rounds": [{"ms": r["ms"], "load": r["load"], "won_deals": r["won_deals"],
                        "deals_reflected": r["deals_reflected"]} for r in results]}
