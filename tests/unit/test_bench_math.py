"""Pure pieces of the benchmark: percentiles, report rows, the state history."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sales_scorecard.cli.bench import loops, throughput
from sales_scorecard.cli.bench.latency import combine_rounds, hop_breakdown, load_share, percentile
from sales_scorecard.cli.bench.load import state_events
from sales_scorecard.cli.bench.report import markdown, rows
from sales_scorecard.cli.bench.throughput import pipeline_ceiling, runtime_info
from sales_scorecard.cli.worker_process import WorkerProcessError
from sales_scorecard.streams.settings import Settings


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_hop_breakdown_gives_p50_and_p99_per_hop_in_ms_and_leaves_out_empty_hops() -> None:
    hops = {"ingest": [0.001 * v for v in range(100, 0, -1)], "org": [], "aggregate": [0.5, 0.25]}
    assert hop_breakdown(hops) == {"ingest": {"p50": 50, "p99": 99}, "aggregate": {"p50": 250, "p99": 500}}
    assert [r for r in rows({"latency": {"offered_events_per_s": 100, "achieved_events_per_s": 100,
                                         "ms": {"p50": 1, "p95": 2, "p99": 3, "max": 4},
                                         "hops_ms": {"org": {"p50": 7, "p99": 9}}}})
            if "hop" in r[0]] == [("latency hop org: p50 / p99", "7 / 9 ms")]


def test_state_history_makes_one_scorecard_per_rep_and_month() -> None:
    events = list(state_events(reps=12, months=3, start="2025-11"))
    kinds = Counter(e["type"] for e in events)
    assert kinds == {"roster": 12, "deal": 36, "activity": 36}
    months = {(e["rep_id"], e["closed_at"][:7]) for e in events if e["type"] == "deal"}
    assert len(months) == 36 and {m for _, m in months} == {"2025-11", "2025-12", "2026-01"}
    assert len({e["event_id"] for e in events}) == len(events)


def test_report_lists_ratios_and_targets() -> None:
    result = {
        "when": "x", "machine": "m", "cpus": 2, "python": "3.11", "parameters": {"events": 10},
        "throughput": {"ceiling": {"events_per_s": 1000}, "baseline": {"events_per_s": 100},
                       "faust_floor": {"events_per_s": 200},
                       "pipeline": {"events_per_s": 50}, "c_over_a": 0.05, "c_over_b": 0.5, "c_over_floor": 0.25},
    }
    got = dict(rows(result))
    assert got["c/b"] == "0.5"
    assert got["c/floor (target >= 0.5)"] == "0.25"
    assert got["throughput a: bare aiokafka decode"] == "1,000 ev/s"
    assert "| c/a | 0.05 |" in markdown(result)
    assert not any(name.startswith("upper bound") for name in got)  # needs the engine part


def test_report_bounds_c_over_b_by_the_offline_python_work() -> None:
    result = {
        "throughput": {"ceiling": {"events_per_s": 1000}, "baseline": {"events_per_s": 2500},
                       "pipeline": {"events_per_s": 700}, "c_over_a": 0.7, "c_over_b": 0.28},
        "engine": {"apply_events_per_s": 8000, "render_keys_per_s": 3000, "python_bound_events_per_s": 5500},
    }
    got = dict(rows(result))
    assert got["upper bound of c/b without any Kafka or Faust cost"] == "2.2"
    assert not any("single stage" in name for name in got)  # an engine part without the stage figures
    assert got["engine: validate + decode + apply, the pipeline's upper bound (offline)"] == "5,500 ev/s"


def test_report_shows_the_stage_cost_per_event() -> None:
    result = {"engine": {"apply_events_per_s": 8000, "render_keys_per_s": 3000, "python_bound_events_per_s": 5500,
                         "stage_cpu_us_per_event": 46.6, "stage_updates_sent": 2091}}
    got = dict(rows(result))
    assert got["engine: the single stage digesting the events as a backlog, CPU per event (offline)"] == "46.6 us"
    assert got["engine: updates the stage sent meanwhile (scorecards, boards, alerts, payroll)"] == "2,091"
    assert not any("on time" in name for name in got)  # a result from before the on-time measure


def test_report_shows_the_stage_cost_on_time_at_the_latency_rate() -> None:
    result = {"engine": {"apply_events_per_s": 8000, "render_keys_per_s": 3000, "python_bound_events_per_s": 5500,
                         "on_time_rate": 3100, "on_time_stage_cpu_us_per_event": 110.1, "on_time_updates_sent": 17800}}
    got = dict(rows(result))
    assert got["engine: the single stage on time at 3,100 ev/s (the latency part's load), CPU per event (offline)"] \
        == "110.1 us"
    assert got["engine: updates the stage sent on time"] == "17,800"


def test_report_shows_the_stage_on_time_over_an_organisation_how_long_it_held_the_loop_and_its_boards() -> None:
    result = {"engine": {"apply_events_per_s": 8000, "render_keys_per_s": 3000, "on_time_rate": 350,
                         "on_time_reps": 10000, "on_time_stage_cpu_us_per_event": 1392.5,
                         "on_time_updates_sent": 131688, "on_time_held_ms_max": 219.7, "on_time_held_ms_p99": 118.9,
                         "on_time_boards_share": 0.19}}
    got = dict(rows(result))
    assert got["engine: the single stage on time at 350 ev/s (the latency part's load over 10,000 reps), "
               "CPU per event (offline)"] == "1392.5 us"
    assert got["engine: on time, the longest the stage held the loop for one message"] == "219.7 ms"
    assert got["engine: on time, the 99th percentile of the loop held per message"] == "118.9 ms"
    assert got["engine: on time, share of the stage's time in leaderboard snapshots"] == "19.0 %"


def test_pipeline_ceiling_adds_per_event_costs() -> None:
    # 100 µs per Faust pass twice + 100 µs of Python work = 300 µs: 3,333 ev/s at best.
    assert round(pipeline_ceiling(10_000, 10_000)) == 3333
    assert round(pipeline_ceiling(10_000, 10_000, passes=1)) == 5000


def test_report_bounds_c_over_b_with_two_faust_passes_at_the_floor() -> None:
    result = {
        "throughput": {"ceiling": {"events_per_s": 100_000}, "baseline": {"events_per_s": 2_000},
                       "faust_floor": {"events_per_s": 10_000},
                       "pipeline": {"events_per_s": 700}, "c_over_a": 0.007, "c_over_b": 0.35},
        "engine": {"apply_events_per_s": 12_000, "render_keys_per_s": 3000, "python_bound_events_per_s": 10_000},
    }
    got = dict(rows(result))
    assert got["Faust floor: the same agent, no table write"] == "10,000 ev/s"
    assert got["upper bound of c/b without any Kafka or Faust cost"] == "5.0"
    bound = "upper bound of c/b with {} at the floor's cost (no forward, changelog or render)"
    assert got[bound.format("two Faust passes per event")] == "1.67"  # 3,333 / 2,000
    assert got[bound.format("one Faust pass per event (this design)")] == "2.5"  # 5,000 / 2,000


def test_runtime_info_is_read_from_the_workers_metrics() -> None:
    exposition = ('# HELP scorecard_runtime_info 1, labelled\n# TYPE scorecard_runtime_info gauge\n'
                  'scorecard_runtime_info{event_loop="uvloop",faust_cython="optimized",gc_threshold="20000"} 1.0\n')
    assert runtime_info(exposition) == {"event_loop": "uvloop", "faust_cython": "optimized", "gc_threshold": "20000"}
    assert runtime_info("scorecard_ready 1.0\n") is None


def fake_runs(monkeypatch: pytest.MonkeyPatch, reported: dict[str, str] | None = None) -> list[str]:
    """Floors and pipelines that take no broker: the floor is 1,000 ev/s on asyncio and 2,000
    on uvloop; c is 100 ev/s, +50 with uvloop, +10 with optimized. Returns the run order."""
    order: list[str] = []

    def runtime_of(s: Settings) -> dict[str, str]:
        return reported or {"event_loop": s.event_loop, "faust_cython": s.faust_cython}

    def floor(s: Settings, total: int, workdir: Path, timeout: float, mode: str = "baseline") -> dict:
        order.append(f"{s.event_loop}/{s.faust_cython}")
        return {"events_per_s": 2000 if s.event_loop == "uvloop" else 1000, "events_per_cpu_s": 3000,
                "runtime": runtime_of(s)}

    def pipeline(s: Settings, total: int, workdir: Path, timeout: float) -> dict:
        c = 100 + (50 if s.event_loop == "uvloop" else 0) + (10 if s.faust_cython == "optimized" else 0)
        return {"events_per_s": c, "events_per_cpu_s": 2 * c, "runtime": runtime_of(s)}

    monkeypatch.setattr(throughput, "measure_baseline", floor)
    monkeypatch.setattr(throughput, "measure_pipeline", pipeline)
    return order


def test_loops_divides_every_c_by_the_stock_floor_and_by_its_own(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    order = fake_runs(monkeypatch)
    result = loops.measure(Settings(), 1000, tmp_path, 60.0, rounds=2, say=lambda _: None)
    assert order[:6] == [loops.label(v) for v in loops.VARIANTS]
    assert order[6:] == [loops.label(v) for v in reversed(loops.VARIANTS)]  # every other round reversed
    v = result["variants"]
    assert result["stock"] == "asyncio/on" and result["stock_floor_events_per_s"] == 1000
    assert v["uvloop/optimized"]["c_events_per_s"] == 160
    assert v["uvloop/optimized"]["c_over_floor"] == 0.16  # against the stock floor
    assert v["uvloop/optimized"]["c_over_own_floor"] == 0.08  # against its own
    assert len(v["asyncio/off"]["runs"]) == 2
    assert result["fastest"] == "uvloop/optimized"
    got = dict(rows({"loops": result}))
    assert got["loops uvloop/optimized (event loop/Faust Cython): c, c/floor, its own floor, c/its floor"] == \
        "160 ev/s, 0.16, 2,000 ev/s, 0.08"
    assert got["loops uvloop/optimized: c, its floor per CPU second of the worker"] == "320 / 3,000 ev/CPU-s"
    assert got["loops: fastest c"] == "uvloop/optimized"


def test_loops_stops_when_a_worker_runs_on_something_else(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_runs(monkeypatch, reported={"event_loop": "asyncio", "faust_cython": "on"})
    with pytest.raises(WorkerProcessError, match="asked to run on asyncio/optimized but reported"):
        loops.measure(Settings(), 1000, tmp_path, 60.0, rounds=1, say=lambda _: None)


def test_cpu_seconds_reads_the_process_cpu_time_from_proc() -> None:
    import os

    from sales_scorecard.cli.bench.workers import cpu_seconds

    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(200_000))  # some work of this process
    assert 0 < before <= cpu_seconds(os.getpid())


def test_the_pipeline_is_timed_from_the_first_record_its_ingest_takes_in() -> None:
    """The clock starts when the ingest has the first record, not when the aggregation
    applies the first fact (its tables may still be recovering while the ingest works)."""
    import os

    class Worker:
        pid = os.getpid()
        waited: list[str] = []

        def wait(self, done: object, timeout: float, what: str, interval: float = 0.0) -> float:
            assert callable(done) and done(), f"{what} would never come"
            self.waited.append(what)
            return 0.0

    taken_in, handled = [1], [0]  # the ingest has a record; no fact is applied yet
    proc = Worker()

    def handled_now() -> int:
        return handled[0]

    def started() -> None:
        handled[0] = 10  # every event handled by the time the clock is read again

    result = throughput._timed(proc, handled_now, 10, 5.0, on_first=started,  # type: ignore[arg-type]
                               taken_in=lambda: taken_in[0])
    assert proc.waited == ["the first event", "10 events"]
    assert result["events"] == 10


def _latency_run(p50: int, p99: int, ingest_p99: int, cores: float, us: int, achieved: int,
                 reflected: int = 350) -> dict:
    return {"offered_events_per_s": 1760, "achieved_events_per_s": achieved, "reps": 200,
            "won_deals": 350, "deals_reflected": reflected,
            "ms": {"p50": p50, "p95": p99 - 10, "p99": p99, "max": p99 + 5},
            "hops_ms": {"ingest": {"p50": 10, "p99": ingest_p99}},
            "load": {"worker_cores": cores, "worker_cpu_us_per_event": us, "machine_busy_share": 0.8}}


def test_latency_rounds_report_the_median_of_each_figure_and_every_run() -> None:
    # each figure's median comes from another run: no one run is the median of all
    runs = [_latency_run(400, 2100, 1503, 0.848, 490, 1759), _latency_run(2223, 1109, 700, 0.851, 470, 1760),
            _latency_run(900, 4889, 398, 0.829, 480, 1761, reflected=349)]
    combined = combine_rounds(runs)
    assert combined["ms"] == {"p50": 900, "p95": 2090, "p99": 2100, "max": 2105}
    assert combined["hops_ms"] == {"ingest": {"p50": 10, "p99": 700}}
    assert combined["load"] == {"worker_cores": 0.848, "worker_cpu_us_per_event": 480, "machine_busy_share": 0.8}
    assert combined["achieved_events_per_s"] == 1760
    # a run whose drain timed out (a deal never reflected) shows in the totals
    assert (combined["won_deals"], combined["deals_reflected"]) == (1050, 1049)
    assert [(r["ms"]["p99"], r["deals_reflected"]) for r in combined["rounds"]] == [(2100, 350), (1109, 350),
                                                                                   (4889, 349)]
    table = dict(rows({"latency": {**combined, "half_of_c": True}}))
    assert table["latency p99 (target p99 <= 1000)"] == "2,100 ms"
    assert table["latency: p99 of each of 3 runs (the median above)"] == "2,100 / 1,109 / 4,889 ms"
    assert table["latency: the worker's CPU while loaded, in cores"] == "0.848"
    assert table["latency: the worker's CPU per event while loaded"] == "480 us"


def test_a_run_with_no_deal_reflected_shows_as_none_among_the_runs() -> None:
    empty = {**_latency_run(0, 0, 0, 0.5, 400, 1760, reflected=0), "ms": {}, "hops_ms": {}}
    combined = combine_rounds([_latency_run(400, 1109, 398, 0.829, 470, 1759), empty])
    assert combined["ms"] == {}  # no quantile every run has
    assert dict(rows({"latency": {**combined, "ms": {"p50": 1, "p95": 2, "p99": 3, "max": 4}}}))[
        "latency: p99 of each of 2 runs (the median above)"] == "1,109 / none ms"


def test_a_single_latency_run_is_reported_as_it_is() -> None:
    run = _latency_run(400, 1109, 398, 0.848, 480, 1760)
    assert combine_rounds([run]) is run
    assert not any("each of" in name for name, _ in rows({"latency": run}))


def test_load_share_gives_cores_cpu_per_event_and_the_machine_share() -> None:
    assert load_share(worker_cpu=42.0, seconds=60.0, events=84_000, machine_busy=0.8123) == {
        "worker_cores": 0.7, "worker_cpu_us_per_event": 500, "machine_busy_share": 0.812}


def test_usage_between_two_moments_and_the_machine_share() -> None:
    import os

    from sales_scorecard.cli.bench.workers import Usage

    used = Usage(wall=70.0, cpu=30.5, machine_busy=100.0, machine_all=160.0).since(
        Usage(wall=10.0, cpu=0.5, machine_busy=10.0, machine_all=40.0))
    assert used == Usage(wall=60.0, cpu=30.0, machine_busy=90.0, machine_all=120.0)
    assert used.machine_share == 0.75
    assert Usage(1.0, 1.0, 0.0, 0.0).machine_share is None  # no time passed
    now = Usage.of(os.getpid())
    assert now.cpu > 0 and now.machine_all >= now.machine_busy > 0


class _Exposing:
    """A worker as ``pipeline_handled`` reads it: its metrics' text exposition."""

    def __init__(self, text: str) -> None:
        self.text = text

    def metrics(self) -> str:
        return self.text


def _exposition(facts: int, pending: int, sent: int, done: int, rejected: int = 0) -> str:
    return (f'scorecard_facts_total{{outcome="applied",type="deal"}} {facts}\n'
            f"scorecard_records_rejected_total {rejected}\nscorecard_pending_updates {pending}\n"
            f"scorecard_rep_batches_sent_total {sent}\nscorecard_rep_batches_done_total {done}\n")


def test_the_pipeline_is_handled_once_the_rep_stage_processed_every_message_sent_even_one_twice() -> None:
    from sales_scorecard.cli.bench.throughput import pipeline_handled

    org, other = _Exposing(_exposition(9, 0, 7, 3, rejected=1)), _Exposing(_exposition(0, 0, 0, 3))
    assert pipeline_handled(org, other) == 9  # one message of the seven still to process
    other.text = _exposition(0, 0, 0, 4)
    assert pipeline_handled(org, other) == 10  # all seven
    other.text = _exposition(0, 0, 0, 5)
    assert pipeline_handled(org, other) == 10  # one re-delivered after a rebalance: eight processed
    other.text = _exposition(0, 2, 0, 5)
    assert pipeline_handled(org, other) == 9  # updates still pending


def test_the_pipeline_waits_for_the_team_stage_too() -> None:
    from sales_scorecard.cli.bench.throughput import pipeline_handled

    caught_up = _exposition(9, 0, 7, 7)
    worker = _Exposing(caught_up + "scorecard_team_batches_sent_total 5\nscorecard_team_batches_done_total 4\n")
    assert pipeline_handled(worker) == 8  # a message to a team partition still to process
    worker.text = caught_up + "scorecard_team_batches_sent_total 5\nscorecard_team_batches_done_total 5\n"
    assert pipeline_handled(worker) == 9
