"""``/secrets``: values flows name as ``{{secret.NAME}}``, one set per tenant and context.

A value is written once and never shown again, to any role: answers and listings give
names, versions and who changed them. It is stored sealed (``adapters/secrets.py``) and
only the destinations stage opens it, right before sending. There is no deploy: a
secret is set in each context (staging usually holds another credential than
production).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from headwater.adapters.secrets import secret_box
from headwater.console.auth import Scope, require
from headwater.console.context import ConfigContext
from headwater.console.models import Versioned
from headwater.core.access import Permission
from headwater.core.automation import FLOW_KIND
from headwater.core.config import ConfigEntry
from headwater.core.secrets import MAX_SECRET_BYTES, SECRET_KIND, SECRET_NAME_PATTERN, secret_names
from headwater.errors import Conflict, InvalidInput

__all__ = ["flow_secrets_set", "router"]

router = APIRouter(prefix="/secrets", tags=["secrets"])
Read = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]
Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]
SecretName = Annotated[str, Path(pattern=SECRET_NAME_PATTERN)]


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, description=f"at most {MAX_SECRET_BYTES} bytes (UTF-8)")


class SecretOut(Versioned):
    """A secret without its value, which no answer ever holds."""

    name: str
    env: str
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, entry: ConfigEntry) -> SecretOut:
        return cls(
            name=entry.id,
            env=entry.env or "",
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
            created_at=entry.data.get("created_at", entry.updated_at),
            created_by=entry.data.get("created_by", entry.updated_by),
        )


def _flows_naming(scope: Scope, env: str, name: str) -> list[str]:
    return [
        f.id for f in scope.config.list(FLOW_KIND, env) if name in secret_names(f.data.get("nodes"))
    ]


def flow_secrets_set(data: dict[str, Any], scope: Scope, env: str) -> None:
    """A flow may only name secrets set in its context (422 names the missing ones):
    create the secrets first, in each context the flow is deployed to."""
    missing = sorted(
        name
        for name in secret_names(data.get("nodes"))
        if scope.config.find(SECRET_KIND, env, name) is None
    )
    if missing:
        raise InvalidInput(
            f"secret {', '.join(missing)} is not set in {env}: PUT /secrets/<name> first",
            field="nodes",
        )


@router.get("", response_model=list[SecretOut], summary="Names of the context's secrets")
async def list_secrets(scope: Read, x_context: ConfigContext) -> list[SecretOut]:
    return [SecretOut.of(e) for e in scope.config.list(SECRET_KIND, x_context)]


@router.put(
    "/{name}",
    response_model=SecretOut,
    summary="Set a secret (new or replaced); the value is never shown back",
)
async def put_secret(
    scope: Write, name: SecretName, body: SecretIn, x_context: ConfigContext
) -> SecretOut:
    if len(body.value.encode()) > MAX_SECRET_BYTES:
        raise InvalidInput(f"a secret holds at most {MAX_SECRET_BYTES} bytes", field="value")
    box = secret_box(scope.runtime.settings)  # 503 without HEADWATER_SECRETS_KEY
    current = scope.config.find(SECRET_KIND, x_context, name)
    created: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(),
        "created_by": scope.config.actor,
    }
    if current is not None:  # a replacement keeps who made the secret, and when
        created.update({k: current.data[k] for k in created if k in current.data})
    data = {"sealed": box.seal(body.value), **created}
    return SecretOut.of(await scope.config.put(SECRET_KIND, x_context, name, data))


@router.delete("/{name}", status_code=204, summary="Delete a secret no flow names")
async def delete_secret(scope: Write, name: SecretName, x_context: ConfigContext) -> None:
    users = _flows_naming(scope, x_context, name)
    if users:
        raise Conflict(
            f"flow {', '.join(sorted(users))} names secret {name} in {x_context}; "
            "change the flow first"
        )
    await scope.config.delete(SECRET_KIND, x_context, name)
