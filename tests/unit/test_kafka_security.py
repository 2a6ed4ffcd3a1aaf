"""The mapping from Settings to Kafka client security options (kafka-python and Faust)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import faust
import pytest

from sales_scorecard.streams import kafka_security as ks
from sales_scorecard.streams.settings import Settings, SettingsError

SECRET = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed certificate and key (PEM), usable both as CA bundle and client certificate."""
    d = tmp_path_factory.mktemp("pem")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=scorecard-test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return {"cert": cert, "key": key}


def test_plaintext_maps_to_no_security() -> None:
    s = Settings()
    assert ks.kafka_python_options(s) == {"security_protocol": "PLAINTEXT"}
    assert ks.faust_credentials(s) is None
    assert ks.ssl_context(s) is None


def test_sasl_plaintext_scram_without_tls() -> None:
    s = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-256",
                 kafka_username="alice", kafka_password=SECRET)
    assert ks.kafka_python_options(s) == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "alice", "sasl_plain_password": SECRET,
    }
    creds = ks.faust_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.protocol.value == "SASL_PLAINTEXT"
    assert creds.mechanism.value == "SCRAM-SHA-256"
    assert (creds.username, creds.password, creds.ssl_context) == ("alice", SECRET, None)


def test_sasl_ssl_scram512_with_ca_and_client_cert(pem_files: dict[str, Path]) -> None:
    s = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_username="scorecard", kafka_password=SECRET, kafka_ca_file=str(pem_files["cert"]),
                 kafka_cert_file=str(pem_files["cert"]), kafka_key_file=str(pem_files["key"]))
    assert ks.kafka_python_options(s) == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "scorecard", "sasl_plain_password": SECRET,
        "ssl_cafile": str(pem_files["cert"]), "ssl_certfile": str(pem_files["cert"]),
        "ssl_keyfile": str(pem_files["key"]), "ssl_check_hostname": True,
    }
    creds = ks.faust_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.protocol.value == "SASL_SSL"
    assert creds.mechanism.value == "SCRAM-SHA-512"
    ctx = creds.ssl_context
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "scorecard-test"),),)]


def test_aiokafka_receives_the_scram_mechanism_and_tls_context(pem_files: dict[str, Path]) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    s = Settings(kafka_security_protocol="SASL_SSL", kafka_username="u", kafka_password=SECRET,
                 kafka_ca_file=str(pem_files["cert"]))
    auth = credentials_to_aiokafka_auth(ks.faust_credentials(s))
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert auth["sasl_plain_password"] == SECRET
    assert isinstance(auth["ssl_context"], ssl.SSLContext)


def test_ssl_only_uses_ssl_credentials_and_system_store_without_ca_file() -> None:
    s = Settings(kafka_security_protocol="SSL")
    assert ks.kafka_python_options(s) == {"security_protocol": "SSL", "ssl_check_hostname": True}
    creds = ks.faust_credentials(s)
    assert isinstance(creds, faust.SSLCredentials)
    assert creds.protocol.value == "SSL"
    assert creds.context.verify_mode == ssl.CERT_REQUIRED


def test_password_file_wins_first_line_stripped(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text(f"  {SECRET}  \nsecond line ignored\n")
    s = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="u",
                 kafka_password="from-env", kafka_password_file=str(pw))
    assert ks.sasl_password(s) == SECRET
    assert ks.kafka_python_options(s)["sasl_plain_password"] == SECRET


@pytest.mark.parametrize("content", [None, "", "\n  \n"])
def test_missing_or_empty_password_file_is_one_line_settings_error(tmp_path: Path, content: str | None) -> None:
    pw = tmp_path / "pw"
    if content is not None:
        pw.write_text(content)
    s = Settings(kafka_security_protocol="SASL_SSL", kafka_username="u", kafka_password_file=str(pw))
    with pytest.raises(SettingsError, match="SCORECARD_KAFKA_PASSWORD_FILE") as info:
        ks.kafka_python_options(s)
    assert "\n" not in str(info.value)


def test_sasl_without_username_is_refused() -> None:
    with pytest.raises(SettingsError, match="SCORECARD_KAFKA_USERNAME"):
        ks.kafka_python_options(Settings(kafka_security_protocol="SASL_SSL", kafka_password=SECRET))


def test_missing_ca_file_and_half_a_client_certificate_are_refused(tmp_path: Path, pem_files: dict) -> None:
    with pytest.raises(SettingsError, match="SCORECARD_KAFKA_CA_FILE: no such file"):
        ks.ssl_context(Settings(kafka_security_protocol="SSL", kafka_ca_file=str(tmp_path / "nope.pem")))
    with pytest.raises(SettingsError, match="SCORECARD_KAFKA_CA_FILE: no such file"):
        ks.kafka_python_options(Settings(kafka_security_protocol="SSL", kafka_ca_file=str(tmp_path / "nope.pem")))
    with pytest.raises(SettingsError, match="must be set together"):
        ks.ssl_context(Settings(kafka_security_protocol="SSL", kafka_cert_file=str(pem_files["cert"])))


def test_a_ca_file_that_is_not_pem_is_a_settings_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(SettingsError, match="not a PEM CA bundle"):
        ks.ssl_context(Settings(kafka_security_protocol="SSL", kafka_ca_file=str(bad)))


def test_settings_and_credentials_never_show_the_password(tmp_path: Path) -> None:
    s = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="u", kafka_password=SECRET)
    assert SECRET not in repr(s) and SECRET not in str(s)
    env_settings = Settings.from_env({"SCORECARD_KAFKA_PASSWORD": SECRET, "SCORECARD_KAFKA_USERNAME": "u"})
    assert env_settings.kafka_password == SECRET
    assert SECRET not in repr(env_settings)
    creds = ks.faust_credentials(s)
    assert SECRET not in repr(creds) and SECRET not in str(creds)


def test_aiokafka_options_follow_faust_credentials(pem_files: dict[str, Path]) -> None:
    assert ks.aiokafka_options(Settings()) == {"security_protocol": "PLAINTEXT"}
    sasl = ks.aiokafka_options(Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN",
                                        kafka_username="u", kafka_password=SECRET))
    assert sasl == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
                    "sasl_plain_username": "u", "sasl_plain_password": SECRET, "ssl_context": None}
    tls = ks.aiokafka_options(Settings(kafka_security_protocol="SSL", kafka_ca_file=str(pem_files["cert"])))
    assert tls["security_protocol"] == "SSL" and isinstance(tls["ssl_context"], ssl.SSLContext)


def test_security_fields_are_exactly_the_kafka_settings() -> None:
    s = Settings(kafka_security_protocol="SASL_SSL", kafka_username="u", kafka_password_file="/pw",
                 kafka_ca_file="/ca.pem", topic_prefix="x.", bootstrap_servers="b:9093")
    fields = ks.security_fields(s)
    assert set(fields) == {"kafka_security_protocol", "kafka_sasl_mechanism", "kafka_username", "kafka_password",
                           "kafka_password_file", "kafka_ca_file", "kafka_cert_file", "kafka_key_file"}
    assert Settings(**fields) == Settings(kafka_security_protocol="SASL_SSL", kafka_username="u",
                                          kafka_password_file="/pw", kafka_ca_file="/ca.pem")
