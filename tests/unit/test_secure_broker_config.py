"""The secure local broker's configuration and the CLI's transport check, without a broker."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest

from sales_scorecard.cli.kafka_io import require_reachable
from sales_scorecard.cli.main import UserError
from sales_scorecard.localkafka import broker
from sales_scorecard.streams.settings import Settings


def render(secure: bool, tmp_path: Path) -> str:
    material = {"store_password": "STORE", "broker_user": "broker", "broker_password": "BROKER",
                "client_user": "scorecard", "client_password": "CLIENT",
                "keystore": "/k.p12", "truststore": "/t.p12"}
    security = broker._resource("server-secure.properties.template").format(**material) if secure else ""
    return broker._resource("server.properties.template").format(
        port=19093, controller_port=19094, log_dir=tmp_path / "kraft",
        listener="SASL_SSL" if secure else "PLAINTEXT", security=security)


@pytest.mark.parametrize("secure", [False, True])
def test_rendered_properties_are_complete_and_ports_read_back(secure: bool, tmp_path: Path) -> None:
    text = render(secure, tmp_path)
    assert "{" not in text.replace("${", "")  # every placeholder filled
    (tmp_path / broker.PROPERTIES).write_text(text)
    assert broker._ports(tmp_path) == (19093, 19094)
    assert broker._is_secure(tmp_path) is secure
    props = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    listener = "SASL_SSL" if secure else "PLAINTEXT"
    assert props["listeners"] == f"{listener}://127.0.0.1:19093,CONTROLLER://127.0.0.1:19094"
    assert props["listener.security.protocol.map"] == f"CONTROLLER:PLAINTEXT,{listener}:{listener}"
    assert props["inter.broker.listener.name"] == listener
    if secure:
        assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512,PLAIN"
        assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
        assert 'username="broker" password="BROKER"' in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
        assert 'user_scorecard="CLIENT"' in props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
        assert props["ssl.keystore.location"] == "/k.p12" and props["ssl.keystore.password"] == "STORE"
    else:
        assert not any(k.startswith(("sasl.", "ssl.", "listener.name.")) for k in props)


def test_client_env_names_files_never_the_password(tmp_path: Path) -> None:
    info = broker.BrokerInfo(1, 19093, 19094, tmp_path, secure=True)
    (tmp_path / broker.SECURE_DIR).mkdir()
    info.password_file.write_text("TOP-SECRET\n")
    env = info.client_env()
    assert env == {
        "SCORECARD_BOOTSTRAP_SERVERS": "127.0.0.1:19093",
        "SCORECARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SCORECARD_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "SCORECARD_KAFKA_USERNAME": "scorecard",
        "SCORECARD_KAFKA_PASSWORD_FILE": str(tmp_path / "secure" / "scorecard.password"),
        "SCORECARD_KAFKA_CA_FILE": str(tmp_path / "secure" / "ca.pem"),
    }
    assert "TOP-SECRET" not in repr(env) and "TOP-SECRET" not in repr(info)
    plain = broker.BrokerInfo(1, 19093, 19094, tmp_path)
    assert plain.client_env() == {"SCORECARD_BOOTSTRAP_SERVERS": "127.0.0.1:19093"}
    assert plain.ca_file is None and plain.password_file is None


def test_secret_files_are_owner_only_and_stable(tmp_path: Path) -> None:
    first = broker._secret(tmp_path / "x.password")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first)  # safe inside JAAS quotes and --add-scram
    assert (tmp_path / "x.password").stat().st_mode & 0o777 == 0o600
    assert broker._secret(tmp_path / "x.password") == first


def _server(reply: bytes) -> int:
    """A one-shot loopback server that reads a little and answers ``reply`` (then closes)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(reply)
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def test_plaintext_client_on_a_tls_listener_gets_one_line() -> None:
    port = _server(b"\x15\x03\x03\x00\x02\x02\x50")  # a TLS alert, as a TLS listener sends
    with pytest.raises(UserError, match="refused a PLAINTEXT connection: the listener probably needs TLS"):
        require_reachable(Settings(bootstrap_servers=f"127.0.0.1:{port}"))


def test_tls_client_on_a_plaintext_listener_gets_one_line() -> None:
    port = _server(b"\x00\x00\x00\x04\x00\x00\x00\x01")  # Kafka-framed bytes, not a TLS ServerHello
    s = Settings(bootstrap_servers=f"127.0.0.1:{port}", kafka_security_protocol="SSL")
    with pytest.raises(UserError, match="did not complete a TLS handshake"):
        require_reachable(s)


def test_plaintext_kafka_answer_passes() -> None:
    port = _server(b"\x00\x00\x00\x0a\x00\x00\x5c\x0c\x00\x00")  # size, our correlation id, error 0
    require_reachable(Settings(bootstrap_servers=f"127.0.0.1:{port}"))
