"""A real single-node Apache Kafka broker (3.9.2, KRaft) for development and tests.

The broker's runtime classpath is fetched once from Maven Central with Maven into a
cache (``SCORECARD_KAFKA_CACHE``, default ``~/.cache/sales-scorecard/kafka-3.9.2``);
each data directory holds one broker: its ``server.properties``, KRaft log, pid file
and ``broker.log``. ``up`` is idempotent and returns once a produce round trip works;
``down`` sends SIGTERM to the broker's process group, then SIGKILL after a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
import base64
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

KAFKA_VERSION = "3.9.2"
PROBE_TOPIC = "__scorecard_probe"
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class BrokerError(RuntimeError):
    """The local broker cannot be set up, started or stopped; the message says what to do."""


@dataclass(frozen=True)
class BrokerInfo:
    """A running local broker."""

    pid: int
    port: int
    controller_port: int
    data_dir: Path
    already_running: bool = False

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def cache_dir() -> Path:
    """Where the broker's jars are cached."""
    env = os.environ.get("SCORECARD_KAFKA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "sales-scorecard" / f"kafka-{KAFKA_VERSION}"


def default_data_dir() -> Path:
    """The default broker data directory: ``$SCORECARD_DATA_DIR/kafka``."""
    from sales_scorecard.streams.settings import Settings

    return Path(Settings.from_env().data_dir) / "kafka"


def _resource(name: str) -> str:
    return resources.files("sales_scorecard.localkafka").joinpath(name).read_text()


def ensure_jars(progress: Progress = _quiet) -> Path:
    """Fetch the broker's runtime jars once; returns the ``libs`` directory."""
    root = cache_dir()
    libs = root / "libs"
    marker = root / ".complete"
    if marker.exists() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("mvn") is None:
        raise BrokerError("Maven (mvn) is not installed: install it (apt-get install maven) to fetch the Kafka broker")
    if shutil.which("java") is None:
        raise BrokerError("Java is not installed: install OpenJDK 17 to run the Kafka broker")
    root.mkdir(parents=True, exist_ok=True)
    if libs.exists():
        shutil.rmtree(libs)  # an interrupted download: start over
    pom = root / "pom.xml"
    pom.write_text(_resource("pom.xml"))
    progress(f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {root} (first time only)…")
    cmd = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={libs}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise BrokerError("Maven could not fetch the Kafka jars: " + " | ".join(tail))
    marker.write_text(KAFKA_VERSION)
    return libs


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A currently free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def broker_pids(data_dir: Path) -> list[int]:
    """Processes running a broker of this data directory (scans /proc)."""
    needle = str(data_dir.resolve() / "server.properties").encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and b"kafka.Kafka" in cmdline and _pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _read_state(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / "broker.json").read_text())
    except (OSError, ValueError):
        return None


def status(data_dir: Path | None = None) -> BrokerInfo | None:
    """The running broker of ``data_dir``, or None (a stale pid file is removed)."""
    data_dir = (data_dir or default_data_dir()).resolve()
    state = _read_state(data_dir)
    if state is None:
        return None
    if not _pid_alive(state["pid"]) or state["pid"] not in broker_pids(data_dir):
        (data_dir / "broker.json").unlink(missing_ok=True)
        return None
    return BrokerInfo(state["pid"], state["port"], state["controller_port"], data_dir, already_running=True)


def _cluster_id() -> str:
    # StorageTool reads an id starting with "-" as an option (about 1 in 64 ids): draw again.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _java(libs: Path, data_dir: Path, main: list[str]) -> list[str]:
    return [
        "java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{data_dir / 'log4j.properties'}",
        f"-Dkafka.logs.dir={data_dir / 'logs'}",
        "-cp", f"{libs}/*", *main,
    ]


def _wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float, progress: Progress) -> None:
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    deadline = time.monotonic() + timeout
    progress(f"waiting for the broker on 127.0.0.1:{port}…")
    last_error = "port not open"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
            raise BrokerError(f"the broker exited with code {proc.returncode}: " + " | ".join(tail))
        if not _port_open(port):
            time.sleep(0.3)
            continue
        try:
            admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=5000)
            try:
                admin.create_topics([NewTopic(PROBE_TOPIC, 1, 1)])
            except TopicAlreadyExistsError:
                pass
            finally:
                admin.close()
            producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{port}", acks="all", request_timeout_ms=5000)
            try:
                producer.send(PROBE_TOPIC, b"ping").get(timeout=10)
            finally:
                producer.close()
            return
        except KafkaError as exc:
            last_error = repr(exc)
            time.sleep(0.5)
    raise BrokerError(f"the broker did not become ready within {timeout:.0f}s ({last_error}); see {log}")


def up(
    port: int = 9092,
    data_dir: Path | None = None,
    controller_port: int | None = None,
    timeout: float = READY_TIMEOUT,
    progress: Progress = _quiet,
) -> BrokerInfo:
    """Start the broker of ``data_dir`` (or report the one already running)."""
    data_dir = (data_dir or default_data_dir()).resolve()
    running = status(data_dir)
    if running is not None:
        if running.port != port:
            raise BrokerError(
                f"a broker for {data_dir} already runs on port {running.port}; stop it first (scorecard kafka down)"
            )
        return running
    for pid in broker_pids(data_dir):  # an orphan without a pid file
        _terminate(pid, STOP_TIMEOUT)
    if not _port_free(port):
        raise BrokerError(f"port {port} is already in use by another process; choose another with --port")
    libs = ensure_jars(progress)
    data_dir.mkdir(parents=True, exist_ok=True)
    controller_port = controller_port or free_port()
    if controller_port == port or not _port_free(controller_port):
        raise BrokerError(f"controller port {controller_port} is not free")
    log_dir = data_dir / "kraft"
    props = data_dir / "server.properties"
    props.write_text(_resource("server.properties.template").format(
        port=port, controller_port=controller_port, log_dir=log_dir))
    (data_dir / "log4j.properties").write_text(_resource("log4j.properties"))
    (data_dir / "logs").mkdir(exist_ok=True)
    if not (log_dir / "meta.properties").exists():
        fmt = subprocess.run(
            _java(libs, data_dir, ["kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(props)]),
            capture_output=True, text=True,
        )
        if fmt.returncode != 0:
            raise BrokerError("formatting the broker storage failed: " + (fmt.stderr or fmt.stdout).strip()[-300:])
    log = data_dir / "broker.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            _java(libs, data_dir, ["kafka.Kafka", str(props)]),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    (data_dir / "broker.json").write_text(json.dumps(
        {"pid": proc.pid, "port": port, "controller_port": controller_port}))
    try:
        _wait_ready(port, proc, log, timeout, progress)
    except BaseException:
        _terminate(proc.pid, 10)
        (data_dir / "broker.json").unlink(missing_ok=True)
        raise
    return BrokerInfo(proc.pid, port, controller_port, data_dir)


def _terminate(pid: int, timeout: float) -> None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 10)
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                try:  # reap it when it is our child
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                return
            time.sleep(0.2)


def down(data_dir: Path | None = None, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the broker of ``data_dir``; True when one was running. Nothing running is fine."""
    data_dir = (data_dir or default_data_dir()).resolve()
    state = _read_state(data_dir)
    pids = set(broker_pids(data_dir))
    if state is not None and _pid_alive(state["pid"]):
        pids.add(state["pid"])
    for pid in pids:
        _terminate(pid, timeout)
    (data_dir / "broker.json").unlink(missing_ok=True)
    remaining = broker_pids(data_dir)
    if remaining:
        raise BrokerError(f"broker processes {remaining} did not stop")
    return bool(pids)
