"""The local broker (``sales_scorecard.localkafka.broker`` and ``scorecard kafka``), each
test with its own broker on a free port and a throw-away data dir (not the session one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sales_scorecard.localkafka import broker

REPO = Path(__file__).resolve().parents[2]


def scorecard(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``scorecard`` CLI in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


def processes_mentioning(data_dir: Path) -> list[int]:
    """Live (non-zombie) processes whose command line mentions ``data_dir``; independent of broker.py."""
    needle = str(data_dir.resolve()).encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry.name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def cluster_id(data_dir: Path) -> str:
    meta = (data_dir / "kraft" / "meta.properties").read_text()
    return next(line.split("=", 1)[1] for line in meta.splitlines() if line.startswith("cluster.id="))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_up_status_idempotent_restart_and_cli_down(tmp_path: Path) -> None:
    data = tmp_path / "kafka"
    data.mkdir()
    (data / broker.PID_FILE).write_text(f"{dead_pid()}\n")  # a stale pid file from a crashed run
    port = broker.free_port()

    first = scorecard("kafka", "up", "--port", str(port), "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert f"kafka started: bootstrap 127.0.0.1:{port}" in first.stdout
    try:
        pids = broker.broker_pids(data)
        assert len(pids) == 1 and processes_mentioning(data) == pids
        assert int((data / broker.PID_FILE).read_text()) == pids[0]

        info = broker.status(data)
        assert info is not None and (info.pid, info.port) == (pids[0], port)
        again = broker.up(port=port, data_dir=data)  # a no-op: same process, nothing started
        assert again.already_running and again.pid == pids[0]
        second = scorecard("kafka", "up", "--port", str(port), "--data-dir", str(data))
        assert second.returncode == 0 and "already running" in second.stdout, second.stderr
        assert broker.broker_pids(data) == pids

        with pytest.raises(broker.BrokerError, match=f"already runs on port {port}"):
            broker.up(port=broker.free_port(), data_dir=data)

        (data / broker.PID_FILE).unlink()  # a lost pid file: the running broker is adopted, not doubled
        status = scorecard("kafka", "status", "--data-dir", str(data))
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
        assert int((data / broker.PID_FILE).read_text()) == pids[0]
        first_cluster = cluster_id(data)
    finally:
        down = scorecard("kafka", "down", "--data-dir", str(data))
    assert down.returncode == 0 and down.stdout.strip() == "kafka stopped", down.stderr
    assert processes_mentioning(data) == []
    assert not (data / broker.PID_FILE).exists()
    again_down = scorecard("kafka", "down", "--data-dir", str(data))
    assert again_down.returncode == 0 and "not running" in again_down.stdout
    assert scorecard("kafka", "status", "--data-dir", str(data)).returncode == 1

    # A restart keeps the formatted storage (same cluster id) and the topics in it.
    restarted = broker.up(port=port, data_dir=data)
    try:
        assert not restarted.already_running
        assert cluster_id(data) == first_cluster
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=restarted.bootstrap)
        try:
            assert broker.PROBE_TOPIC in admin.list_topics()
        finally:
            admin.close()
    finally:
        assert broker.down(data) is True
    assert processes_mentioning(data) == []


def test_stale_pid_file_is_removed(tmp_path: Path) -> None:
    data = tmp_path / "kafka"
    data.mkdir()
    (data / broker.PID_FILE).write_text(f"{dead_pid()}\n")
    assert broker.status(data) is None
    assert not (data / broker.PID_FILE).exists()
    assert broker.down(data) is False


def test_pid_file_naming_an_unrelated_process_is_never_signalled(tmp_path: Path) -> None:
    data = tmp_path / "kafka"
    data.mkdir()
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (data / broker.PID_FILE).write_text(f"{bystander.pid}\n")  # the pid was reused by something else
        assert broker.status(data) is None
        assert broker.down(data) is False
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("listening", [True, False], ids=["listening", "bound-only"])
def test_port_taken_by_something_else_is_a_clear_error(tmp_path: Path, listening: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        if listening:
            s.listen()
        port = s.getsockname()[1]
        with pytest.raises(broker.BrokerError, match=f"port {port} is already in use"):
            broker.up(port=port, data_dir=tmp_path / "api")
        result = scorecard("kafka", "up", "--port", str(port), "--data-dir", str(tmp_path / "cli"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"scorecard: error: port {port} is already in use by another process; choose another with --port"
    ]
    assert processes_mentioning(tmp_path) == []


def test_status_and_down_without_broker(tmp_path: Path) -> None:
    status = scorecard("kafka", "status", "--data-dir", str(tmp_path / "none"))
    assert status.returncode == 1 and status.stdout.strip() == "kafka is not running"
    down = scorecard("kafka", "down", "--data-dir", str(tmp_path / "none"))
    assert down.returncode == 0 and down.stdout.strip() == "kafka was not running"


def test_interrupted_jar_download_is_not_taken_for_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache with jars but without the completion marker is fetched again."""
    cache = tmp_path / "cache"
    (cache / "libs").mkdir(parents=True)
    (cache / "libs" / "kafka_2.13-3.9.2.jar").write_bytes(b"truncated")
    monkeypatch.setenv("SCORECARD_KAFKA_CACHE", str(cache))
    calls: list[list[str]] = []

    def fake_mvn(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        out = Path(next(a for a in cmd if a.startswith("-DoutputDirectory=")).split("=", 1)[1])
        out.mkdir(parents=True)
        (out / "kafka_2.13-3.9.2.jar").write_bytes(b"complete")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(broker.subprocess, "run", fake_mvn)
    libs = broker.ensure_jars()
    assert len(calls) == 1 and (libs / "kafka_2.13-3.9.2.jar").read_bytes() == b"complete"
    assert (cache / ".complete").exists()
    assert broker.ensure_jars() == libs and len(calls) == 1  # complete now: no second download
