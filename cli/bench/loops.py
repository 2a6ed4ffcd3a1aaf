"""Event loop and Faust's Cython paths: the throughput part's floor and pipeline once per variant.

Every variant, an ``SCORECARD_EVENT_LOOP`` × ``SCORECARD_FAUST_CYTHON`` pair
(streams/runtime.py), reads the same pre-loaded events of the same input topics in the
same run, twice: the Faust floor (the baseline's agent without its table write) and c,
the pipeline (``scorecard worker``), both on that variant. ``c/floor`` divides by the
floor of the stock variant (asyncio, Faust's Cython as released) of the same round, so
the variants' c stand on one scale; ``c/own floor`` says how the pipeline fares against
Faust on the same runtime. Beside the rates, events per CPU second of the measured process
(user and system time of all its threads, from ``/proc``): other load on a shared machine
moves them much less than the wall-clock rates, so they show the cost per event that a
loop or Cython path saves. Each run reports what it ran on (the worker's
``scorecard_runtime_info``, the baseline's ``/count``), and a run on anything else than
asked stops the part. With several rounds the order is reversed every other round, so a
load that drifts favours no variant, and the medians are reported.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Iterable
from pathlib import Path

from sales_scorecard.cli.bench import throughput
from sales_scorecard.cli.worker_process import WorkerProcessError
from sales_scorecard.streams.runtime import EVENT_LOOPS, FAUST_CYTHON
from sales_scorecard.streams.settings import Settings

#: (event loop, Faust Cython) pairs, the stock one first.
VARIANTS: tuple[tuple[str, str], ...] = tuple((loop, cython) for loop in EVENT_LOOPS for cython in FAUST_CYTHON)
STOCK = ("asyncio", "on")


def label(variant: tuple[str, str]) -> str:
    """``asyncio/on``: the key of a variant in the result."""
    return "/".join(variant)


def measure(settings: Settings, total: int, workdir: Path, timeout: float, rounds: int,
            say: Callable[[str], None]) -> dict:
    """Floor and pipeline per variant on the ``total`` events already in ``settings``' topics."""
    runs: dict[str, list[dict]] = {label(v): [] for v in VARIANTS}
    for round_no in range(rounds):
        order = VARIANTS if round_no % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            event_loop, cython = variant
            name = label(variant)
            s = dataclasses.replace(settings, event_loop=event_loop, faust_cython=cython,
                                    app_id=f"{settings.app_id}-{event_loop}-{cython}-{round_no}")
            own = workdir / f"loops-{event_loop}-{cython}-{round_no}"  # fresh table state per run
            floor = throughput.measure_baseline(s, total, own, timeout, mode="noop")
            _check_runtime(name, "the Faust floor", floor.get("runtime"))
            c = throughput.measure_pipeline(s, total, own, timeout)
            _check_runtime(name, "the pipeline", c.get("runtime"))
            say(f"  round {round_no + 1}, {name}: floor {floor['events_per_s']:,} ev/s, c {c['events_per_s']:,} ev/s")
            runs[name].append({"floor": floor, "pipeline": c})
    stock = runs[label(STOCK)]
    variants: dict[str, dict] = {}
    for variant in VARIANTS:
        name = label(variant)
        these = runs[name]
        variants[name] = {
            "event_loop": variant[0], "faust_cython": variant[1],
            "c_events_per_s": round(statistics.median(r["pipeline"]["events_per_s"] for r in these)),
            "floor_events_per_s": round(statistics.median(r["floor"]["events_per_s"] for r in these)),
            "c_over_floor": _median_ratio(r["pipeline"]["events_per_s"] / s["floor"]["events_per_s"]
                                          for r, s in zip(these, stock, strict=True)),
            "c_over_own_floor": _median_ratio(r["pipeline"]["events_per_s"] / r["floor"]["events_per_s"]
                                              for r in these),
            "c_events_per_cpu_s": round(statistics.median(r["pipeline"]["events_per_cpu_s"] for r in these)),
            "floor_events_per_cpu_s": round(statistics.median(r["floor"]["events_per_cpu_s"] for r in these)),
            "runs": these,
        }
    fastest = max(variants, key=lambda n: variants[n]["c_events_per_s"])
    return {"events": total, "rounds": rounds, "stock": label(STOCK), "stock_floor_events_per_s":
            variants[label(STOCK)]["floor_events_per_s"], "variants": variants, "fastest": fastest}


def _check_runtime(name: str, what: str, reported: dict | None) -> None:
    if reported is None or label((reported["event_loop"], reported["faust_cython"])) != name:
        raise WorkerProcessError(f"{what} was asked to run on {name} but reported {reported}")


def _median_ratio(values: Iterable[float]) -> float:
    return round(statistics.median(values), 3)
