"""Typed settings, read from ``HEADWATER_*`` environment variables.

Settings are built by :func:`load_settings` and passed in; nothing reads the
environment at import time. Every variable name Headwater reads is a field here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from headwater.errors import ConfigurationError

__all__ = ["Environment", "SearchEngine", "Settings", "load_settings"]

Environment = Literal["production", "staging"]
SearchEngine = Literal["auto", "elasticsearch", "opensearch"]


class Settings(BaseSettings):
    """Everything a Headwater process can be told from outside."""

    model_config = SettingsConfigDict(env_prefix="HEADWATER_", frozen=True, extra="ignore")

    # --- endpoints ---------------------------------------------------------------
    kafka: str | None = Field(
        default=None, description="Kafka bootstrap servers, host:port[,host:port]"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for TLS")
    search: str | None = Field(default=None, description="Search engine URL(s), comma separated")
    search_engine: SearchEngine = "auto"
    search_username: str | None = None
    search_password: SecretStr | None = None
    search_api_key: SecretStr | None = None
    search_verify_certs: bool = True

    # --- topics and indices --------------------------------------------------------
    topic_prefix: str = Field(default="hw", pattern=r"^[a-z][a-z0-9_.-]{0,30}$")
    index_prefix: str = Field(default="hw", pattern=r"^[a-z][a-z0-9]{0,15}$")
    partitions: int = Field(default=6, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=16)
    index_shards: int = Field(default=1, ge=1, le=64)
    index_replicas: int = Field(default=0, ge=0, le=8)

    # --- tenancy -----------------------------------------------------------------
    env: Environment = Field(
        default="production", description="The context this collector or worker serves"
    )
    default_tenant: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_]{0,31}$")

    # --- collector -----------------------------------------------------------------
    collector_host: str = "127.0.0.1"
    collector_port: int = Field(default=8686, ge=1, le=65535)
    max_event_bytes: int = Field(default=32 * 1024, ge=1024)
    max_request_bytes: int = Field(default=500 * 1024, ge=1024)
    produce_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for acks")
    producer_linger_ms: int = Field(
        default=2, ge=0, le=1000, description="batching window for produced records"
    )
    retry_after: int = Field(default=5, ge=1, description="Retry-After seconds on 503")
    cors_origins: list[str] = ["*"]
    config_wait: float = Field(
        default=10.0, ge=0, description="seconds to wait at start for the config log"
    )
    rate_limit_events_per_second: float = Field(
        default=50_000.0,
        gt=0,
        description="default per-source rate limit of one collector process (a source's "
        "own rate_limit overrides it)",
    )
    rate_limit_burst: int = Field(
        default=100_000, ge=1, description="events a source may send at once before limiting"
    )
    webhook_replay_entries: int = Field(
        default=50_000,
        ge=1,
        le=10_000_000,
        description="signed webhooks one collector process remembers to refuse replays "
        "(about 200 bytes each); past that the soonest-expiring are forgotten",
    )

    # --- worker --------------------------------------------------------------------
    worker_id: str = Field(default="headwater-worker", pattern=r"^[A-Za-z0-9_.-]+$")
    stage_batch_messages: int = Field(
        default=500, ge=1, description="most messages every stage takes in one step"
    )
    stage_batch_seconds: float = Field(
        default=0.25, gt=0, description="longest wait to fill a stage's step"
    )
    storage_bulk_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    storage_writes_in_flight: int = Field(
        default=1,
        ge=1,
        le=16,
        description="batches whose bulk writes the storage stage keeps in flight while it "
        "builds the next batch's documents; more wait (back-pressure)",
    )
    profile_batch_scale: int = Field(
        default=4,
        ge=1,
        le=100,
        description="the profile stage takes this many times stage_batch_messages in one "
        "step (each profile it touched is written once per step)",
    )
    storage_batch_scale: int = Field(
        default=4,
        ge=1,
        le=100,
        description="the storage stage takes this many times stage_batch_messages in one "
        "step (each profile and session document is written once per step)",
    )
    session_gap_minutes: int = Field(default=30, ge=1, description="inactivity closing a session")
    stage_max_backoff: float = Field(
        default=30.0,
        gt=0,
        description="cap of a stage's back-off while Kafka or the search engine is away",
    )
    worker_store: Literal["rocksdb", "memory"] = Field(
        default="rocksdb",
        description="where the worker keeps table state: RocksDB files under the data "
        "directory (a restart catches up from the changelog) or memory (rebuilt from "
        "the whole changelog at every start)",
    )
    worker_single_record_batches: bool = Field(
        default=False,
        description="every table write ends each changelog partition it touched with a "
        "single-record batch: for brokers that misreport the end offset of multi-record "
        "batches (the embedded Tansu), which "
        "would cut table recovery short; never needed on Apache Kafka",
    )
    broker_session_timeout: float = Field(default=6.0, gt=0)
    broker_heartbeat_interval: float = Field(default=1.0, gt=0)
    broker_rebalance_timeout: float = Field(default=20.0, gt=0)
    # once a worker begins to stop (signal, crash), the seconds it has before it exits anyway
    worker_stop_timeout: float = Field(default=30.0, gt=0)

    # --- limits on public input (docs/operations.md, "Security: limits on public input") --
    profile_max_event_types: int = Field(
        default=300, ge=1, le=100_000, description="distinct event types counted per profile"
    )
    profile_max_keys: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="keys of one object (items of one list) events may give a profile",
    )
    profile_max_value_bytes: int = Field(
        default=2048,
        ge=64,
        le=1024 * 1024,
        description="one value an event writes into a profile, with its path, as JSON",
    )
    profile_max_bytes: int = Field(
        default=512 * 1024,
        ge=16 * 1024,
        description="a profile's stored state; a message that would pass it is dead-lettered",
    )
    worker_max_record_bytes: int = Field(
        default=900 * 1024,
        ge=16 * 1024,
        description="one record the worker sends (below the broker's message.max.bytes); "
        "a message whose output would pass it is dead-lettered",
    )

    # --- destinations agent (outbound requests) ---------------------------------------
    outbound_timeout: float = Field(default=10.0, gt=0, description="seconds per attempt")
    outbound_max_attempts: int = Field(default=5, ge=1, le=100)
    outbound_budget: float = Field(
        default=600.0, gt=0, description="seconds a request may spend on attempts and waits"
    )
    outbound_backoff: float = Field(default=0.5, gt=0, description="first retry delay")
    outbound_max_backoff: float = Field(default=30.0, gt=0)
    outbound_breaker_failures: int = Field(
        default=5, ge=1, description="consecutive failures that open a destination's breaker"
    )
    outbound_breaker_cooldown: float = Field(
        default=30.0, ge=0, description="seconds an open breaker waits before one probe"
    )
    outbound_concurrency: int = Field(default=32, ge=1, le=4096)
    outbound_smtp_host: str = "localhost"
    outbound_smtp_port: int = Field(default=25, ge=1, le=65535)
    outbound_mqtt_host: str = "127.0.0.1"
    outbound_mqtt_port: int = Field(default=1883, ge=1, le=65535)
    outbound_amqp_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
        description="RabbitMQ for amqp requests (holds credentials: never logged)",
    )
    outbound_smtp_from: str = Field(
        default="headwater@localhost",
        pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+$",
        description="From address of emails whose flow node names none",
    )
    outbound_allow: list[str] = Field(
        default=[],
        description="non-public addresses and platform endpoints flows may reach: "
        "IPs, CIDRs or host names, each with an optional :port",
    )
    outbound_topic_prefixes: dict[str, list[str]] = Field(
        default={"*": ["{tenant}.", "{tenant}/"]},
        description="Kafka/MQTT/AMQP name prefixes a tenant's flows may publish to, per "
        "tenant id ('*': every other tenant); {tenant} is the tenant's id",
    )

    # --- private API (headwater api) -------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8687, ge=1, le=65535)
    api_secret: SecretStr | None = Field(
        default=None, description="signs bearer tokens; at least 32 characters; required"
    )
    tms_key: SecretStr | None = Field(
        default=None, description="guards the tenant routes (x-tms-key); unset disables them"
    )
    admin_password: SecretStr | None = Field(
        default=None, description="first admin's password for init --admin-email"
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="encrypts the secrets flows name (API and worker); 32+ characters; "
        "several, comma-separated: the first encrypts, each decrypts (rotation)",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_hours: int = Field(default=24, ge=1, le=24 * 90)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: float = Field(default=15.0, gt=0)

    # --- local stack -----------------------------------------------------------------
    data_dir: Path = Path(".headwater")
    engines_cache: Path = Field(
        default=Path.home() / ".cache" / "headwater" / "engines",
        description="where `headwater engines fetch` keeps Apache Kafka and OpenSearch",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # --- bridges (headwater bridge mqtt|amqp; docs/operations.md, "Bridges") -------------
    bridge_host: str = "127.0.0.1"
    bridge_mqtt_port: int = Field(default=8690, ge=1, le=65535, description="health endpoint")
    bridge_amqp_port: int = Field(default=8691, ge=1, le=65535, description="health endpoint")
    bridge_kafka_port: int = Field(default=8692, ge=1, le=65535, description="health endpoint")
    bridge_max_in_flight: int = Field(
        default=1000,
        ge=1,
        le=65535,
        description="messages of one bridge between its channel and Kafka's acknowledgement",
    )
    bridge_max_backoff: float = Field(
        default=10.0, gt=0, description="longest wait before reconnecting to a channel server"
    )
    bridge_imap_port: int = Field(default=8693, ge=1, le=65535, description="health endpoint")
    bridge_smtp_port: int = Field(default=8694, ge=1, le=65535, description="health endpoint")
    bridge_smtp_ack_timeout: float = Field(
        default=30.0,
        gt=0,
        description="SMTP bridge: seconds a message waits for Kafka's ack before a 451",
    )
    bridge_linger_ms: int = Field(
        default=25,
        ge=0,
        le=1000,
        description="how long a bridge's intake records wait to travel to Kafka together "
        "(one record per message: without it, an MQTT bridge sent ~2 records per request "
        "and spent a quarter of its CPU on requests; docs/performance.md, bridges)",
    )

    # --- Kafka producers (docs/operations.md, "Idempotent producers") ------------------
    kafka_idempotence: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="idempotent producers (a retried send is never written twice): auto "
        "turns them on where the broker grants a producer id (Apache Kafka) and falls "
        "back, with one warning, where it refuses (the embedded Tansu); on insists",
    )

    # --- metrics and logs (docs/operations.md, "Metrics" and "Logs") -------------------
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="log lines: one JSON object per line (json), plain text (text), or "
        "JSON unless stderr is a terminal (auto)",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="address of the collector's and the worker's metrics listeners "
        "(0.0.0.0 in containers); never exposed to the internet",
    )
    collector_metrics_port: int = Field(
        default=9102, ge=0, le=65535, description="the collector's metrics listener; 0: none"
    )
    worker_metrics_port: int = Field(
        default=9103, ge=0, le=65535, description="the worker's metrics listener; 0: none"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that GET /metrics of the private API requires (32+ "
        "characters); unset: the API serves no metrics",
    )
    worker_lag_interval: float = Field(
        default=15.0, gt=0, description="seconds between the worker's consumer-lag readings"
    )
    import_dir: Path | None = Field(
        default=None,
        description="the directory import jobs (POST /jobs, kind import) read their files "
        "from; unset: <data_dir>/imports/inbox. Nothing outside it is read",
    )
    migrate_replay_follow: float = Field(
        default=10.0,
        ge=0,
        description="seconds a replay asked for by `migrate apply` keeps following the log "
        "after it moved the aliases (events the live workers wrote to the old generation)",
    )
    profile_rebuild_timeout: float = Field(
        default=60.0,
        gt=0,
        description="seconds a live profile stage that met a replay's rebuild marker waits "
        "for the rebuilt states of that partition before it keeps its own (the switch "
        "fails for that partition); also how long the replay waits for the answers",
    )

    @field_validator("kafka", "search")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("outbound_allow")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        from headwater.core.outbound_policy import AllowEntry

        for entry in value:
            AllowEntry.parse(entry)  # ValueError names the bad entry
        return value

    @field_validator("api_secret", "tms_key", "metrics_token")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must have at least 32 characters")
        return value

    @field_validator("secrets_key")
    @classmethod
    def _strong_keys(cls, value: SecretStr | None) -> SecretStr | None:
        keys = value.get_secret_value().split(",") if value is not None else []
        if any(len(key.strip()) < 32 for key in keys):
            raise ValueError("each key must have at least 32 characters")
        return value

    @model_validator(mode="after")
    def _profile_fits_a_record(self) -> Settings:
        # a profile's state and snapshot each travel as one record
        if self.profile_max_bytes + 64 * 1024 > self.worker_max_record_bytes:
            raise ValueError(
                "profile_max_bytes must be at least 64 KiB below worker_max_record_bytes"
            )
        return self

    @property
    def api_signing_key(self) -> str:
        """The token signing secret; there is no default, so the API refuses to start."""
        if self.api_secret is None:
            raise ConfigurationError("HEADWATER_API_SECRET is not set (32+ random characters)")
        return self.api_secret.get_secret_value()

    @property
    def kafka_servers(self) -> str:
        """Bootstrap servers; refuses to guess when none are configured."""
        if not self.kafka:
            raise ConfigurationError("HEADWATER_KAFKA is not set")
        return self.kafka

    @property
    def search_hosts(self) -> list[str]:
        hosts = [h.strip() for h in (self.search or "").split(",") if h.strip()]
        if not hosts:
            raise ConfigurationError("HEADWATER_SEARCH is not set")
        return hosts

    def secret_values(self) -> list[str]:
        """Every secret these settings hold, for the log redaction to cut out."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = value.get_secret_value()
                found.append(text)
                found.extend(part.strip() for part in text.split(",") if "," in text)
                if "://" in text and "@" in text:  # a URL's password, alone
                    userinfo = text.split("://", 1)[1].split("@", 1)[0]
                    found.append(userinfo.partition(":")[2])
        return [value for value in found if value]


# Variables that were renamed: still set, they would be ignored without a word
RENAMED = {
    "HEADWATER_STORAGE_BATCH_MESSAGES": "HEADWATER_STAGE_BATCH_MESSAGES",
    "HEADWATER_STORAGE_BATCH_SECONDS": "HEADWATER_STAGE_BATCH_SECONDS",
    "HEADWATER_STORAGE_MAX_BACKOFF": "HEADWATER_STAGE_MAX_BACKOFF",
}


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides winning. A renamed
    variable still set is a ConfigurationError that names the new one."""
    old = sorted(name for name in RENAMED if name in os.environ)
    if old:
        raise ConfigurationError(
            "renamed: " + ", ".join(f"{name} is now {RENAMED[name]}" for name in old)
        )
    return Settings(**overrides)
