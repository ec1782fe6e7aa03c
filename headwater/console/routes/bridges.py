"""``/bridges``: MQTT, AMQP, Kafka-topic, IMAP and SMTP bridges that feed intake
(``core/bridge_config.py``), versioned per context with deploy and rollback like every
configuration kind.

A connection's password is sealed when written (``adapters/secrets.py``, so
HEADWATER_SECRETS_KEY must be set) and never shown again: reads say only whether one is
set. A replace without a password keeps the stored one while the server (scheme, host,
port) and user stay the same; a password never follows a connection to another server.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from headwater.adapters.secrets import secret_box
from headwater.console.auth import Scope
from headwater.console.models import EntityIn, Versioned
from headwater.console.routes.entities import entity_router
from headwater.core.bridge_config import (
    BRIDGE_KIND,
    Bridge,
    BridgeConnection,
    BridgeMapping,
    BridgeSubscription,
)
from headwater.core.config import ConfigEntry
from headwater.errors import InvalidInput

__all__ = ["BridgeIn", "BridgeOut", "bridges"]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=512,
        description="mqtt[s]://HOST[:PORT], amqp[s]://HOST[:PORT][/VHOST], "
        "kafka[s]://HOST:PORT[,HOST:PORT], imap[s]://HOST[:PORT] or smtp://[HOST]:PORT "
        "(where the SMTP bridge listens; no host: 127.0.0.1); no credentials",
    )
    username: str | None = Field(default=None, max_length=256)
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="write only: sealed when stored, never shown; absent on a replace: "
        "the stored one is kept (same server and user)",
    )
    client_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="MQTT client id; Kafka consumer group",
    )


class ConnectionOut(BaseModel):
    url: str
    username: str | None = None
    client_id: str | None = None
    password_set: bool = False


class BridgeIn(EntityIn):
    """A bridge: which channel, where, what it consumes, how a message becomes an event."""

    name: str = Field(default="", max_length=256)
    enabled: bool = True
    channel: Literal["mqtt", "amqp", "kafka", "imap", "smtp"]
    connection: ConnectionIn
    subscription: BridgeSubscription
    mapping: BridgeMapping


class BridgeOut(Versioned):
    id: str
    env: str
    name: str
    enabled: bool
    channel: str
    connection: ConnectionOut
    subscription: BridgeSubscription
    mapping: BridgeMapping

    @classmethod
    def of(cls, entry: ConfigEntry) -> BridgeOut:
        data = entry.data
        stored = BridgeConnection.model_validate(data.get("connection", {}))
        return cls(
            id=entry.id,
            env=entry.env or "",
            name=data.get("name", ""),
            enabled=bool(data.get("enabled", True)),
            channel=data.get("channel", ""),
            connection=ConnectionOut(
                url=stored.url,
                username=stored.username,
                client_id=stored.client_id,
                password_set=stored.password_sealed is not None,
            ),
            subscription=BridgeSubscription.model_validate(data.get("subscription", {})),
            mapping=BridgeMapping.model_validate(data.get("mapping", {})),
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
        )


def _valid_bridge(data: dict[str, Any]) -> None:
    """Refuse what a bridge process could never run, with its own model."""
    try:
        Bridge.model_validate({**data, "id": "draft", "tenant": "draft", "env": "staging"})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{field}: {message}", field=field) from None


def _same_server(new: dict[str, Any], stored: dict[str, Any]) -> bool:
    old, now = BridgeConnection.model_validate(stored), BridgeConnection.model_validate(new)
    return (old.where, old.username) == (now.where, now.username)


def _seal_password(
    data: dict[str, Any], stored: dict[str, Any] | None, scope: Scope
) -> dict[str, Any]:
    connection = dict(data["connection"])
    password = connection.pop("password", None)
    if password:
        box = secret_box(scope.runtime.settings)  # 503 without HEADWATER_SECRETS_KEY
        connection["password_sealed"] = box.seal(password)
    elif stored is not None:
        kept = stored.get("connection", {})
        if kept.get("password_sealed") and _same_server(connection, kept):
            connection["password_sealed"] = kept["password_sealed"]
    return {**data, "connection": connection}


bridges = entity_router(
    kind=BRIDGE_KIND,
    prefix="/bridges",
    noun="bridge",
    body_model=BridgeIn,
    out_model=BridgeOut,
    out=BridgeOut.of,
    check=_valid_bridge,
    prepare=_seal_password,
)
