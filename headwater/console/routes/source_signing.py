"""``/sources/{id}/signing-secret``: the secret a source's signed webhooks are checked with.

A source's ``signature`` (the scheme: preset, header, tolerance) is part of the source
and deploys with it; its signing secrets belong to one context, like write keys: set in
each (Stripe's test and live modes sign with different secrets), never copied by deploy
or rollback, kept by ``PUT``. A secret is stored sealed (``adapters/secrets.py``) and never
shown back; one the server makes is shown in the answer that made it, once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from headwater.adapters.secrets import secret_box
from headwater.console.auth import Scope, require
from headwater.console.context import ConfigContext
from headwater.console.models import SigningSecretIn, SigningSecretOut
from headwater.console.routes.entities import EntityId
from headwater.core.access import Permission
from headwater.core.sources import SOURCE_KIND

__all__ = ["MAX_SIGNING_SECRETS", "router"]

router = APIRouter(prefix="/sources", tags=["event sources"])
Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]
MAX_SIGNING_SECRETS = 3  # the new one and those still in their grace period


def _still_passing(stored: list[dict[str, Any]], until: datetime) -> list[dict[str, Any]]:
    """The secrets a new one replaces, passing until ``until`` at the latest (those
    already past it are dropped)."""
    kept = []
    for secret in stored:
        expires = secret.get("expires_at")
        end = min(until, datetime.fromisoformat(expires)) if expires else until
        if end > datetime.now(UTC):
            kept.append({**secret, "expires_at": end.isoformat()})
    return kept[-(MAX_SIGNING_SECRETS - 1) :]


@router.post(
    "/{entity_id}/signing-secret",
    response_model=SigningSecretOut,
    status_code=201,
    summary="Set or replace the source's signing secret (in this context); a secret the "
    "server makes is shown in this answer only",
)
async def set_signing_secret(
    scope: Write, entity_id: EntityId, body: SigningSecretIn, x_context: ConfigContext
) -> SigningSecretOut:
    current = scope.config.get(SOURCE_KIND, x_context, entity_id)  # 404 when not the caller's
    box = secret_box(scope.runtime.settings)  # 503 without HEADWATER_SECRETS_KEY
    value = body.secret or f"hws_{secrets.token_hex(24)}"
    now = datetime.now(UTC)
    previous = current.data.get("signing_secrets", [])
    grace = now + timedelta(seconds=body.keep_previous_seconds)
    kept = _still_passing(previous, grace) if body.keep_previous_seconds else []
    new = {
        "id": f"ss_{secrets.token_hex(6)}",
        "sealed": box.seal(value),
        "created_at": now.isoformat(),
        "expires_at": None,
    }
    data = {**current.data, "signing_secrets": [*kept, new]}
    await scope.config.put(SOURCE_KIND, x_context, entity_id, data)
    return SigningSecretOut.of(new, reveal=None if body.secret else value)
