"""A worker in a subprocess, watched from outside: start, readiness, metrics, log, stop.

The benchmark and the integration tests run the real ``scorecard worker`` (or the
bench's plain-Faust baseline) this way, each with settings of its own, and read it only
through its HTTP endpoints and its log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.streams.settings import Settings

#: The project's worker, as ``python`` arguments.
WORKER_ARGV = ("-m", "sales_scorecard.cli.main", "worker")


class WorkerProcessError(RuntimeError):
    """The process exited, or did not reach a state in time (the message has its log tail)."""


@dataclass(eq=False)  # compared and hashed by identity, like the process it stands for
class WorkerProcess:
    """A worker-like subprocess serving HTTP on ``settings.web_port``, logging to ``log_path``."""

    settings: Settings
    log_path: Path
    argv: tuple[str, ...] = WORKER_ARGV
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    proc: subprocess.Popen | None = None
    started_at: float = 0.0

    def start(self) -> WorkerProcess:
        """Start the process in a session of its own (so ``stop`` reaches its children)."""
        env = {**os.environ, **self.settings.to_env(), "SCORECARD_LOG_LEVEL": "WARNING", **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen([sys.executable, *self.argv], env=env, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.cwd, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def check_alive(self) -> None:
        """Raise WorkerProcessError if the process has exited."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise WorkerProcessError(f"{self.argv[-1]} exited with {self.proc.returncode}:\n{self.log_tail()}")

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``; (status, body), status 0 when unreachable."""
        return http_get(self.settings.web_port, path)

    def metrics(self) -> str:
        """The Prometheus exposition ("" when not answering)."""
        status, body = self.get("/metrics")
        return body.decode() if status == 200 else ""

    def readiness(self) -> dict:
        """The body of ``/readyz`` ({} when not answering)."""
        _, body = self.get("/readyz")
        return orjson.loads(body) if body else {}

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> float:
        """Poll ``predicate`` until true; returns the monotonic time it first held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if predicate():
                return time.monotonic()
            time.sleep(interval)
        raise WorkerProcessError(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.log_tail()}")

    def wait_ready(self, timeout: float = 600.0) -> float:
        """Seconds from start until ``/readyz`` answered 200."""
        at = self.wait(lambda: self.get("/readyz")[0] == 200, timeout, "/readyz", interval=0.1)
        return at - self.started_at

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

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        """Send ``sig`` to the process group; SIGKILL after ``timeout`` s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
