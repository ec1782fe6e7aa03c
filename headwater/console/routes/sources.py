"""``/sources`` (event sources, with their write keys), ``/mappings`` (event-to-profile
mappings) and ``/event-types`` (validation and reshaping): versioned configuration kinds
with the same routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from headwater.console.auth import Scope, require
from headwater.console.context import ConfigContext
from headwater.console.models import (
    EventTypeIn,
    EventTypeOut,
    MappingIn,
    MappingOut,
    SourceIn,
    SourceOut,
    WriteKeyIn,
    WriteKeyOut,
    WriteKeyRef,
)
from headwater.console.provisioning import new_write_key
from headwater.console.repository import EnvOwned
from headwater.console.routes.entities import EntityId, entity_router
from headwater.core.access import Permission
from headwater.core.config import ConfigEntry
from headwater.core.mapping import MAPPING_KIND, mapping_from_config
from headwater.core.sources import DEFAULT_MARK, SOURCE_KIND
from headwater.core.validation import EVENT_TYPE_KIND, event_type_rules
from headwater.errors import InvalidInput, NotFound

__all__ = ["event_types", "mappings", "sources"]

Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]


def _valid_event_type(data: dict[str, Any]) -> None:
    """Refuse what the profile agent would ignore, with the agent's own parser."""
    try:
        event_type_rules(data)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="json_schema") from exc


def _valid_mapping(data: dict[str, Any]) -> None:
    """Refuse what the profile agent would ignore, with the agent's own parser."""
    try:
        mapping_from_config(data)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="fields") from exc


# The write keys, signing secrets and the default mark belong to the server and to one
# environment: a deploy copies a source's signature scheme, never its secrets.
WRITE_KEYS = EnvOwned(
    fields=("write_keys", DEFAULT_MARK, "signing_secrets"),
    fresh=lambda: {"write_keys": [new_write_key()]},
)

sources = entity_router(
    kind=SOURCE_KIND,
    prefix="/sources",
    noun="event source",
    body_model=SourceIn,
    out_model=SourceOut,
    out=SourceOut.of,
    issued=SourceOut.issued,
    env_owned=WRITE_KEYS,
)
event_types = entity_router(
    kind=EVENT_TYPE_KIND,
    prefix="/event-types",
    noun="event type (validation and reshaping)",
    body_model=EventTypeIn,
    out_model=EventTypeOut,
    out=EventTypeOut.of,
    check=_valid_event_type,
)
mappings = entity_router(
    kind=MAPPING_KIND,
    prefix="/mappings",
    noun="event mapping",
    body_model=MappingIn,
    out_model=MappingOut,
    out=MappingOut.of,
    check=_valid_mapping,
)


@sources.post(
    "/{entity_id}/write-keys",
    response_model=WriteKeyOut,
    status_code=201,
    summary="Issue another write key for the source (in this context); shown this once",
)
async def add_write_key(
    scope: Write, entity_id: EntityId, body: WriteKeyIn, x_context: ConfigContext
) -> WriteKeyOut:
    current = scope.config.get(SOURCE_KIND, x_context, entity_id)
    keys = current.data.get("write_keys", [])
    return await _with_new_key(scope, x_context, entity_id, current, keys, body.name)


async def _with_new_key(
    scope: Scope,
    context: str,
    entity_id: str,
    current: ConfigEntry,
    keys: list[dict[str, Any]],
    name: str,
) -> WriteKeyOut:
    """Store the source (``current``) with ``keys`` and a new key called ``name``;
    returns the new key, shown this once."""
    issued = new_write_key(name)
    data = {**current.data, "write_keys": [*keys, issued]}
    await scope.config.put(SOURCE_KIND, context, entity_id, data)
    return WriteKeyOut.of(issued, reveal=True)


def _named(current: ConfigEntry, ref: WriteKeyRef) -> list[dict[str, Any]]:
    """The source's keys (copies), refused (404) when ``ref`` names none of them."""
    keys = [dict(k) for k in current.data.get("write_keys", [])]
    if not any(ref.matches(k) for k in keys):
        raise NotFound("the source has no such write key", field="id" if ref.id else "key")
    return keys


@sources.post(
    "/{entity_id}/write-keys/revoke",
    response_model=SourceOut,
    summary="Revoke one of the source's write keys; collectors refuse it within seconds",
)
async def revoke_write_key(
    scope: Write, entity_id: EntityId, body: WriteKeyRef, x_context: ConfigContext
) -> SourceOut:
    current = scope.config.get(SOURCE_KIND, x_context, entity_id)
    keys = [{**k, "revoked": True} if body.matches(k) else k for k in _named(current, body)]
    data = {**current.data, "write_keys": keys}
    return SourceOut.of(await scope.config.put(SOURCE_KIND, x_context, entity_id, data))


@sources.post(
    "/{entity_id}/write-keys/rotate",
    response_model=WriteKeyOut,
    status_code=201,
    summary="Replace a write key: revoke it and issue a new one of the same name, shown once",
)
async def rotate_write_key(
    scope: Write, entity_id: EntityId, body: WriteKeyRef, x_context: ConfigContext
) -> WriteKeyOut:
    current = scope.config.get(SOURCE_KIND, x_context, entity_id)
    keys = _named(current, body)
    old = next(k for k in keys if body.matches(k))
    keys = [{**k, "revoked": True} if body.matches(k) else k for k in keys]
    name = str(old.get("name", ""))
    return await _with_new_key(scope, x_context, entity_id, current, keys, name)
