"""The benchmark's figures as a terminal table and a Markdown report."""

from __future__ import annotations

from typing import Any


def _percentages(shares: list[float | None]) -> str:
    """Shares (0-1, None where there was nothing to share) as "45 % / 55 %"."""
    return " / ".join(f"{100 * s:.0f} %" for s in shares if s is not None)


def rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) pairs of a benchmark result, in reading order."""
    out: list[tuple[str, str]] = []

    def add(name: str, value: Any, unit: str = "") -> None:
        if value is None:
            return
        text = f"{value:,}" if isinstance(value, int) else str(value)
        out.append((name, f"{text} {unit}".strip()))

    if "engine" in result:
        e = result["engine"]
        add("engine: apply (offline)", e["apply_events_per_s"], "ev/s")
        add("engine: render (offline)", e["render_keys_per_s"], "keys/s")
        add("engine: render after a clock refresh a day later (offline)", e.get("refresh_render_keys_per_s"), "keys/s")
        add("engine: validate + decode + apply, the pipeline's upper bound (offline)",
            e.get("python_bound_events_per_s"), "ev/s")
        add("engine: the single stage digesting the events as a backlog, CPU per event (offline)",
            e.get("stage_cpu_us_per_event"), "us")
        add("engine: updates the stage sent meanwhile (scorecards, boards, alerts, payroll)",
            e.get("stage_updates_sent"))
        if e.get("stage_boards_share") is not None:
            add("engine: as a backlog, share of the stage's time in leaderboard snapshots",
                round(100 * e["stage_boards_share"], 1), "%")
        partitioned = e.get("partitioned")
        if partitioned:
            team = ", team stage" if partitioned.get("team_stage") else ""
            shape = f"{partitioned['partitions']} partitions{team}"
            add(f"engine: the partitioned stages ({shape}) digesting the events as a backlog, CPU per event, "
                "summed (offline)", partitioned["cpu_us_per_event"], "us")
            add("engine: the partitioned stages' CPU per event over the single stage's",
                partitioned["cpu_over_single"])
            for name, label in (("org", "the org stage (one partition)"), ("rep", "the rep partitions"),
                                ("team", "the team partitions")):
                if f"{name}_cpu_us_per_event" in partitioned:
                    add(f"engine: {label}, CPU per event", partitioned[f"{name}_cpu_us_per_event"], "us")
                    add(f"engine: {label}, facts handed per event", partitioned[f"{name}_facts_per_event"])
            add("engine: the org stage's ceiling on one core (events/s its CPU per event allows)",
                partitioned["org_ceiling_events_per_s"], "ev/s")
            if partitioned.get("org_boards_share") is not None:
                add("engine: the org stage's share of its time in leaderboard snapshots",
                    round(100 * partitioned["org_boards_share"], 1), "%")
        if e.get("on_time_rate"):
            over = f" over {e['on_time_reps']:,} reps" if e.get("on_time_reps") else ""
            add(f"engine: the single stage on time at {e['on_time_rate']:,} ev/s (the latency part's load{over}), "
                "CPU per event (offline)", e.get("on_time_stage_cpu_us_per_event"), "us")
            add("engine: updates the stage sent on time", e.get("on_time_updates_sent"))
            add("engine: on time, the longest the stage held the loop for one message",
                e.get("on_time_held_ms_max"), "ms")
            if e.get("on_time_held_ms_p99") is not None:
                add("engine: on time, the 99th percentile of the loop held per message", e["on_time_held_ms_p99"], "ms")
            if e.get("on_time_boards_share") is not None:
                add("engine: on time, share of the stage's time in leaderboard snapshots",
                    round(100 * e["on_time_boards_share"], 1), "%")
    if "throughput" in result:
        t = result["throughput"]
        add("throughput a: bare aiokafka decode", t["ceiling"]["events_per_s"], "ev/s")
        add("throughput b: plain Faust, 1 table write/event", t["baseline"]["events_per_s"], "ev/s")
        if "faust_floor" in t:
            add("Faust floor: the same agent, no table write", t["faust_floor"]["events_per_s"], "ev/s")
        add("throughput c: full pipeline", t["pipeline"]["events_per_s"], "ev/s")
        add("c/a", t["c_over_a"])
        add("c/b", t["c_over_b"])
        if "c_over_floor" in t:
            add("c/floor (target >= 0.5)" + (", median of the rounds" if "rounds" in t else ""), t["c_over_floor"])
        if "rounds" in t:
            add("c/floor per round", ", ".join(str(r["c_over_floor"]) for r in t["rounds"]))
        if t["pipeline"].get("events_per_cpu_s"):
            add("c: events per CPU-second of the worker", t["pipeline"]["events_per_cpu_s"], "ev/CPU-s")
        for name, label in (("faust_floor", "floor"), ("pipeline", "c")):
            if t.get(name, {}).get("machine_busy") is not None:
                add(f"{label}: share of the machine's cores busy (worker, broker, bench)", t[name]["machine_busy"])
        if "engine" in result and result["engine"].get("python_bound_events_per_s") and t["baseline"]["events_per_s"]:
            bound = result["engine"]["python_bound_events_per_s"]
            add("upper bound of c/b without any Kafka or Faust cost", round(bound / t["baseline"]["events_per_s"], 2))
            if t.get("faust_floor", {}).get("events_per_s"):
                from sales_scorecard.cli.bench.throughput import pipeline_ceiling

                for passes, label in ((2, "two Faust passes per event"), (1, "one Faust pass per event (this design)")):
                    best = pipeline_ceiling(t["faust_floor"]["events_per_s"], bound, passes)
                    add(f"upper bound of c/b with {label} at the floor's cost (no forward, changelog or render)",
                        round(best / t["baseline"]["events_per_s"], 2))
        prof = t["pipeline"].get("profile")
        if prof and prof.get("samples"):
            add("profile of c: py-spy samples", prof["samples"])
            for stage, share in prof["stages"].items():
                add(f"profile of c, share of CPU samples: {stage}", share, "%")
    if "loops" in result:
        lp = result["loops"]
        add(f"loops: Faust floor of the stock variant ({lp['stock']}), the c/floor divisor",
            lp["stock_floor_events_per_s"], "ev/s")
        for name, v in lp["variants"].items():
            add(f"loops {name} (event loop/Faust Cython): c, c/floor, its own floor, c/its floor",
                f"{v['c_events_per_s']:,} ev/s, {v['c_over_floor']}, {v['floor_events_per_s']:,} ev/s, "
                f"{v['c_over_own_floor']}")
            add(f"loops {name}: c, its floor per CPU second of the worker",
                f"{v['c_events_per_cpu_s']:,} / {v['floor_events_per_cpu_s']:,}", "ev/CPU-s")
        add("loops: fastest c", lp["fastest"])
    if "failover" in result:
        fo = result["failover"]
        timeout = fo["configured"]["session_timeout_s"]
        add(f"failover: kill -9 of the owner to the next update, session timeout {timeout} s (target <= 15)",
            fo["configured"]["seconds_to_next_update"], "s")
        add("failover: the same with Faust's default session timeout (60 s)",
            fo["faust_default"]["seconds_to_next_update"], "s")
    if "workers" in result:
        w = result["workers"]
        add("workers: one worker, CPU per event", w["one"]["cpu_ms_per_event"], "ms")
        add("workers: two workers, CPU per event (summed)", w["two"]["cpu_ms_per_event"], "ms")
        add("workers: CPU per event, two over one (target <= 1.2)", w["cpu_per_event_two_over_one"])
        if w.get("events_per_s_two_over_one") is not None:
            add("workers: events/s, one worker", w["one"]["events_per_s"], "ev/s")
            add("workers: events/s, two workers", w["two"]["events_per_s"], "ev/s")
            add("workers: events/s, two over one", w["events_per_s_two_over_one"])
        add("workers: each worker's share of rep stage facts (target 35-65 %)",
            _percentages(w["two"]["rep_stage_share"]))
        if team_shares := _percentages(w["two"].get("team_stage_share", [])):
            add("workers: each worker's share of team stage facts", team_shares)
    if "latency" in result:
        lat = result["latency"]
        half = lat.get("half_of_c", False)
        add("latency: offered load" + (", half of c" if half else ""), lat["offered_events_per_s"], "ev/s")
        add("latency: achieved load", lat["achieved_events_per_s"], "ev/s")
        if "reps" in lat:
            add("latency: reps", lat["reps"])
        for q in ("p50", "p95", "p99", "max"):
            add(f"latency {q} (target p99 <= {1000 if half else 500})", lat["ms"][q], "ms") if q == "p99" else add(
                f"latency {q}", lat["ms"][q], "ms")
        for hop, figures in lat.get("hops_ms", {}).items():
            add(f"latency hop {hop}: p50 / p99", f"{figures['p50']} / {figures['p99']}", "ms")
        if "rounds" in lat:
            add(f"latency: p99 of each of {len(lat['rounds'])} runs (the median above)",
                " / ".join(f"{r['ms']['p99']:,}" if "p99" in r["ms"] else "none" for r in lat["rounds"]), "ms")
        if "load" in lat:
            load = lat["load"]
            add("latency: the worker's CPU while loaded, in cores", load["worker_cores"])
            add("latency: the worker's CPU per event while loaded", load["worker_cpu_us_per_event"], "us")
            add("latency: share of the machine's cores busy (worker, broker, bench)", load["machine_busy_share"])
    if "memory" in result:
        mem = result["memory"]
        add("memory: rep-periods of state", mem["rep_periods"])
        for store, fig in mem["stores"].items():
            add(f"memory ({store} store): idle / loaded worker peak RSS",
                f"{fig['idle_peak_rss_mib']} / {fig['loaded_peak_rss_mib']}", "MiB")
            add(f"memory ({store} store): bytes per rep-period (target <= 3072)", fig["bytes_per_rep_period"], "B")
        for store, rec in mem["recovery"].items():
            add(f"recovery to /readyz ({store} store, {rec['keys']:,} keys)", rec["seconds"], "s")
    if "state" in result:
        st = result["state"]
        shape = ", partitioned stages" if st.get("stages") == "partitioned" else ""
        what = f"state in process{shape}, {st['reps']:,} reps x {st['months']} months"
        add(f"{what}: peak / final RSS above the start, per rep-period (dict tables counted)",
            f"{st['rss']['peak_bytes_per_rep_period']:,} / {st['rss']['end_bytes_per_rep_period']:,}", "B")
        tr = st["traced"]
        add(f"{what}: traced peak / held / held without the tables, per rep-period",
            f"{tr['peak_bytes_per_rep_period']:,} / {tr['held_bytes_per_rep_period']:,} / "
            f"{tr['held_without_tables']:,}", "B")
        for part, size in tr["parts"].items():
            add(f"{what}: held by {part}", size, "B")
    if "whatif" in result:
        wi = result["whatif"]
        add(f"whatif: {wi['reps']:,} reps x {wi['months']} months, {wi['facts']:,} facts, "
            f"{wi['rep_months']:,} rep-months under two plans: the command's work on rows in memory "
            "(target <= 120 s)", wi["total_s"], "s")
        if "total_cpu_s" in wi:
            add("whatif: the command's work in CPU seconds of the process", wi["total_cpu_s"], "CPU-s")
        add("whatif: decode + apply, recompute", f"{wi['decode_apply_s']} / {wi['recompute_s']}", "s")
        if "decode_apply_cpu_s" in wi:
            add("whatif: the same in CPU seconds", f"{wi['decode_apply_cpu_s']} / {wi['recompute_cpu_s']}", "CPU-s")
        if "fetch_s" in wi:
            add(f"whatif: Kafka's fetch of the {wi['fetch_rows']:,} rows ({wi['fetch_mib']:,} MiB; not timed above)",
                f"{wi['fetch_s']} / {wi['fetch_cpu_s']}", "s / CPU-s")
        if "setup_simulate_s" in wi:
            add("whatif setup (not timed above): simulate, encode as rows",
                f"{wi['setup_simulate_s']} / {wi['setup_encode_s']}", "s")
        add("whatif: peak RSS", wi["peak_rss_mib"], "MiB")
    return out


def table(result: dict[str, Any]) -> str:
    """A plain-text table for the terminal."""
    data = rows(result)
    width = max((len(k) for k, _ in data), default=10)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in data)


def markdown(result: dict[str, Any]) -> str:
    """The Markdown report written next to the JSON."""
    p = result["parameters"]
    head = (f"# Benchmark {result['when']}\n\n{result['machine']}, {result['cpus']} CPUs, Python {result['python']}; "
            f"parameters: {', '.join(f'{k}={v}' for k, v in p.items())}\n\n| figure | value |\n|---|---|\n")
    return head + "\n".join(f"| {k} | {v} |" for k, v in rows(result)) + "\n"
