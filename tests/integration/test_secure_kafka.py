"""Kafka transport security (docs/security.md): the worker, ``produce`` and ``snapshot``
over SASL_SSL (SCRAM-SHA-512) against the secure local broker, and the clients the broker
must refuse.

The module starts its own ``scorecard kafka up --secure`` broker (throw-away CA, SCRAM users
made at format time) on a free port in a temp dir, and always stops it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.localkafka import broker
from sales_scorecard.streams.settings import Settings
from tests.conftest import OWNER_FILE, SESSION_DIR_PREFIX
from tests.integration.compare import assert_snapshot_matches
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import consumer_lag, lag_caught_up, metric_sum, metric_value, read_topic, wait_for
from tests.reference.model import built_model

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[broker.BrokerInfo]:
    """A SASL_SSL broker of this module (reaped like the session broker if the run dies)."""
    data_dir = Path(tempfile.mkdtemp(prefix=SESSION_DIR_PREFIX + "secure-"))
    (data_dir / OWNER_FILE).write_text(str(os.getpid()))
    try:
        yield broker.up(port=broker.free_port(), data_dir=data_dir, secure=True)
    finally:
        try:
            broker.down(data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def secure_settings(info: broker.BrokerInfo, data_dir: Path) -> Settings:
    """Isolated settings (own topic prefix and app id) that reach ``info`` over SASL_SSL."""
    tag = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=info.bootstrap, web_port=broker.free_port(), topic_prefix=f"s{tag}.",
        app_id=f"scorecard-secure-{tag}", store="memory", data_dir=str(data_dir), partitions=2, coalesce_ms=200,
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_username=str(info.username), kafka_password_file=str(info.password_file),
        kafka_ca_file=str(info.ca_file),
    )


def scorecard(settings: Settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with exactly these settings in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORECARD_")}
    env.update(settings.to_env())
    return subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", *args],
                          env=env, cwd=REPO, capture_output=True, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    """The CLI's stderr, checked to be a single ``scorecard: error:`` line (no traceback)."""
    err = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scorecard: error: "), err
    return lines[0]


def test_secure_broker_material(secure_broker: broker.BrokerInfo) -> None:
    assert secure_broker.secure and secure_broker.ca_file and secure_broker.password_file
    assert secure_broker.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
    for secret in (secure_broker.password_file, secure_broker.data_dir / broker.PROPERTIES):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert not (secure_broker.data_dir / broker.SECURE_DIR / "ca.p12").exists()  # the CA key is gone
    status = broker.status(secure_broker.data_dir)
    assert status is not None and status.secure and status.port == secure_broker.port


def test_worker_produce_and_snapshot_over_sasl_ssl(secure_broker: broker.BrokerInfo, run_worker,
                                                   tmp_path: Path) -> None:
    s = secure_settings(secure_broker, tmp_path / "data")
    created = scorecard(s, "topics", "create")
    assert created.returncode == 0, created.stderr.decode()
    events = simulate(SimulationConfig(seed=5, reps=6, teams=2, months=1, start_month="2026-07"))
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    worker = run_worker(s)
    produced = scorecard(s, "produce", str(path), "--quiet")
    assert produced.returncode == 0, produced.stderr.decode()
    unique = len({e["event_id"] for e in events})

    def settled() -> bool:
        m = worker.metrics()
        accepted = metric_sum(m, "scorecard_records_accepted_total")
        return (accepted >= unique and metric_sum(m, "scorecard_facts_total") >= accepted
                and metric_value(m, "scorecard_pending_updates") == 0)

    assert wait_for(settled, timeout=180, interval=1), worker.log_tail()
    # The worker's own lag sampler (separate aiokafka clients) logs in over SASL_SSL too.
    assert wait_for(lambda: lag_caught_up(worker.metrics(), s), timeout=60, interval=2), \
        (consumer_lag(worker.metrics()), worker.log_tail())
    snap = scorecard(s, "snapshot")
    assert snap.returncode == 0, snap.stderr.decode()
    rows = [orjson.loads(line) for line in snap.stdout.splitlines() if line.strip()]
    assert {r["scope"] for r in rows} == {"rep", "team", "company"}
    assert assert_snapshot_matches(rows, built_model(events, timezone=s.timezone)) >= 6
    # The same records read with the PLAIN mechanism over the same TLS listener.
    plain = scorecard(replace(s, kafka_sasl_mechanism="PLAIN"), "snapshot")
    assert plain.returncode == 0, plain.stderr.decode()
    assert plain.stdout == snap.stdout
    # The test helpers take the same security settings.
    assert len(read_topic(s, s.topic("sales.scorecards"))) >= len(rows)
    password = secure_broker.password_file.read_text().strip()
    for output in (created.stdout + created.stderr, produced.stdout + produced.stderr,
                   snap.stderr, worker.log_tail(10_000).encode()):
        assert password.encode() not in output


def test_wrong_password_is_refused_in_one_line(secure_broker: broker.BrokerInfo, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    s = replace(secure_settings(secure_broker, tmp_path), kafka_password_file=str(wrong))
    line = one_line_error(scorecard(s, "snapshot"))
    assert "SCRAM-SHA-512 credentials of user 'scorecard'" in line
    assert "not-the-password" not in line


def test_wrong_password_refused_by_the_broker_itself(secure_broker: broker.BrokerInfo, tmp_path: Path) -> None:
    """Not just the CLI's check: kafka-python with a wrong password never gets metadata."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    from sales_scorecard.cli.kafka_io import client_options

    s = replace(secure_settings(secure_broker, tmp_path), kafka_password_file="", kafka_password="wrong")
    with pytest.raises(KafkaError):
        KafkaConsumer(**client_options(s), bootstrap_timeout_ms=5000).close()


def test_plaintext_client_to_the_tls_port_is_refused(secure_broker: broker.BrokerInfo, tmp_path: Path) -> None:
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    s = replace(secure_settings(secure_broker, tmp_path), kafka_security_protocol="PLAINTEXT")
    line = one_line_error(scorecard(s, "snapshot"))
    assert "refused a PLAINTEXT connection" in line and "needs TLS" in line
    with pytest.raises(KafkaError):  # the broker itself, not only the CLI's probe
        KafkaConsumer(bootstrap_servers=secure_broker.bootstrap, bootstrap_timeout_ms=5000).close()


def test_untrusted_certificate_is_refused(secure_broker: broker.BrokerInfo, tmp_path: Path) -> None:
    s = replace(secure_settings(secure_broker, tmp_path), kafka_ca_file="")  # the system store
    line = one_line_error(scorecard(s, "snapshot"))
    assert "TLS certificate of Kafka" in line and "not trusted" in line


def test_worker_with_a_wrong_password_is_refused_and_exits(secure_broker: broker.BrokerInfo, run_worker,
                                                           tmp_path: Path) -> None:
    good = secure_settings(secure_broker, tmp_path / "data")
    assert scorecard(good, "topics", "create").returncode == 0
    wrong = tmp_path / "wrong.password"
    wrong.write_text("wrong-worker-password\n")
    worker = run_worker(replace(good, kafka_password_file=str(wrong)), ready=False)
    assert worker.proc.wait(timeout=90) != 0
    log = worker.log_tail(10_000)
    # The worker's first step (creating Faust's topics) says which credentials to check, whether
    # kafka-python read the broker's refusal or lost the race with the broker closing the socket.
    assert "SCRAM-SHA-512 credentials of user 'scorecard'" in log, log
    assert "wrong-worker-password" not in log
