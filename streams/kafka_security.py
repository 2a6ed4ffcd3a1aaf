"""Kafka transport security: the one mapping from ``Settings`` to every client's options.

Every Kafka client of the project takes its security options from here, so the worker,
the CLI commands and the sinks authenticate and encrypt the same way:

- ``kafka_python_options`` — keyword arguments for kafka-python's producer, consumer and
  admin client (CLI commands, sinks, test helpers);
- ``faust_credentials`` — ``broker_credentials`` for the Faust app (aiokafka underneath);
- ``aiokafka_options`` — keyword arguments for a bare aiokafka client (the benchmark's
  ceiling consumer), the same mapping Faust applies to ``faust_credentials``;
- ``ssl_context`` — the ``ssl.SSLContext`` both of the above use, built from the CA,
  client certificate and key files.

The SASL password is read from ``kafka_password_file`` (first line) when set, else taken
from ``kafka_password``; it is never logged or put into an error message.
"""

from __future__ import annotations

import ssl
from dataclasses import fields
from pathlib import Path
from typing import Any

from sales_scorecard.streams.settings import Settings, SettingsError

#: Protocols that encrypt with TLS, and those that authenticate with SASL.
TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


def uses_tls(settings: Settings) -> bool:
    """True when the connection to the brokers is encrypted."""
    return settings.kafka_security_protocol in TLS_PROTOCOLS


def uses_sasl(settings: Settings) -> bool:
    """True when the client authenticates with a SASL user name and password."""
    return settings.kafka_security_protocol in SASL_PROTOCOLS


def sasl_password(settings: Settings) -> str:
    """The SASL password: first line of ``kafka_password_file`` (stripped) or ``kafka_password``."""
    if not settings.kafka_password_file:
        return settings.kafka_password
    path = Path(settings.kafka_password_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SettingsError(f"SCORECARD_KAFKA_PASSWORD_FILE: cannot read {path}: {reason}") from None
    lines = text.splitlines()
    password = lines[0].strip() if lines else ""
    if not password:
        raise SettingsError(f"SCORECARD_KAFKA_PASSWORD_FILE: {path} is empty")
    return password


def _readable(variable: str, value: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file():
        raise SettingsError(f"{variable}: no such file {path}")
    return str(path)


def _check(settings: Settings) -> None:
    """Raise ``SettingsError`` for security settings that cannot work together."""
    if uses_sasl(settings) and not settings.kafka_username:
        raise SettingsError(
            f"SCORECARD_KAFKA_USERNAME is required with SCORECARD_KAFKA_SECURITY_PROTOCOL="
            f"{settings.kafka_security_protocol}")
    if bool(settings.kafka_cert_file) != bool(settings.kafka_key_file):
        raise SettingsError("SCORECARD_KAFKA_CERT_FILE and SCORECARD_KAFKA_KEY_FILE must be set together")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A client TLS context (CA file or the system store, optional client certificate), or
    None for the protocols without TLS. Host names are checked."""
    if not uses_tls(settings):
        return None
    _check(settings)
    cafile = _readable("SCORECARD_KAFKA_CA_FILE", settings.kafka_ca_file) if settings.kafka_ca_file else None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except ssl.SSLError as exc:
        raise SettingsError(f"SCORECARD_KAFKA_CA_FILE: {cafile} is not a PEM CA bundle ({exc.reason})") from None
    if settings.kafka_cert_file:
        cert = _readable("SCORECARD_KAFKA_CERT_FILE", settings.kafka_cert_file)
        key = _readable("SCORECARD_KAFKA_KEY_FILE", settings.kafka_key_file)
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            raise SettingsError(
                f"SCORECARD_KAFKA_CERT_FILE/KEY_FILE: cannot load the client certificate ({exc.reason})") from None
    return context


def kafka_python_options(settings: Settings) -> dict[str, Any]:
    """Security keyword arguments for kafka-python's ``KafkaProducer``/``KafkaConsumer``/
    ``KafkaAdminClient``; just the protocol for ``PLAINTEXT``."""
    _check(settings)
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if uses_tls(settings):
        if settings.kafka_ca_file:
            options["ssl_cafile"] = _readable("SCORECARD_KAFKA_CA_FILE", settings.kafka_ca_file)
        if settings.kafka_cert_file:
            options["ssl_certfile"] = _readable("SCORECARD_KAFKA_CERT_FILE", settings.kafka_cert_file)
            options["ssl_keyfile"] = _readable("SCORECARD_KAFKA_KEY_FILE", settings.kafka_key_file)
        options["ssl_check_hostname"] = True
    if uses_sasl(settings):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_username
        options["sasl_plain_password"] = sasl_password(settings)
    return options


def faust_credentials(settings: Settings) -> Any:
    """``broker_credentials`` for ``faust.App``: ``SASLCredentials`` (SCRAM or PLAIN, with the
    TLS context for ``SASL_SSL``), ``SSLCredentials`` for ``SSL``, None for ``PLAINTEXT``."""
    import faust

    if uses_sasl(settings):
        return faust.SASLCredentials(
            username=settings.kafka_username,
            password=sasl_password(settings),
            ssl_context=ssl_context(settings),  # None for SASL_PLAINTEXT, which keeps that protocol
            mechanism=settings.kafka_sasl_mechanism,
        )
    if uses_tls(settings):
        return faust.SSLCredentials(ssl_context(settings))
    return None


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Security keyword arguments for aiokafka's ``AIOKafkaConsumer``/``AIOKafkaProducer``,
    derived from ``faust_credentials`` exactly as Faust's own driver derives them."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    return dict(credentials_to_aiokafka_auth(faust_credentials(settings)))


def security_fields(settings: Settings) -> dict[str, Any]:
    """The ``kafka_*`` transport-security fields of ``settings``, to carry into settings that
    are built for another purpose (``Settings(**...)``)."""
    return {f.name: getattr(settings, f.name) for f in fields(settings) if f.name.startswith("kafka_")}
