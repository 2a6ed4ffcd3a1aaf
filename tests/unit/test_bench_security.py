"""The benchmark's clients take the Kafka transport security settings like every other
client: its settings, the bare aiokafka consumer and the plain-Faust baseline app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust
import pytest

from sales_scorecard.cli.bench import baseline_app, command, throughput
from sales_scorecard.streams.settings import Settings
from tests.unit.test_app_config import assert_no_built_in_views

SECRET = "s3cret-Pa55word"
SECURE_ENV = {
    "SCORECARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "SCORECARD_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "SCORECARD_KAFKA_USERNAME": "bench",
    "SCORECARD_KAFKA_PASSWORD_FILE": "/run/secrets/kafka-password",
    "SCORECARD_KAFKA_CA_FILE": "/etc/kafka/ca.pem",
    "SCORECARD_KAFKA_CERT_FILE": "/etc/kafka/client.pem",
    "SCORECARD_KAFKA_KEY_FILE": "/etc/kafka/client.key",
}


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Settings ``create_topics`` was called with (no broker is contacted)."""
    calls: list[Settings] = []
    monkeypatch.setattr("sales_scorecard.cli.topics.create_topics", calls.append)
    return calls


def test_bench_settings_carry_the_security_settings_of_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, created: list[Settings]) -> None:
    for name, value in SECURE_ENV.items():
        monkeypatch.setenv(name, value)
    s = command.bench_settings("kafka-1:9093", tmp_path, "thr", 4, store="memory")
    assert created == [s]
    assert (s.kafka_security_protocol, s.kafka_sasl_mechanism, s.kafka_username) == (
        "SASL_SSL", "SCRAM-SHA-256", "bench")
    assert (s.kafka_password_file, s.kafka_ca_file) == ("/run/secrets/kafka-password", "/etc/kafka/ca.pem")
    assert (s.kafka_cert_file, s.kafka_key_file) == ("/etc/kafka/client.pem", "/etc/kafka/client.key")
    assert (s.bootstrap_servers, s.partitions, s.store) == ("kafka-1:9093", 4, "memory")
    assert s.topic_prefix.startswith("bench-thr-") and s.app_id.startswith("bench-thr-")
    # Worker subprocesses get them through the environment the settings reproduce.
    assert {k: s.to_env()[k] for k in SECURE_ENV} == SECURE_ENV


def test_bench_settings_of_the_benchs_own_plaintext_broker_ignore_them(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, created: list[Settings]) -> None:
    for name, value in SECURE_ENV.items():
        monkeypatch.setenv(name, value)
    s = command.bench_settings("127.0.0.1:40123", tmp_path, "lat", 4, own_broker=True)
    assert (s.kafka_security_protocol, s.kafka_username, s.kafka_ca_file) == ("PLAINTEXT", "", "")


def test_ceiling_consumer_is_built_with_the_security_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class Refused(Exception):
        pass

    class FakeConsumer:
        def __init__(self, *topics: str, **kwargs: Any) -> None:
            seen.update(kwargs)

        async def start(self) -> None:
            raise Refused

    monkeypatch.setattr("aiokafka.AIOKafkaConsumer", FakeConsumer)
    s = Settings(bootstrap_servers="kafka-1:9093", kafka_security_protocol="SASL_PLAINTEXT",
                 kafka_sasl_mechanism="SCRAM-SHA-512", kafka_username="bench", kafka_password=SECRET)
    with pytest.raises(Refused):
        asyncio.run(throughput._ceiling(s, 1))
    assert seen["bootstrap_servers"] == "kafka-1:9093"
    assert (seen["security_protocol"], seen["sasl_mechanism"]) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    assert (seen["sasl_plain_username"], seen["sasl_plain_password"]) == ("bench", SECRET)


@pytest.mark.parametrize("table_write", [True, False])
def test_baseline_app_has_the_credentials_and_no_built_in_views(tmp_path: Path, table_write: bool) -> None:
    s = Settings(data_dir=str(tmp_path), store="memory", kafka_security_protocol="SASL_PLAINTEXT",
                 kafka_username="bench", kafka_password=SECRET)
    app = baseline_app.create_baseline(s, table_write=table_write)
    creds = app.conf.broker_credentials
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password, creds.protocol.value) == ("bench", SECRET, "SASL_PLAINTEXT")
    assert_no_built_in_views(app)
