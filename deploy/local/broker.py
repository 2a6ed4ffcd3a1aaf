"""A real single-node Apache Kafka broker (3.9.2, KRaft) for development and tests.

The broker's runtime classpath is fetched once from Maven Central with Maven into a
cache (``SCORECARD_KAFKA_CACHE``, default ``~/.cache/sales-scorecard/kafka-3.9.2``,
complete only once its ``.complete`` marker exists). Each data directory holds one
broker: ``server.properties`` (the source of its ports), the KRaft log in ``kraft/``,
``broker.pid`` and ``broker.log``.

``up(secure=True)`` runs the client listener as ``SASL_SSL`` (SCRAM-SHA-512 and PLAIN):
a throw-away CA and broker certificate are made with the JDK's ``keytool`` in
``secure/`` of the data directory, SCRAM users are created when the storage is formatted
(``StorageTool format --add-scram``), and the generated passwords live in files readable
by their owner only; they are never printed.

``up`` is idempotent and returns once a real produce round trip works; ``down`` sends
SIGTERM to the broker's process group, then SIGKILL after a timeout, and checks that
no process of the data directory remains. Every failure is a one-line ``BrokerError``.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

KAFKA_VERSION = "3.9.2"
PROBE_TOPIC = "__scorecard_probe"
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
PID_FILE = "broker.pid"
LOG_FILE = "broker.log"
PROPERTIES = "server.properties"
#: Directory (in the data dir) of the secure broker's keys, certificates and passwords.
SECURE_DIR = "secure"
#: The SCRAM/PLAIN user for clients, and the broker's own (inter-broker) user.
CLIENT_USER = "scorecard"
BROKER_USER = "broker"
SASL_MECHANISM = "SCRAM-SHA-512"


class BrokerError(RuntimeError):
    """The local broker cannot be set up, started or stopped; the message says what to do."""


@dataclass(frozen=True)
class BrokerInfo:
    """A running local broker."""

    pid: int
    port: int
    controller_port: int
    data_dir: Path
    #: True when ``up`` found it already running (and started nothing).
    already_running: bool = False
    #: True when the client listener is SASL_SSL (``up(secure=True)``).
    secure: bool = False

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The broker's stdout/stderr log."""
        return self.data_dir / LOG_FILE

    @property
    def ca_file(self) -> Path | None:
        """PEM certificate of the throw-away CA that signed the broker (secure broker only)."""
        return self.data_dir / SECURE_DIR / "ca.pem" if self.secure else None

    @property
    def username(self) -> str | None:
        """The SASL user for clients (secure broker only)."""
        return CLIENT_USER if self.secure else None

    @property
    def password_file(self) -> Path | None:
        """File (mode 0600) holding the client user's password (secure broker only)."""
        return self.data_dir / SECURE_DIR / f"{CLIENT_USER}.password" if self.secure else None

    def client_env(self) -> dict[str, str]:
        """The ``SCORECARD_*`` variables a client needs (file paths, never a password)."""
        env = {"SCORECARD_BOOTSTRAP_SERVERS": self.bootstrap}
        if self.secure:
            env.update({
                "SCORECARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "SCORECARD_KAFKA_SASL_MECHANISM": SASL_MECHANISM,
                "SCORECARD_KAFKA_USERNAME": CLIENT_USER,
                "SCORECARD_KAFKA_PASSWORD_FILE": str(self.password_file),
                "SCORECARD_KAFKA_CA_FILE": str(self.ca_file),
            })
        return env


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --- jars -------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where the broker's jars are cached (``$SCORECARD_KAFKA_CACHE`` overrides)."""
    env = os.environ.get("SCORECARD_KAFKA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "sales-scorecard" / f"kafka-{KAFKA_VERSION}"


def _resource(name: str) -> str:
    return resources.files("sales_scorecard.localkafka").joinpath(name).read_text()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so parallel sessions do not download into one cache at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _jars_complete(root: Path) -> bool:
    return (root / ".complete").exists() and any((root / "libs").glob("kafka_2.13-*.jar"))


def ensure_jars(progress: Progress = _quiet) -> Path:
    """Fetch the broker's runtime jars once; returns the ``libs`` directory."""
    root = cache_dir()
    libs = root / "libs"
    if _jars_complete(root):
        return libs
    for tool, hint in (("mvn", "install Maven (apt-get install maven)"), ("java", "install OpenJDK 17")):
        if shutil.which(tool) is None:
            raise BrokerError(f"{tool} is not on PATH: {hint} to run the local Kafka broker")
    with _locked(root / ".lock"):
        if _jars_complete(root):  # another process finished while we waited for the lock
            return libs
        partial = root / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)  # leftovers of an interrupted download
        shutil.rmtree(libs, ignore_errors=True)
        pom = root / "pom.xml"
        pom.write_text(_resource("pom.xml"))
        progress(f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {root} (first time only)…")
        started = time.monotonic()
        cmd = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
               "-DincludeScope=runtime", f"-DoutputDirectory={partial}"]
        result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
            raise BrokerError("Maven could not fetch the Kafka jars: " + " | ".join(tail))
        partial.rename(libs)
        (root / ".complete").write_text(KAFKA_VERSION)  # written last: its presence means complete
        count = len(list(libs.glob("*.jar")))
        progress(f"fetched {count} jars in {time.monotonic() - started:.0f}s")
    return libs


# --- processes and ports ----------------------------------------------------------------


def default_data_dir() -> Path:
    """The default broker data directory: ``$SCORECARD_DATA_DIR/kafka``."""
    from sales_scorecard.streams.settings import Settings

    return Path(Settings.from_env().data_dir) / "kafka"


def free_port() -> int:
    """A currently free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts connections on ``127.0.0.1:port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR as the broker sets it: TIME_WAIT leftovers are fine, a listener is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pid_alive(pid: int) -> bool:
    """True for a running process (a zombie awaiting its reaper is not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def broker_pids(data_dir: Path) -> list[int]:
    """Running broker processes of this data directory (scans /proc command lines)."""
    needle = str(data_dir.resolve() / PROPERTIES).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in args and b"kafka.Kafka" in args and pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return sorted(pids)


def _read_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _ports(data_dir: Path) -> tuple[int, int]:
    """(client port, controller port) from the data directory's ``server.properties``."""
    text = (data_dir / PROPERTIES).read_text()
    client = re.search(r"^listeners=(?:.*,)?(?:PLAINTEXT|SASL_SSL)://[^:,]+:(\d+)", text, re.M)
    controller = re.search(r"^listeners=.*CONTROLLER://[^:,]+:(\d+)", text, re.M)
    if client is None or controller is None:
        raise BrokerError(f"cannot read the listeners of {data_dir / PROPERTIES}")
    return int(client.group(1)), int(controller.group(1))


def status(data_dir: Path | None = None) -> BrokerInfo | None:
    """The running broker of ``data_dir``, or None; a stale pid file is removed."""
    data_dir = (data_dir or default_data_dir()).resolve()
    pid = _read_pid(data_dir)
    if pid is None and not (data_dir / PROPERTIES).exists():
        return None
    # The pid must still be *our* broker: after a reboot the number may belong to anything.
    running = broker_pids(data_dir)
    if pid not in running:
        (data_dir / PID_FILE).unlink(missing_ok=True)
        if not running:
            return None
        pid = running[0]  # a broker of this dir whose pid file was lost: adopt it
        (data_dir / PID_FILE).write_text(f"{pid}\n")
    port, controller_port = _ports(data_dir)
    return BrokerInfo(pid, port, controller_port, data_dir, already_running=True, secure=_is_secure(data_dir))


def _is_secure(data_dir: Path) -> bool:
    """True when the data directory's broker listens with SASL_SSL."""
    try:
        return "SASL_SSL://" in (data_dir / PROPERTIES).read_text()
    except OSError:
        return False


def _cluster_id() -> str:
    """A random 22-char URL-safe base64 UUID, as ``kafka-storage random-uuid`` prints it."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # StorageTool would parse a leading '-' as an option
            return cid


def _java(libs: Path, data_dir: Path, main: list[str]) -> list[str]:
    return [
        "java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{data_dir / 'log4j.properties'}",
        f"-Dkafka.logs.dir={data_dir / 'logs'}",
        "-cp", f"{libs}/*", *main,
    ]


def _log_tail(log: Path, lines: int = 3) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- the secure broker's material -------------------------------------------------------


def _write_secret(path: Path, value: str) -> None:
    """Write ``value`` to a file only its owner can read (mode 0600 from creation on)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)


def _secret(path: Path) -> str:
    """The password kept in ``path``, generated (URL-safe, 32 characters) the first time."""
    if not path.exists():
        _write_secret(path, secrets.token_urlsafe(24))
    return path.read_text().strip()


def _keytool(secure: Path, *args: str) -> None:
    """Run ``keytool`` in ``secure`` with the store password read from a file (never argv)."""
    if shutil.which("keytool") is None:
        raise BrokerError("keytool is not on PATH: install OpenJDK 17 to run the secure local Kafka broker")
    result = subprocess.run(["keytool", *args], cwd=secure, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-2:])
        raise BrokerError(f"keytool {args[0]} failed in {secure}: {tail}")


def ensure_secure_material(data_dir: Path, progress: Progress = _quiet) -> dict[str, str]:
    """Make (once per data dir) a throw-away CA, a broker certificate for 127.0.0.1/localhost
    signed by it, PKCS12 key and trust stores, and the passwords; returns the values the
    secure part of ``server.properties`` needs. Clients trust ``secure/ca.pem``."""
    secure = data_dir / SECURE_DIR
    secure.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(secure, 0o700)
    store_file = secure / "store.password"
    values = {
        "store_password": _secret(store_file),
        "broker_user": BROKER_USER,
        "broker_password": _secret(secure / f"{BROKER_USER}.password"),
        "client_user": CLIENT_USER,
        "client_password": _secret(secure / f"{CLIENT_USER}.password"),
        "keystore": str(secure / "broker.p12"),
        "truststore": str(secure / "truststore.p12"),
    }
    if (secure / ".complete").exists():
        return values
    progress(f"generating a throw-away CA and broker certificate in {secure}…")
    for name in ("ca.p12", "ca.pem", "broker.p12", "broker.csr", "broker.pem", "truststore.p12"):
        (secure / name).unlink(missing_ok=True)  # leftovers of an interrupted run
    pw = ["-storepass:file", str(store_file)]
    san = "SAN=dns:localhost,ip:127.0.0.1"
    common = ["-storetype", "PKCS12", "-keyalg", "RSA", "-keysize", "2048", "-validity", "825"]
    _keytool(secure, "-genkeypair", "-alias", "ca", "-dname", "CN=sales-scorecard local CA",
             "-ext", "bc:c", "-ext", "KeyUsage:critical=keyCertSign,cRLSign",
             "-keystore", "ca.p12", *pw, *common)
    _keytool(secure, "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", *pw, "-file", "ca.pem")
    _keytool(secure, "-genkeypair", "-alias", "broker", "-dname", "CN=localhost", "-ext", san,
             "-keystore", "broker.p12", *pw, *common)
    _keytool(secure, "-certreq", "-alias", "broker", "-keystore", "broker.p12", *pw, "-file", "broker.csr")
    _keytool(secure, "-gencert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", *pw, "-validity", "825",
             "-infile", "broker.csr", "-outfile", "broker.pem", "-ext", san,
             "-ext", "KeyUsage:critical=digitalSignature,keyEncipherment",
             "-ext", "ExtendedKeyUsage=serverAuth,clientAuth")
    _keytool(secure, "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "broker.p12", *pw)
    _keytool(secure, "-importcert", "-noprompt", "-alias", "broker", "-file", "broker.pem",
             "-keystore", "broker.p12", *pw)
    _keytool(secure, "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem",
             "-keystore", "truststore.p12", "-storetype", "PKCS12", *pw)
    (secure / "broker.csr").unlink()
    (secure / "ca.p12").unlink()  # the CA's private key: nothing else may ever be signed with it
    for name in ("broker.p12", "truststore.p12"):
        os.chmod(secure / name, 0o600)
    os.chmod(secure / "ca.pem", 0o644)  # the CA certificate is public
    (secure / ".complete").write_text("1\n")
    return values


def _client_options(port: int, secure: bool, data_dir: Path) -> dict[str, object]:
    """kafka-python options for the readiness probe (the client user over SASL_SSL when secure)."""
    if not secure:
        return {"bootstrap_servers": f"127.0.0.1:{port}"}
    from sales_scorecard.streams.kafka_security import kafka_python_options
    from sales_scorecard.streams.settings import Settings

    info = BrokerInfo(0, port, 0, data_dir, secure=True)
    settings = Settings(
        bootstrap_servers=info.bootstrap, kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism=SASL_MECHANISM,
        kafka_username=CLIENT_USER, kafka_password_file=str(info.password_file), kafka_ca_file=str(info.ca_file),
    )
    return {"bootstrap_servers": info.bootstrap, **kafka_python_options(settings)}


def _probe(options: dict[str, object]) -> None:
    """One produce round trip (acks=all) on the probe topic; raises a KafkaError if not ready."""
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**options, request_timeout_ms=5000)
    try:
        with suppress(TopicAlreadyExistsError):
            admin.create_topics({PROBE_TOPIC: {"num_partitions": 1, "replication_factor": 1}},
                                wait_for_metadata=True)
    finally:
        admin.close()
    producer = KafkaProducer(**options, acks="all", request_timeout_ms=5000, max_block_ms=10000)
    try:
        producer.send(PROBE_TOPIC, b"ping").get(timeout=10)
    finally:
        producer.close(timeout=5)


def _wait_ready(port: int, pid: int, log: Path, timeout: float, progress: Progress,
                secure: bool = False) -> None:
    from kafka.errors import KafkaError

    progress(f"waiting for the broker on 127.0.0.1:{port}…")
    deadline = time.monotonic() + timeout
    last_error = "port not open"
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise BrokerError(f"the broker exited during start-up: {_log_tail(log)}")
        if not port_open(port):
            time.sleep(0.3)
            continue
        try:
            _probe(_client_options(port, secure, log.parent))
            return
        except KafkaError as exc:
            last_error = f"{type(exc).__name__}: {exc}"[:200]
            time.sleep(0.5)
    raise BrokerError(f"the broker did not become ready within {timeout:.0f}s ({last_error}); see {log}")


# --- up / down --------------------------------------------------------------------------


def up(
    port: int = 9092,
    data_dir: Path | None = None,
    controller_port: int | None = None,
    timeout: float = READY_TIMEOUT,
    progress: Progress = _quiet,
    secure: bool = False,
) -> BrokerInfo:
    """Start the broker of ``data_dir`` and wait until it serves (or report the one already running).
    With ``secure`` the client listener is SASL_SSL; the returned info names the CA file,
    user and password file clients need."""
    data_dir = (data_dir or default_data_dir()).resolve()
    running = status(data_dir)
    if running is not None:
        if running.port != port:
            raise BrokerError(
                f"the broker of {data_dir} already runs on port {running.port}; stop it first (scorecard kafka down)"
            )
        if running.secure != secure:
            mode = "with" if running.secure else "without"
            raise BrokerError(f"the broker of {data_dir} already runs {mode} --secure; "
                              "stop it first (scorecard kafka down)")
        if not port_open(port):  # still starting (another `up`), or wedged: wait like a fresh start
            _wait_ready(port, running.pid, running.log, timeout, progress, secure)
        return running
    if not _port_free(port):
        raise BrokerError(f"port {port} is already in use by another process; choose another with --port")
    controller_port = controller_port or free_port()
    if controller_port == port or not _port_free(controller_port):
        raise BrokerError(f"controller port {controller_port} is already in use; choose another")
    libs = ensure_jars(progress)

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    kraft = data_dir / "kraft"
    props = data_dir / PROPERTIES
    formatted = (kraft / "meta.properties").exists()
    if formatted and (data_dir / SECURE_DIR / ".complete").exists() != secure:
        mode = "with" if not secure else "without"
        raise BrokerError(f"the storage in {data_dir} was formatted {mode} --secure; use another --data-dir")
    security, scram = "", []
    if secure:
        material = ensure_secure_material(data_dir, progress)
        security = _resource("server-secure.properties.template").format(**material)
        scram = [arg for user in ("broker", "client") for arg in (
            "--add-scram",
            f"{SASL_MECHANISM}=[name={material[user + '_user']},password={material[user + '_password']}]")]
    props.touch(mode=0o600)
    os.chmod(props, 0o600)  # with --secure it holds passwords
    props.write_text(_resource("server.properties.template").format(
        port=port, controller_port=controller_port, log_dir=kraft,
        listener="SASL_SSL" if secure else "PLAINTEXT", security=security))
    (data_dir / "log4j.properties").write_text(_resource("log4j.properties"))
    if not formatted:  # format once per data dir; restarts keep the data (and the SCRAM users)
        fmt = subprocess.run(
            _java(libs, data_dir, ["kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(props),
                                   *scram]),
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )
        if fmt.returncode != 0:
            output = " | ".join((fmt.stderr or fmt.stdout).strip().splitlines()[-3:])
            for arg in scram:  # the SCRAM passwords are on StorageTool's command line: keep them out
                output = output.replace(arg, "--add-scram …")
            raise BrokerError(f"formatting the broker storage in {kraft} failed: {output}")

    log = data_dir / LOG_FILE
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            _java(libs, data_dir, ["kafka.Kafka", str(props)]),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: `down` signals the group, a terminal ^C does not
        )
    (data_dir / PID_FILE).write_text(f"{proc.pid}\n")
    try:
        _wait_ready(port, proc.pid, log, timeout, progress, secure)
    except BaseException:
        _terminate(proc.pid, 10)
        (data_dir / PID_FILE).unlink(missing_ok=True)
        raise
    return BrokerInfo(proc.pid, port, controller_port, data_dir, secure=secure)


def _reap(pid: int) -> None:
    with suppress(ChildProcessError):  # only succeeds when the broker is our child (started here)
        os.waitpid(pid, os.WNOHANG)


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the broker's process group, SIGKILL after ``timeout`` seconds."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            if pgid == pid:  # it leads its own group (we started it so): take any children too
                os.killpg(pgid, sig)
            else:  # started by hand inside someone else's group: signal only the broker
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not pid_alive(pid):
                _reap(pid)
                return
            time.sleep(0.2)


def down(data_dir: Path | None = None, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the broker of ``data_dir``; True when one was running. Nothing running is fine."""
    data_dir = (data_dir or default_data_dir()).resolve()
    pids = broker_pids(data_dir)  # never the pid file alone: its number may have been reused
    for pid in pids:
        _terminate(pid, timeout)
    (data_dir / PID_FILE).unlink(missing_ok=True)
    remaining = broker_pids(data_dir)
    if remaining:
        raise BrokerError(f"broker process(es) {remaining} of {data_dir} did not stop, even after SIGKILL")
    return bool(pids)
