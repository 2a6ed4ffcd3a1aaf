"""The one settings object, read from ``SCORECARD_*`` environment variables.

Every setting has a documented default; ``Settings.from_env()`` is called once at
start-up (worker or CLI) and the frozen result is passed down.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PREFIX = "SCORECARD_"


class SettingsError(ValueError):
    """A ``SCORECARD_*`` variable holds a value that cannot be used."""


def _default_data_dir() -> str:
    return str(Path.home() / ".local" / "share" / "sales-scorecard")


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Field ``x`` is read from ``SCORECARD_X``."""

    #: Kafka bootstrap servers, comma separated.
    bootstrap_servers: str = "127.0.0.1:9092"
    #: Port of the worker's web server (metrics, health, API, leaderboard page).
    web_port: int = 6066
    #: Interface the web server binds to.
    web_host: str = "127.0.0.1"
    #: IANA time zone that defines local calendar periods.
    timezone: str = "Asia/Shanghai"
    #: The only accepted currency code.
    currency: str = "CNY"
    #: Prefix prepended to every topic name (e.g. ``staging.``).
    topic_prefix: str = ""
    #: Partition count of the input and output topics.
    partitions: int = 8
    #: Replication factor used by ``scorecard topics create``.
    replication_factor: int = 1
    #: Directory for table state (rocksdict), caches and local broker data.
    data_dir: str = field(default_factory=_default_data_dir)
    #: Faust application id (consumer group and changelog topic prefix).
    app_id: str = "sales-scorecard"
    #: Table store: ``rocksdb`` (rocksdict, durable) or ``memory`` (tests).
    store: str = "rocksdb"
    #: Scorecard updates are coalesced per key to at most one per this many ms (months: what
    #: leaderboards and alerts watch; docs/configuration.md says why 250).
    coalesce_ms: int = 250
    #: Quarter, year and trailing-window scorecards are coalesced to at most one update per
    #: this many ms (months follow ``coalesce_ms``).
    coalesce_long_ms: int = 5000
    #: An ingest agent forwards what it validated within this many ms as one message to the
    #: aggregation stage, so Faust's per-message cost is paid once per batch on that hop.
    ingest_batch_ms: int = 20
    #: How long the broker may hold a worker's fetch while no new record arrives. Faust
    #: fixes 1,500 ms; the consumer sends no new fetch while one is out, so a record on a
    #: partition the current fetch did not ask for waited up to that long on every hop
    #: (docs/benchmarks.md). Shorter costs a few more (empty) fetches per second when idle.
    fetch_wait_ms: int = 50
    #: The broker answers a worker's fetch once this many bytes are there for it, or after
    #: ``fetch_wait_ms``. Kafka's default of 1 byte answers at once with whatever arrived:
    #: on time that is a few records per answer and hundreds of fetches a second, each
    #: costing the worker the same however little it brings (every assigned partition is in
    #: every fetch), about a third of its CPU at 100 events/s (docs/benchmarks.md). A
    #: backlog fills any fetch at once; below this many bytes a second a record waits up to
    #: ``fetch_wait_ms`` on each hop.
    fetch_min_bytes: int = 32768
    #: Fetches wait for ``fetch_min_bytes`` while the worker takes this many input records
    #: a second or more (CPU is scarce); below half of it (a trickle) they are answered at
    #: once: the latency of 1 byte, for about a fifth of a core more (docs/benchmarks.md).
    #: 0: always wait for ``fetch_min_bytes``.
    fetch_fill_above: int = 500
    #: A worker that sends no heartbeat for this many seconds leaves the group and its
    #: partitions move to the others (Faust's default is 60). Shorter means a replacement
    #: takes over sooner after a crash; the event loop must then never block this long.
    session_timeout_seconds: int = 10
    #: Static group membership (Kafka's ``group.instance.id``): a stable, unique name per
    #: worker (for example the pod name of a StatefulSet). A worker restarted under the same
    #: name takes its partitions back without a rebalance. Empty means dynamic membership.
    group_instance_id: str = ""
    #: Leaderboard snapshots are published at most once per this many ms per board.
    leaderboard_ms: int = 1000
    #: Rows per snapshot on ``sales.leaderboards`` (the top N; ``ranked`` says how many reps
    #: were ranked, and ``/api/leaderboard`` serves the whole ranking). Keeps a company board
    #: of 10,000 reps under Kafka's 1 MB message limit.
    leaderboard_rows: int = 500
    #: Path of the weighted-scorecard plan YAML; empty means the packaged default.
    scorecard_plan: str = ""
    #: Path of the commission plan YAML; empty means the packaged default.
    commission_plan: str = ""
    #: Path of the pipeline stage probabilities YAML (contract §13); empty means the packaged default.
    forecast_plan: str = ""
    #: Path of the alert rules YAML; empty means the packaged default.
    alert_rules: str = ""
    #: Path of the award plan YAML (contract §11); empty means the packaged default.
    award_plan: str = ""
    #: Clock for elapsed/pace: ``event`` (latest event time seen) or ``wall``.
    clock: str = "event"
    #: The aggregation's shape: ``single`` (one stage on the one partition of sales.facts)
    #: or ``partitioned`` (the org stage plus a rep stage on the partitions of
    #: sales.rep-facts; docs/architecture.md, "The two stages"). Every worker of a group
    #: must use the same value; switching needs a new SCORECARD_APP_ID.
    stages: str = "single"
    #: With ``partitioned``: a team stage on the partitions of sales.team-facts keeps the
    #: team figures and renders the team scorecards and alerts instead of the org stage
    #: (docs/architecture.md, "The team stage"). Off by default: on one worker it costs
    #: about a fifth of the throughput (docs/benchmarks.md, 2026-12-07 afternoon). Every
    #: worker of a group must use the same value.
    team_stage: bool = False
    #: With the team stage: the company's activities and complaints come from the team
    #: partitions' values, once per flush, instead of from each fact (docs/architecture.md,
    #: "The company from the team partitions' values"). Off by default: it pays only once
    #: activities no longer pass through the org stage. Every worker of a group must use
    #: the same value.
    company_values: bool = False
    #: Re-render the current periods' scorecards this often (s) when the clock moved without facts.
    clock_refresh_seconds: int = 60
    #: Log level of the worker and CLI (quiet by default).
    log_level: str = "WARNING"
    #: Standby replicas per table: a second worker keeps a warm copy so fail-over skips the
    #: changelog replay (0 = none; set to 1 when running two or more workers).
    standby_replicas: int = 0
    #: Faust processing guarantee: ``at_least_once`` (default; outputs are idempotent) or
    #: ``exactly_once`` (Kafka transactions; evaluated in docs/guarantees.md).
    processing_guarantee: str = "at_least_once"
    #: Event loop of the worker: ``uvloop`` (libuv) or ``asyncio`` (the standard library's).
    #: The default is the faster in ``scorecard bench --only loops`` (docs/benchmarks.md).
    event_loop: str = "uvloop"
    #: faust-streaming's compiled Cython paths: ``off`` (pure Python, Faust's ``NO_CYTHON``),
    #: ``on`` (as released) or ``optimized`` (plus the fast paths behind Faust's
    #: ``cython_optimizations``). ``off`` was the fastest in the same bench: the released
    #: compiled stream iterator does more per event than Faust's Python one. See streams/runtime.py.
    faust_cython: str = "off"
    #: glibc malloc arenas of the worker process (``mallopt(M_ARENA_MAX)``; 0: glibc's
    #: default, eight per core). Faust's consumer thread and RocksDB's threads each took an
    #: arena of their own, memory freed in one not reusable by the others: two arenas hold
    #: the same state in about 12 % less resident memory (docs/benchmarks.md). See streams/runtime.py.
    malloc_arenas: int = 2
    #: Allocations (net of frees) of the cyclic garbage collector's youngest generation
    #: between two of its runs (``gc.set_threshold``; Python's default 700). At 700 its full
    #: passes walked the growing state every 2–3 s and collected nothing (docs/benchmarks.md).
    #: See streams/runtime.py.
    gc_threshold: int = 20_000
    #: Host name other workers use to reach this worker's web server (query forwarding);
    #: empty means ``web_host``. Set it (e.g. the pod's DNS name) when binding to 0.0.0.0.
    advertised_host: str = ""

    # --- web access control (docs/access-control.md) ---
    #: Path of the bearer-tokens file (hashed tokens with role and scope); empty disables
    #: authentication, which is only allowed while the web server binds to a loopback address.
    auth_tokens_file: str = ""
    #: ``1`` makes the leaderboard page and ``/api/leaderboard`` public (names, teams, ranks,
    #: the chosen metric; no drill-down) for office screens.
    public_leaderboard: bool = False

    # --- Kafka transport security, used by every client (worker, CLI, sinks) ---
    #: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
    kafka_security_protocol: str = "PLAINTEXT"
    #: SASL mechanism: ``SCRAM-SHA-512``, ``SCRAM-SHA-256`` or ``PLAIN``.
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    #: SASL user name.
    kafka_username: str = ""
    #: SASL password (prefer ``kafka_password_file``); never printed.
    kafka_password: str = field(default="", repr=False)
    #: File holding the SASL password (first line); wins over ``kafka_password``.
    kafka_password_file: str = ""
    #: CA bundle (PEM) that signs the brokers' certificates; empty means the system store.
    kafka_ca_file: str = ""
    #: Client certificate (PEM) for mutual TLS; empty means none.
    kafka_cert_file: str = ""
    #: Private key (PEM) of the client certificate.
    kafka_key_file: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            if name not in env:
                continue
            raw = env[name]
            if f.type in ("bool", bool):
                lowered = raw.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", ""):
                    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")
                values[f.name] = lowered in ("1", "true", "yes")
            elif f.type in ("int", int):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
            else:
                values[f.name] = raw
        settings = cls(**values)  # type: ignore[arg-type]  # values are converted per field type above
        settings.check()
        return settings

    def to_env(self) -> dict[str, str]:
        """The ``SCORECARD_*`` variables that reproduce these settings (for child processes)."""
        def text(value: object) -> str:
            return ("1" if value else "0") if isinstance(value, bool) else str(value)

        return {PREFIX + f.name.upper(): text(getattr(self, f.name)) for f in fields(self)}

    def check(self) -> None:
        """Raise ``SettingsError`` for values that cannot work."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"SCORECARD_TIMEZONE: unknown IANA zone {self.timezone!r}") from None
        if self.partitions < 1:
            raise SettingsError("SCORECARD_PARTITIONS must be >= 1")
        if self.store not in ("rocksdb", "memory"):
            raise SettingsError("SCORECARD_STORE must be 'rocksdb' or 'memory'")
        if self.clock not in ("event", "wall"):
            raise SettingsError("SCORECARD_CLOCK must be 'event' or 'wall'")
        if self.stages not in ("single", "partitioned"):
            raise SettingsError("SCORECARD_STAGES must be 'single' or 'partitioned'")
        if self.processing_guarantee not in ("at_least_once", "exactly_once"):
            raise SettingsError("SCORECARD_PROCESSING_GUARANTEE must be at_least_once or exactly_once")
        if self.event_loop not in ("asyncio", "uvloop"):
            raise SettingsError(f"SCORECARD_EVENT_LOOP must be asyncio or uvloop, got {self.event_loop!r}")
        if self.faust_cython not in ("on", "optimized", "off"):
            raise SettingsError(f"SCORECARD_FAUST_CYTHON must be on, optimized or off, got {self.faust_cython!r}")
        if self.malloc_arenas < 0:
            raise SettingsError("SCORECARD_MALLOC_ARENAS must be >= 0 (0: glibc's default)")
        if self.gc_threshold < 1:
            raise SettingsError("SCORECARD_GC_THRESHOLD must be >= 1 (Python's default: 700)")
        if self.session_timeout_seconds < 6:
            # The broker refuses sessions shorter than group.min.session.timeout.ms (6 s by default).
            raise SettingsError("SCORECARD_SESSION_TIMEOUT_SECONDS must be >= 6")
        if self.company_values and not self.runs_team_stage:
            raise SettingsError(
                "SCORECARD_COMPANY_VALUES needs SCORECARD_STAGES=partitioned and SCORECARD_TEAM_STAGE=1")
        if self.ingest_batch_ms < 1:
            raise SettingsError("SCORECARD_INGEST_BATCH_MS must be >= 1")
        if self.fetch_wait_ms < 0:
            raise SettingsError("SCORECARD_FETCH_WAIT_MS must be >= 0")
        if self.fetch_min_bytes < 1:
            raise SettingsError("SCORECARD_FETCH_MIN_BYTES must be >= 1")
        if self.fetch_fill_above < 0:
            raise SettingsError(
                "SCORECARD_FETCH_FILL_ABOVE must be >= 0 (0: always wait for SCORECARD_FETCH_MIN_BYTES)")
        if self.standby_replicas < 0:
            raise SettingsError("SCORECARD_STANDBY_REPLICAS must be >= 0")
        if self.kafka_security_protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise SettingsError(
                "SCORECARD_KAFKA_SECURITY_PROTOCOL must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        if self.kafka_sasl_mechanism not in ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"):
            raise SettingsError("SCORECARD_KAFKA_SASL_MECHANISM must be SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")

    def check_web_access(self) -> None:
        """Raise ``SettingsError`` when the web server would be reachable from other hosts
        without authentication (checked when the worker starts)."""
        if not self.auth_tokens_file and not is_loopback(self.web_host):
            raise SettingsError(
                f"SCORECARD_WEB_HOST={self.web_host} is not a loopback address: set SCORECARD_AUTH_TOKENS_FILE "
                "(docs/access-control.md)")

    @property
    def runs_team_stage(self) -> bool:
        """Whether the workers run the team stage (``team_stage`` with ``partitioned``)."""
        return self.stages == "partitioned" and self.team_stage

    @property
    def public_web_host(self) -> str:
        """The host other workers use to reach this one (``advertised_host`` or ``web_host``)."""
        return self.advertised_host or self.web_host

    def topic(self, name: str) -> str:
        """Full topic name for a logical name such as ``sales.deals``."""
        return f"{self.topic_prefix}{name}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts local connections."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
