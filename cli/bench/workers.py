"""Worker processes for the benchmark: start, poll, stop, sample memory.

A benchmark worker is the real ``scorecard worker`` (or the plain-Faust baseline app)
in a subprocess with settings of its own; figures come from its ``/metrics`` and
``/readyz`` and from ``/proc/<pid>/status`` (peak resident set, ``VmHWM``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.streams.settings import Settings


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def rss_bytes(pid: int) -> int:
    """The process's current resident set size (``VmRSS``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class BenchError(RuntimeError):
    """A benchmark step that could not complete (worker died, timed out)."""


@dataclass
class BenchProcess:
    """A worker-like subprocess serving HTTP on ``settings.web_port``."""

    settings: Settings
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0

    def start(self) -> "BenchProcess":
        env = {**os.environ, **self.settings.to_env(), "SCORECARD_LOG_LEVEL": "WARNING", **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, *self.argv], env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise BenchError(f"{self.argv[-1]} exited with {self.proc.returncode}:\n{self.log_tail()}")

    def get(self, path: str) -> tuple[int, bytes]:
        return http_get(self.settings.web_port, path)

    def metrics(self) -> str:
        status, body = self.get("/metrics")
        return body.decode() if status == 200 else ""

    def wait(self, predicate, timeout: float, what: str, interval: float = 0.2) -> float:
        """Poll ``predicate`` until true; returns the monotonic time it first held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if predicate():
                return time.monotonic()
            time.sleep(interval)
        raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.log_tail()}")

    def wait_count(self, count: Callable[[], int], total: int, timeout: float, what: str) -> float:
        """Poll ``count`` until it reaches ``total``, with a progress bar on a terminal;
        returns the monotonic time it did."""
        from tqdm import tqdm

        with tqdm(total=total, unit="ev", desc=what, disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
            def reached() -> bool:
                n = count()
                bar.update(min(n, total) - bar.n)
                return n >= total
            return self.wait(reached, timeout, f"{total} {what}", interval=1.0)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, timeout: float = 600.0) -> float:
        """Seconds from start until ``/readyz`` answered 200."""
        at = self.wait(lambda: self.get("/readyz")[0] == 200, timeout, "/readyz", interval=0.1)
        return at - self.started_at

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def scorecard_worker(settings: Settings, log_path: Path) -> BenchProcess:
    """The project's worker (the full pipeline)."""
    return BenchProcess(settings, ["-m", "sales_scorecard.cli.main", "worker"], log_path)


def baseline_worker(settings: Settings, log_path: Path) -> BenchProcess:
    """The plain-Faust baseline: one table update per event."""
    return BenchProcess(settings, ["-m", "sales_scorecard.cli.bench.baseline_app", "baseline"], log_path)
