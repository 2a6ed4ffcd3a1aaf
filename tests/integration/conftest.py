"""Fixtures that run real worker processes against the suite's broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """A ``scorecard worker`` subprocess with its log file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        env = {**os.environ, **settings.to_env(), "SCORECARD_LOG_LEVEL": "WARNING"}
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sales_scorecard.cli.main", "worker"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until ``/readyz`` answers 200 (fails the test with the log tail otherwise)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            status, _ = http_get(self.settings.web_port, "/readyz")
            if status == 200:
                return
            time.sleep(0.3)
        pytest.fail(f"worker not ready after {timeout}s:\n{self.log_tail()}")

    def metrics(self) -> str:
        status, body = http_get(self.settings.web_port, "/metrics")
        assert status == 200, status
        return body.decode()

    def readiness(self) -> dict:
        _, body = http_get(self.settings.web_port, "/readyz")
        return orjson.loads(body) if body else {}

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Stop the worker (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def run_worker(tmp_path: Path):
    """Factory: start a worker for given settings; every one is stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "worker", ready: bool = True) -> WorkerProcess:
        w = WorkerProcess(settings, tmp_path / f"{name}.log")
        started.append(w)
        if ready:
            w.wait_ready()
        return w

    yield start
    for w in started:
        w.stop()
