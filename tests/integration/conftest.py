"""Fixtures that run real worker processes against the suite's broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from sales_scorecard.cli.worker_process import WorkerProcess as SharedWorkerProcess
from sales_scorecard.cli.worker_process import WorkerProcessError
from sales_scorecard.streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]


class WorkerProcess(SharedWorkerProcess):
    """A ``scorecard worker`` subprocess, started at once, that fails the test (with its
    log tail) where the shared class would raise."""

    def __init__(self, settings: Settings, log_path: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(settings, log_path, env=dict(env or {}), cwd=REPO)
        self.start()

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Block until ``/readyz`` answers 200."""
        try:
            return super().wait_ready(timeout)
        except WorkerProcessError as exc:
            pytest.fail(str(exc))

    def metrics(self) -> str:
        status, body = self.get("/metrics")
        assert status == 200, status
        return body.decode()


@pytest.fixture
def run_worker(tmp_path: Path):
    """Factory: start a worker for given settings; every one is stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "worker", ready: bool = True,
              env: dict[str, str] | None = None) -> WorkerProcess:
        """``env`` overrides the worker's environment (e.g. ``SCORECARD_LOG_LEVEL``, WARNING by default)."""
        w = WorkerProcess(settings, tmp_path / f"{name}.log", env)
        started.append(w)
        if ready:
            w.wait_ready()
        return w

    yield start
    for w in started:
        w.stop()
