"""Worker processes for the benchmark, and their memory.

A benchmark worker is the real ``scorecard worker`` (or the plain-Faust baseline app)
in a subprocess with settings of its own (``cli.worker_process``); figures come from its
``/metrics`` and ``/readyz`` and from ``/proc/<pid>/status`` (peak resident set, ``VmHWM``)
and ``/proc/<pid>/stat`` (CPU time).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from sales_scorecard.cli.worker_process import WorkerProcess
from sales_scorecard.streams.settings import Settings


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far, in seconds."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(after_name[11]), int(after_name[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks  # without guest time (counted in user)


@dataclass(frozen=True)
class Usage:
    """Seconds at one moment, or between two (``since``): wall clock (monotonic), one
    process's CPU, and the whole machine's busy and total CPU."""

    wall: float
    cpu: float
    machine_busy: float
    machine_all: float

    @classmethod
    def of(cls, pid: int) -> Usage:
        """Now, for process ``pid``."""
        busy, total = machine_busy_seconds()
        return cls(time.monotonic(), cpu_seconds(pid), busy, total)

    def since(self, before: Usage) -> Usage:
        """What was used from ``before`` to this moment."""
        return Usage(self.wall - before.wall, self.cpu - before.cpu, self.machine_busy - before.machine_busy,
                     self.machine_all - before.machine_all)

    @property
    def machine_share(self) -> float | None:
        """The share of the machine's cores busy over a span (None: no time passed)."""
        return self.machine_busy / self.machine_all if self.machine_all else None


def scorecard_worker(settings: Settings, log_path: Path) -> WorkerProcess:
    """The project's worker (the full pipeline)."""
    return WorkerProcess(settings, log_path)


def baseline_worker(settings: Settings, log_path: Path, mode: str = "baseline") -> WorkerProcess:
    """The plain-Faust baseline: one table update per event (``mode="noop"``: none)."""
    return WorkerProcess(settings, log_path, ("-m", "sales_scorecard.cli.bench.baseline_app", mode))
