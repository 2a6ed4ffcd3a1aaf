"""The bench command (cli/bench/command.py): which parts run, and where their figures go."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from sales_scorecard.cli.bench import command as bench_module
from sales_scorecard.cli.bench import scale_out


class FakeLatency:
    """Stands in for ``latency.measure``: records the rate and reps asked, returns fixed figures."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []
        self.topics: list[Any] = []  # the settings (topics, app) of each run

    def __call__(self, settings: Any, rate: int, duration: int, workdir: Path, timeout: float, rep_count: int) -> dict:
        self.asked.append((rate, rep_count))
        self.topics.append(settings)
        p99 = (3, 40, 900)[(len(self.asked) - 1) % 3]  # the runs of one --rounds 3 differ
        return {"offered_events_per_s": rate, "achieved_events_per_s": rate, "reps": rep_count,
                "won_deals": 10, "deals_reflected": 10,
                "ms": {"p50": 1, "p95": 2, "p99": p99, "max": 1000}, "hops_ms": {},
                "load": {"worker_cores": 0.8, "worker_cpu_us_per_event": 450, "machine_busy_share": 0.7}}


def test_every_part_that_needs_a_broker_gets_one_even_when_asked_alone(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # `--only workers` used to skip the broker block altogether: the run wrote an empty
    # result and said nothing.
    brokers: list[str | None] = []

    @contextmanager
    def fake_broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
        brokers.append(bootstrap)
        yield "127.0.0.1:1"

    def fake_scale_out(settings_for: Any, events: list, workdir: Path, timeout: float, say: Any) -> dict:
        one = {"cpu_ms_per_event": 0.5, "rep_stage_share": [1.0], "events_per_s": 2000}
        two = {"cpu_ms_per_event": 0.55, "rep_stage_share": [0.4, 0.6], "events_per_s": 2500}
        return {**scale_out.compare(one, two), "events": len(events)}

    monkeypatch.setattr(bench_module, "broker_for", fake_broker)
    monkeypatch.setattr(scale_out, "measure", fake_scale_out)
    args = ["--only", "workers", "--events", "10", "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(bench_module.command, args)
    assert result.exit_code == 0, result.output
    assert brokers == [None]  # the bench's own broker
    written = [orjson.loads(p.read_bytes()) for p in tmp_path.glob("bench-*.json")]
    assert len(written) == 1
    assert written[0]["workers"]["events"] == 10
    report = next(tmp_path.glob("bench-*.md")).read_text()
    assert "two over one (target <= 1.2) | 1.1" in report
    assert "events/s, two workers | 2,500 ev/s" in report and "events/s, two over one | 1.25" in report


def test_two_workers_are_compared_with_one_per_event_and_per_second() -> None:
    one = {"cpu_ms_per_event": 0.4, "events_per_s": 3000}
    two = {"cpu_ms_per_event": 0.46, "events_per_s": 3600}
    assert scale_out.compare(one, two) == {"one": one, "two": two, "cpu_per_event_two_over_one": 1.15,
                                           "events_per_s_two_over_one": 1.2}
    # a result file of a run before the events per second were measured
    assert scale_out.compare({"cpu_ms_per_event": 0.4}, {"cpu_ms_per_event": 0.2})["events_per_s_two_over_one"] is None


def test_the_parts_that_run_against_a_broker_are_the_parts_there_are_minus_the_offline_ones() -> None:
    offline = {"engine", "state", "whatif"}  # in process, no Kafka (whatif reads Kafka only with --whatif-kafka)
    assert set(bench_module.PARTS) - offline == bench_module.BROKER_PARTS


def _latency_without_a_broker(monkeypatch: pytest.MonkeyPatch, settings: Any = lambda *args, **kwargs: None
                              ) -> FakeLatency:
    """The bench command with a stand-in broker, stand-in ``bench_settings`` and a
    ``FakeLatency`` as the latency part's measure (returned)."""
    from sales_scorecard.cli.bench import latency

    @contextmanager
    def fake_broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
        yield "127.0.0.1:1"

    fake_measure = FakeLatency()
    monkeypatch.setattr(bench_module, "broker_for", fake_broker)
    monkeypatch.setattr(bench_module, "bench_settings", settings)
    monkeypatch.setattr(latency, "measure", fake_measure)
    return fake_measure


def test_the_latency_part_offers_its_events_to_as_many_reps_as_asked(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fake_measure = _latency_without_a_broker(monkeypatch)
    for extra, reps in (([], 200), (["--latency-reps", "2000"], 2000)):
        args = ["--only", "latency", "--rate", "100", "--out-dir", str(tmp_path), *extra]
        result = CliRunner().invoke(bench_module.command, args)
        assert result.exit_code == 0, result.output
        assert fake_measure.asked[-1] == (100, reps)
        assert f"latency: reps | {reps:,}" in sorted(tmp_path.glob("bench-*.md"))[-1].read_text()


def test_half_c_offers_the_latency_part_half_of_the_c_measured_in_the_same_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sales_scorecard.cli.bench import latency, load, throughput

    @contextmanager
    def fake_broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
        yield "127.0.0.1:1"

    def rate_of(events_per_s: int) -> Any:
        return lambda *args, **kwargs: {"events_per_s": events_per_s}

    from sales_scorecard.streams.settings import Settings

    fake_latency = FakeLatency()

    monkeypatch.setattr(bench_module, "broker_for", fake_broker)
    monkeypatch.setattr(bench_module, "bench_settings", lambda *args, **kwargs: Settings(store="memory"))
    monkeypatch.setattr(load, "load", lambda settings, events, total: total)
    monkeypatch.setattr(load, "realistic_events", lambda n: [])
    monkeypatch.setattr(throughput, "measure_ceiling", rate_of(100_000))
    monkeypatch.setattr(throughput, "measure_baseline", rate_of(10_000))
    monkeypatch.setattr(throughput, "measure_pipeline", rate_of(4_601))
    monkeypatch.setattr(latency, "measure", fake_latency)
    args = ["--only", "throughput", "--only", "latency", "--half-c", "--rate", "100", "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(bench_module.command, args)
    assert result.exit_code == 0, result.output
    assert [rate for rate, _ in fake_latency.asked] == [2300]  # round(4,601 / 2), not --rate
    report = next(tmp_path.glob("bench-*.md")).read_text()
    assert "latency: offered load, half of c | 2,300 ev/s" in report
    assert "latency p99 (target p99 <= 1000) | 3 ms" in report


def test_half_c_without_the_throughput_part_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(bench_module.command, ["--only", "latency", "--half-c", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--half-c offers half of this run's c: add --only throughput --only latency" in result.output


@pytest.mark.parametrize("values", [False, True], ids=["team-stage", "company-values"])
def test_the_team_stage_reaches_the_pipeline_settings_of_the_latency_part(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: bool) -> None:
    from sales_scorecard.cli.bench import latency
    from sales_scorecard.streams.settings import Settings

    @contextmanager
    def fake_broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
        yield "127.0.0.1:1"

    asked: list[dict[str, Any]] = []

    def settings(*args: Any, **kwargs: Any) -> Settings:
        asked.append(kwargs)
        return Settings(store="memory")

    monkeypatch.setattr(bench_module, "broker_for", fake_broker)
    monkeypatch.setattr(bench_module, "bench_settings", settings)
    monkeypatch.setattr(latency, "measure", FakeLatency())
    args = ["--only", "latency", "--stages", "partitioned", "--team-stage", "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(bench_module.command, args + (["--company-values"] if values else []))
    assert result.exit_code == 0, result.output
    assert asked == [{"stages": "partitioned", "team_stage": True, "company_values": values}]
    written = next(tmp_path.glob("bench-*.json")).read_text()
    assert "team_stage" in written and ("company_values" in written) == values


def test_the_company_values_without_the_team_stage_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(bench_module.command, ["--only", "latency", "--stages", "partitioned",
                                                       "--company-values", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--company-values runs beside the team stage: add --stages partitioned --team-stage" in result.output


def test_the_team_stage_with_single_stages_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(bench_module.command, ["--only", "latency", "--team-stage", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--team-stage runs with partitioned stages: add --stages partitioned" in result.output


def test_throughput_rounds_alternate_and_report_the_median_of_each_rounds_own_ratio(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sales_scorecard.cli.bench import load, profile, throughput
    from sales_scorecard.streams.settings import Settings

    @contextmanager
    def fake_broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
        yield "127.0.0.1:1"

    # The machine's speed moves both runs of a round: (floor, c) per round. The median of
    # the rounds' ratios (0.5) is not the ratio of the median runs (4,000 / 10,000 = 0.4).
    rates = {"floor": iter([10_000, 8_000, 12_000]), "c": iter([4_000, 4_000, 6_600])}
    calls: list[tuple[str, str, bool]] = []

    def fake_floor(settings: Settings, total: int, workdir: Path, timeout: float, mode: str = "baseline") -> dict:
        if mode != "noop":
            return {"events_per_s": 3_000}
        calls.append(("floor", settings.app_id, False))
        return {"events_per_s": next(rates["floor"])}

    def fake_c(settings: Settings, total: int, workdir: Path, timeout: float, profile_to: Path | None = None) -> dict:
        calls.append(("c", settings.app_id, profile_to is not None))
        return {"events_per_s": next(rates["c"])}

    monkeypatch.setattr(bench_module, "broker_for", fake_broker)
    monkeypatch.setattr(bench_module, "bench_settings", lambda *args, **kwargs: Settings(store="memory", app_id="thr"))
    monkeypatch.setattr(load, "load", lambda settings, events, total: total)
    monkeypatch.setattr(load, "realistic_events", lambda n: [])
    monkeypatch.setattr(throughput, "measure_ceiling", lambda *args: {"events_per_s": 100_000})
    monkeypatch.setattr(throughput, "measure_baseline", fake_floor)
    monkeypatch.setattr(throughput, "measure_pipeline", fake_c)
    monkeypatch.setattr(profile, "py_spy", lambda: "py-spy")  # the runs are fakes: nothing is sampled
    args = ["--only", "throughput", "--rounds", "3", "--profile", "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(bench_module.command, args)
    assert result.exit_code == 0, result.output
    # every other round c first; fresh app ids per round; only the first c profiled
    assert calls == [("floor", "thr-r1", False), ("c", "thr-r1", True), ("c", "thr-r2", False),
                     ("floor", "thr-r2", False), ("floor", "thr-r3", False), ("c", "thr-r3", False)]
    t = orjson.loads(next(tmp_path.glob("bench-*.json")).read_bytes())["throughput"]
    assert [r["c_over_floor"] for r in t["rounds"]] == [0.4, 0.5, 0.55]
    assert t["c_over_floor"] == 0.5
    assert t["faust_floor"]["events_per_s"] == 10_000 and t["pipeline"]["events_per_s"] == 4_000  # median runs
    report = next(tmp_path.glob("bench-*.md")).read_text()
    assert "c/floor (target >= 0.5), median of the rounds | 0.5" in report
    assert "c/floor per round | 0.4, 0.5, 0.55" in report


def test_one_throughput_round_keeps_the_runs_settings_and_their_plain_ratio(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sales_scorecard.cli.bench import throughput
    from sales_scorecard.streams.settings import Settings

    seen: list[tuple[str, Path]] = []

    def fake_floor(settings: Settings, total: int, workdir: Path, timeout: float, mode: str = "baseline") -> dict:
        seen.append((settings.app_id, workdir))
        return {"events_per_s": 12_000}

    def fake_c(settings: Settings, total: int, workdir: Path, timeout: float, profile_to: Path | None = None) -> dict:
        seen.append((settings.app_id, workdir))
        return {"events_per_s": 5_000}

    monkeypatch.setattr(throughput, "measure_baseline", fake_floor)
    monkeypatch.setattr(throughput, "measure_pipeline", fake_c)
    out = throughput.measure_rounds(Settings(store="memory", app_id="thr"), 10, tmp_path, 1.0, 1, lambda s: s)
    assert seen == [("thr", tmp_path), ("thr", tmp_path)]
    assert out["c_over_floor"] == 0.417 and "rounds" not in out


def test_the_baselines_run_on_fausts_and_pythons_stock_runtime_whatever_the_workers_defaults() -> None:
    from sales_scorecard.streams.settings import Settings

    tuned = Settings(event_loop="uvloop", faust_cython="off", gc_threshold=20_000)
    stock = bench_module.stock_runtime(tuned)
    # asyncio, Faust's Cython as released and CPython's youngest-generation threshold (700)
    assert (stock.event_loop, stock.faust_cython, stock.gc_threshold) == ("asyncio", "on", 700)
    assert stock.app_id == tuned.app_id


def test_latency_rounds_run_on_topics_of_their_own_and_report_the_median_p99(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    made = iter(range(100))
    fake_measure = _latency_without_a_broker(monkeypatch, lambda *args, **kwargs: next(made))
    args = ["--only", "latency", "--rate", "100", "--rounds", "3", "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(bench_module.command, args)
    assert result.exit_code == 0, result.output
    assert fake_measure.asked == [(100, 200)] * 3
    assert fake_measure.topics == [0, 1, 2]  # fresh settings (topics, app id) per run
    report = sorted(tmp_path.glob("bench-*.md"))[-1].read_text()
    assert "latency p99 (target p99 <= 500) | 40 ms" in report  # the median of 3, 40 and 900
    assert "latency: p99 of each of 3 runs (the median above) | 3 / 40 / 900 ms" in report
    assert "latency: the worker's CPU while loaded, in cores | 0.8" in report


def test_the_engine_part_measures_the_partitioned_stages_only_when_asked_for_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sales_scorecard.cli.bench import engine

    asked: list[dict[str, Any]] = []

    def fake_engine(events: list, **kwargs: Any) -> dict:
        asked.append(kwargs)
        return {"apply_events_per_s": 1, "render_keys_per_s": 1}

    monkeypatch.setattr(engine, "measure_engine", fake_engine)
    for extra in ([], ["--stages", "partitioned"], ["--stages", "partitioned", "--team-stage"]):
        args = ["--only", "engine", "--events", "10", "--partitions", "6", "--out-dir", str(tmp_path), *extra]
        result = CliRunner().invoke(bench_module.command, args)
        assert result.exit_code == 0, result.output
    assert [(kw["partitions"], kw["team_stage"]) for kw in asked] == [(None, False), (6, False), (6, True)]
