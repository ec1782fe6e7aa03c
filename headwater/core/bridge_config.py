"""Bridges as configuration: which channel, where to connect, what to subscribe to and
how a message becomes an event (pure: the adapters are in ``headwater/bridges``).

A bridge is stored on the config topic as kind ``bridge``, per tenant and context, like
every other entity. It is its own event source: the events it makes carry the bridge's
id as ``source_id`` and the channel (``mqtt``, ``amqp``, ``kafka``, ``imap``, ``smtp``)
as ``channel``, so event mappings can select them. Email bridges (``imap``, ``smtp``)
take raw messages, parsed by ``core/email_message.py``: their ``json:PATH`` reads the
parsed message's fields (``json:subject``, ``json:sender_id``).

Values are taken from a message by small *value specs* (strings):

- ``value:TEXT``: the text itself (a fixed event type);
- ``topic``: the MQTT topic, the AMQP routing key or the Kafka topic; ``topic:N``: its
  level N (0 first, -1 last; MQTT levels are split on ``/``, the others on ``.``);
- ``json:PATH``: a dotted path into the JSON payload (``device.id``; ``$.`` optional);
- ``header:NAME``: an AMQP header, an MQTT 5 user property, a Kafka record header or an
  email header (any case);
- ``message_id``: the AMQP ``message-id`` property, the Kafka record's key, or the
  email's Message-ID header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from headwater.core.email_message import EmailLimits
from headwater.core.tenancy import TENANT_ID_PATTERN

__all__ = [
    "BRIDGE_CHANNELS",
    "BRIDGE_KIND",
    "EMAIL_CHANNELS",
    "Bridge",
    "BridgeConnection",
    "BridgeMapping",
    "BridgeSubscription",
    "ValueSpec",
    "parse_spec",
    "valid_mqtt_filter",
]

BRIDGE_KIND = "bridge"
BRIDGE_CHANNELS = ("mqtt", "amqp", "kafka", "imap", "smtp")
EMAIL_CHANNELS = ("imap", "smtp")
Kind = Literal["mqtt", "amqp", "kafka", "imap", "smtp"]

_SPEC = re.compile(
    r"^(?:value:(?P<value>.{1,256})|topic(?::(?P<level>-?\d{1,3}))?|json:(?:\$\.)?(?P<path>"
    r"[A-Za-z0-9_@-]+(?:\.[A-Za-z0-9_@-]+){0,15})|header:(?P<header>[A-Za-z0-9_.-]{1,128})|"
    r"(?P<message_id>message_id))$",
    re.S,
)
_SCHEMES = {
    "mqtt": ("mqtt", "mqtts"),
    "amqp": ("amqp", "amqps"),
    "kafka": ("kafka", "kafkas"),
    "imap": ("imap", "imaps"),
    "smtp": ("smtp",),
}
# IMAP folder names: printable ASCII (non-ASCII names need modified UTF-7)
_FOLDER = re.compile(r"[ -~]{1,255}")
_HEADER_NAME = re.compile(r"[!-9;-~]{1,128}")
_EMAIL_FIELDS = frozenset(
    {"folder", "move_to", "idle", "poll_interval", "headers", "recipients", "senders"}
    | {"max_message_bytes", "max_parts", "max_text_chars"}
)
_KAFKA_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """Where a value comes from (see the module doc); exactly one field is set."""

    text: str
    value: str | None = None
    topic: bool = False
    level: int | None = None
    path: str | None = None
    header: str | None = None
    message_id: bool = False


def parse_spec(text: str) -> ValueSpec:
    """A value spec; ValueError saying what is accepted when ``text`` is none."""
    match = _SPEC.match(text)
    if match is None:
        raise ValueError(
            f"{text[:80]!r} is not a value spec: use value:TEXT, topic, topic:N, json:PATH, "
            "header:NAME or message_id"
        )
    level = match["level"]
    return ValueSpec(
        text=text,
        value=match["value"],
        topic=text.startswith("topic"),
        level=int(level) if level is not None else None,
        path=match["path"],
        header=match["header"],
        message_id=match["message_id"] is not None,
    )


def valid_mqtt_filter(topic: str) -> bool:
    """An MQTT topic filter: ``+`` and ``#`` only as whole levels, ``#`` only last."""
    if not topic or len(topic.encode()) > 65535 or "\x00" in topic:
        return False
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if ("+" in level or "#" in level) and level not in ("+", "#"):
            return False
        if level == "#" and index != len(levels) - 1:
            return False
    return True


class BridgeConnection(BaseModel):
    """Where the channel server is. The password is never stored in clear: the API seals
    it (``password_sealed``) and no read shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str = Field(min_length=1, max_length=512)
    username: str | None = Field(default=None, max_length=256)
    password_sealed: str | None = None
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int | None:
        return urlsplit(self.url).port

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme.endswith("s")

    @property
    def virtual_host(self) -> str:
        """AMQP virtual host: the URL's path without its leading ``/`` (``/`` when empty)."""
        path = urlsplit(self.url).path
        return path[1:] if len(path) > 1 else "/"

    @property
    def where(self) -> str:
        """What logs and errors may say about the connection (it holds no credentials)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.lower()}"


class BridgeSubscription(BaseModel):
    """What to consume: MQTT topic filters (QoS 1), Kafka topics, an AMQP queue, an IMAP
    folder, or what an SMTP listener accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topics: list[str] = Field(default_factory=list, max_length=50, description="MQTT filters")
    queue: str | None = Field(default=None, min_length=1, max_length=255, description="AMQP")
    declare: bool = Field(
        default=False, description="AMQP: declare the queue (durable) and its bindings"
    )
    bindings: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="AMQP, with declare: EXCHANGE:ROUTING_KEY pairs to bind the queue to",
    )
    prefetch: int = Field(default=256, ge=1, le=65535, description="AMQP unacked deliveries")
    folder: str | None = Field(default=None, description="IMAP folder watched (INBOX)")
    move_to: str | None = Field(
        default=None,
        description="IMAP: move a message to this folder once stored (else mark it \\Seen)",
    )
    idle: bool = Field(default=True, description="IMAP: use IDLE when the server offers it")
    poll_interval: float = Field(
        default=30.0, ge=1, le=3600, description="IMAP: seconds between looks without IDLE"
    )
    headers: list[str] = Field(
        default_factory=list, max_length=50, description="email: headers copied into events"
    )
    recipients: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="SMTP: accepted recipients, addresses or @domain (empty: any)",
    )
    senders: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="SMTP: accepted senders, addresses or @domain (empty: any)",
    )
    max_message_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024, description="email"
    )
    max_parts: int = Field(default=100, ge=1, le=1000, description="email: MIME parts")
    max_text_chars: int = Field(
        default=4000, ge=100, le=30000, description="email: of the text, of the HTML's text"
    )

    @field_validator("topics")
    @classmethod
    def _filters(cls, topics: list[str]) -> list[str]:
        for topic in topics:
            if not valid_mqtt_filter(topic):
                raise ValueError(f"{topic[:80]!r} is not an MQTT topic filter")
        return topics

    def changed(self, names: set[str] | frozenset[str]) -> set[str]:
        """Which of ``names`` differ from their defaults (the API stores every field)."""
        fields = type(self).model_fields
        return {
            name
            for name in names
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        }

    @field_validator("folder", "move_to")
    @classmethod
    def _folder(cls, name: str | None) -> str | None:
        if name is not None and not _FOLDER.fullmatch(name):
            raise ValueError(f"{name[:80]!r} is not an IMAP folder name (printable ASCII)")
        return name

    @field_validator("headers")
    @classmethod
    def _header_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name[:80]!r} is not a header name")
        return names

    @field_validator("recipients", "senders")
    @classmethod
    def _addresses(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            _, at, domain = entry.rpartition("@")
            if not at or not domain or "." not in domain or len(entry) > 320:
                raise ValueError(f"{entry[:80]!r} is neither an address nor @domain")
        return [entry.lower() for entry in entries]

    @field_validator("bindings")
    @classmethod
    def _bindings(cls, bindings: list[str]) -> list[str]:
        for binding in bindings:
            exchange, colon, _ = binding.partition(":")
            if not colon or not exchange:
                raise ValueError(f"{binding[:80]!r} is not EXCHANGE:ROUTING_KEY")
        return bindings


class BridgeMapping(BaseModel):
    """How one message becomes one event (value specs: see the module doc)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: str = Field(max_length=300, description="value spec of the event type")
    event_id: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="value specs hashed (with the bridge id) into the event id, so a "
        "redelivered message is the same event; empty: the topic and the whole payload",
    )
    profile_id: str | None = Field(default=None, max_length=300)
    profile_required: bool = Field(
        default=False,
        description="dead-letter a message without a profile id (else it is a profile-less event)",
    )
    properties: dict[str, str] | None = Field(
        default=None,
        max_length=200,
        description="property name -> value spec; absent: the payload itself (a JSON "
        "object, or {'value': payload} for any other JSON value)",
    )
    event_time: str | None = Field(
        default=None, max_length=300, description="value spec of an ISO 8601 time or epoch"
    )

    @field_validator("event_type", "profile_id", "event_time")
    @classmethod
    def _specs(cls, text: str | None) -> str | None:
        if text is not None:
            parse_spec(text)
        return text

    @field_validator("event_id")
    @classmethod
    def _id_specs(cls, specs: list[str]) -> list[str]:
        for spec in specs:
            parse_spec(spec)
        return specs

    @field_validator("properties")
    @classmethod
    def _property_specs(cls, specs: dict[str, str] | None) -> dict[str, str] | None:
        for name, spec in (specs or {}).items():
            if not name or len(name) > 128:
                raise ValueError("property names have 1-128 characters")
            parse_spec(spec)
        return specs


class Bridge(BaseModel):
    """One configured bridge: a channel subscription feeding intake."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    tenant: str = Field(pattern=TENANT_ID_PATTERN)
    env: Literal["production", "staging"]
    name: str = ""
    enabled: bool = True
    channel: Kind
    connection: BridgeConnection
    subscription: BridgeSubscription
    mapping: BridgeMapping

    @model_validator(mode="after")
    def _fits_channel(self) -> Bridge:
        scheme = urlsplit(self.connection.url).scheme
        if scheme not in _SCHEMES[self.channel] or not urlsplit(self.connection.url).netloc:
            raise ValueError(
                f"connection.url must be {' or '.join(_SCHEMES[self.channel])}://HOST[:PORT]"
            )

        if urlsplit(self.connection.url).password is not None or "@" in self.connection.url:
            raise ValueError("connection.url must hold no credentials: use username/password")
        subscription = self.subscription
        if self.channel == "mqtt" and (not subscription.topics or subscription.queue):
            raise ValueError("an mqtt bridge subscribes to subscription.topics (no queue)")
        if self.channel == "amqp" and (not subscription.queue or subscription.topics):
            raise ValueError("an amqp bridge consumes subscription.queue (no topics)")
        if self.channel == "kafka" and (
            subscription.queue
            or not subscription.topics
            or not all(_KAFKA_TOPIC.fullmatch(t) for t in subscription.topics)
        ):
            raise ValueError("a kafka bridge consumes subscription.topics (Kafka topic names)")
        if subscription.bindings and not subscription.declare:
            raise ValueError("subscription.bindings need subscription.declare")
        self._fits_email()
        return self

    def _fits_email(self) -> None:
        subscription = self.subscription
        email = subscription.changed(_EMAIL_FIELDS)
        if self.channel not in EMAIL_CHANNELS:
            if email:
                raise ValueError(f"subscription.{sorted(email)[0]} is for imap/smtp bridges")
            return
        if subscription.topics or subscription.queue:
            raise ValueError(f"an {self.channel} bridge has no topics nor queue")
        try:
            self.connection.port  # noqa: B018 - a port that is no number raises
        except ValueError:
            raise ValueError("connection.url has a port that is no number") from None
        if self.channel == "imap":
            if subscription.recipients or subscription.senders:
                raise ValueError("recipients/senders are for smtp bridges (IMAP: the folder)")
            if not self.connection.username:
                raise ValueError("an imap bridge logs in: connection.username")
            return
        imap_only = subscription.changed({"folder", "move_to", "idle", "poll_interval"})
        if imap_only:
            raise ValueError(f"subscription.{sorted(imap_only)[0]} is for imap bridges")
        if self.connection.username or self.connection.password_sealed:
            raise ValueError("an smtp bridge listens: no username/password")
        if not self.connection.port:
            raise ValueError("connection.url must be smtp://[HOST]:PORT (where to listen)")

    @property
    def is_email(self) -> bool:
        return self.channel in EMAIL_CHANNELS

    @property
    def email_limits(self) -> EmailLimits:
        subscription = self.subscription
        return EmailLimits(
            subscription.max_message_bytes, subscription.max_parts, subscription.max_text_chars
        )

    @property
    def group_id(self) -> str:
        """The Kafka consumer group: stable, so committed offsets survive restarts."""
        return self.connection.client_id or f"hw-bridge-{self.env}-{self.id}"

    @property
    def client_id(self) -> str:
        """The MQTT client id: stable across restarts, so the broker keeps the session
        (and what arrived meanwhile); distinct per environment."""
        return self.connection.client_id or f"hw-{self.env[0]}-{self.id}"[:64]
