"""One set of routes for every versioned configuration kind (event sources, mappings, ...).

Each kind gets list, create, get, replace, delete, deploy and rollback, per context
(``x-context``), with the same rules: the server picks ids, ``PUT`` only replaces what
the caller's tenant has, every change is a new version with who and when.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.context import HINT_HEADER, ConfigContext, other, see_other
from headwater.console.models import SOURCE_ID_PATTERN, EntityIn
from headwater.console.repository import EnvOwned
from headwater.core.access import Permission
from headwater.core.config import ConfigEntry

__all__ = ["entity_router"]

Read = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]
Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]
Deploy = Annotated[Scope, Depends(require(Permission.CONFIG_DEPLOY))]
EntityId = Annotated[str, Path(pattern=SOURCE_ID_PATTERN)]


def entity_router(
    *,
    kind: str,
    prefix: str,
    noun: str,
    body_model: type[EntityIn],
    out_model: type[BaseModel],
    out: Callable[[ConfigEntry], BaseModel],
    check: Callable[[dict[str, Any]], None] | None = None,
    check_in_context: Callable[[dict[str, Any], Scope, str], None] | None = None,
    check_delete: Callable[[str, Scope, str], None] | None = None,
    env_owned: EnvOwned | None = None,
    issued: Callable[[ConfigEntry | None, ConfigEntry], BaseModel] | None = None,
    restore: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
    prepare: Callable[[dict[str, Any], dict[str, Any] | None, Scope], dict[str, Any]] | None = None,
) -> APIRouter:
    """``check`` refuses a body on its own, ``check_in_context`` against what the
    tenant's context holds (a rule's flow must exist there; it also runs on deploy,
    against production), ``check_delete`` refuses deleting an entity others need.
    ``env_owned`` fields (write keys) are the server's: made fresh on create, kept on
    replace, never copied by deploy or rollback. ``issued(before, after)`` answers the
    writes that may make them (create, deploy, rollback), to show new secrets once.
    ``restore(body, stored)`` gives a replace back what reads masked.
    ``prepare(data, stored, scope)`` makes what is stored of a create (``stored`` None)
    or a replace (a bridge's password is sealed there)."""
    router = APIRouter(prefix=prefix, tags=[f"{noun}s"])
    label = kind.replace("-", "_")

    def answer(before: ConfigEntry | None, after: ConfigEntry) -> Any:
        return issued(before, after) if issued is not None else out(after)

    def data_of(body: EntityIn, scope: Scope, env: str) -> dict[str, Any]:
        data = body.model_dump(mode="json", exclude={"version"})
        if check is not None:
            check(data)
        if check_in_context is not None:
            check_in_context(data, scope, env)
        return data

    async def list_entities(scope: Read, response: Response, x_context: ConfigContext) -> list[Any]:
        found = scope.config.list(kind, x_context)
        elsewhere = [] if found else scope.config.list(kind, other(x_context))
        if elsewhere:
            hint = see_other(other(x_context), f"{len(elsewhere)} {noun}(s)")
            response.headers[HINT_HEADER] = f"none in {x_context}; {hint}"
        return [out(e) for e in found]

    def staged(response: Response, x_context: str, entity_id: str) -> None:
        if x_context == "staging":
            response.headers[HINT_HEADER] = (
                f"saved in staging, which only staging collectors and workers use; "
                f"POST {prefix}/{entity_id}/deploy puts it in production"
            )

    async def create_entity(
        scope: Write,
        body: EntityIn,
        response: Response,
        x_context: ConfigContext,
    ) -> Any:
        # Random ids: a source id doubles as the write key, and is looked up across tenants.
        data = data_of(body, scope, x_context)
        if prepare is not None:
            data = prepare(data, None, scope)
        if env_owned is not None:
            data = env_owned.carry(data, None)
        entity_id = str(uuid.uuid4())
        staged(response, x_context, entity_id)
        return answer(None, await scope.config.put(kind, x_context, entity_id, data))

    async def get_entity(scope: Read, entity_id: EntityId, x_context: ConfigContext) -> Any:
        return out(scope.config.get(kind, x_context, entity_id))

    async def replace_entity(
        scope: Write,
        entity_id: EntityId,
        body: EntityIn,
        response: Response,
        x_context: ConfigContext,
    ) -> Any:
        current = scope.config.get(kind, x_context, entity_id)  # 404 when not the caller's
        staged(response, x_context, entity_id)
        data = data_of(body, scope, x_context)
        if restore is not None:
            data = restore(data, current.data)
        if prepare is not None:
            data = prepare(data, current.data, scope)
        if env_owned is not None:
            data = env_owned.carry(data, current.data)
        return out(
            await scope.config.put(kind, x_context, entity_id, data, expected_version=body.version)
        )

    async def delete_entity(scope: Write, entity_id: EntityId, x_context: ConfigContext) -> None:
        if check_delete is not None:
            check_delete(entity_id, scope, x_context)
        await scope.config.delete(kind, x_context, entity_id)

    async def deploy_entity(scope: Deploy, entity_id: EntityId) -> Any:
        if check_in_context is not None:
            check_in_context(scope.config.get(kind, "staging", entity_id).data, scope, "production")
        before = scope.config.find(kind, "production", entity_id)
        return answer(before, await scope.config.deploy(kind, entity_id, env_owned=env_owned))

    async def rollback_entity(scope: Deploy, entity_id: EntityId) -> Any:
        before = scope.config.find(kind, "production", entity_id)
        return answer(before, await scope.config.rollback(kind, entity_id, env_owned=env_owned))

    # The body parameter is typed by the base class for the checker; FastAPI must see
    # the kind's own model to validate and document it.
    create_entity.__annotations__["body"] = body_model
    replace_entity.__annotations__["body"] = body_model
    many: Any = list[out_model]  # type: ignore[valid-type]

    def add(
        path: str, endpoint: Callable[..., Any], method: str, summary: str, **extra: Any
    ) -> None:
        operation_id = f"{endpoint.__name__}_{label}"
        router.add_api_route(
            path, endpoint, methods=[method], operation_id=operation_id, summary=summary, **extra
        )

    item = "/{entity_id}"
    add("", list_entities, "GET", f"{noun}s of the context", response_model=many)
    add(
        "",
        create_entity,
        "POST",
        f"New {noun}; the server picks its id",
        response_model=out_model,
        status_code=201,
    )
    add(item, get_entity, "GET", f"One {noun}", response_model=out_model)
    add(
        item, replace_entity, "PUT", f"Replace a {noun}, as a new version", response_model=out_model
    )
    add(item, delete_entity, "DELETE", f"Delete a {noun}", status_code=204)
    add(
        f"{item}/deploy",
        deploy_entity,
        "POST",
        f"Copy the staging {noun} to production as a new version",
        response_model=out_model,
    )
    add(
        f"{item}/rollback",
        rollback_entity,
        "POST",
        f"Put back the production {noun} the last deploy replaced",
        response_model=out_model,
    )
    return router
