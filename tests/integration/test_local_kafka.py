"""``scorecard kafka up|down|status`` with its own broker (not the session one)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sales_scorecard.localkafka import broker

REPO = Path(__file__).resolve().parents[2]


def scorecard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, timeout=300)


def test_up_is_idempotent_and_down_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "kafka"
    port = broker.free_port()
    first = scorecard("kafka", "up", "--port", str(port), "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert "started" in first.stdout
    try:
        pids = broker.broker_pids(data)
        assert len(pids) == 1
        second = scorecard("kafka", "up", "--port", str(port), "--data-dir", str(data))
        assert second.returncode == 0 and "already running" in second.stdout
        assert broker.broker_pids(data) == pids
        status = scorecard("kafka", "status", "--data-dir", str(data))
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
    finally:
        down = scorecard("kafka", "down", "--data-dir", str(data))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert broker.broker_pids(data) == []
    assert not any(broker._pid_alive(pid) for pid in pids)  # a zombie awaiting its reaper counts as gone
    again = scorecard("kafka", "down", "--data-dir", str(data))
    assert again.returncode == 0 and "not running" in again.stdout
    assert scorecard("kafka", "status", "--data-dir", str(data)).returncode == 1


def test_stale_pid_file_is_handled(tmp_path: Path) -> None:
    data = tmp_path / "kafka"
    data.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (data / "broker.json").write_text(json.dumps({"pid": dead.pid, "port": 1, "controller_port": 2}))
    assert broker.status(data) is None
    assert not (data / "broker.json").exists()
    assert broker.down(data) is False


def test_port_taken_by_something_else_is_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = scorecard("kafka", "up", "--port", str(port), "--data-dir", str(tmp_path / "k"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} is already in use" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["kafka", "status"]])
def test_status_without_broker(tmp_path: Path, args: list[str]) -> None:
    result = scorecard(*args, "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 1 and "not running" in result.stdout
