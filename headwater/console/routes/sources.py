"""``/sources``: event sources per context (``x-context``), versioned, deployable."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from headwater.console.auth import Context, Scope, require
from headwater.console.models import SOURCE_ID_PATTERN, SourceIn, SourceOut
from headwater.core.access import Permission
from headwater.core.sources import SOURCE_KIND

__all__ = ["router"]

router = APIRouter(prefix="/sources", tags=["event sources"])
Read = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]
Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]
Deploy = Annotated[Scope, Depends(require(Permission.CONFIG_DEPLOY))]
SourceId = Annotated[str, Path(pattern=SOURCE_ID_PATTERN)]


def _data(body: SourceIn) -> dict[str, object]:
    return body.model_dump(exclude={"version"})


@router.get("", response_model=list[SourceOut], summary="Event sources of the context")
async def list_sources(scope: Read, x_context: Context = "staging") -> list[SourceOut]:
    return [SourceOut.of(e) for e in scope.config.list(SOURCE_KIND, x_context)]


@router.post("", response_model=SourceOut, status_code=201, summary="New event source")
async def create_source(scope: Write, body: SourceIn, x_context: Context = "staging") -> SourceOut:
    # The id is what trackers send as source.id (the write key): random, not guessable.
    entry = await scope.config.put(SOURCE_KIND, x_context, str(uuid.uuid4()), _data(body))
    return SourceOut.of(entry)


@router.get("/{source_id}", response_model=SourceOut)
async def get_source(scope: Read, source_id: SourceId, x_context: Context = "staging") -> SourceOut:
    return SourceOut.of(scope.config.get(SOURCE_KIND, x_context, source_id))


@router.put("/{source_id}", response_model=SourceOut, summary="Replace, as a new version")
async def put_source(
    scope: Write, source_id: SourceId, body: SourceIn, x_context: Context = "staging"
) -> SourceOut:
    # Replace only: a source id is also what the collector looks events up by, across
    # tenants, so a caller must never pick one (it could shadow another tenant's source).
    scope.config.get(SOURCE_KIND, x_context, source_id)
    entry = await scope.config.put(
        SOURCE_KIND, x_context, source_id, _data(body), expected_version=body.version
    )
    return SourceOut.of(entry)


@router.delete("/{source_id}", status_code=204)
async def delete_source(scope: Write, source_id: SourceId, x_context: Context = "staging") -> None:
    await scope.config.delete(SOURCE_KIND, x_context, source_id)


@router.post(
    "/{source_id}/deploy",
    response_model=SourceOut,
    summary="Copy the staging definition to production as a new version",
)
async def deploy_source(scope: Deploy, source_id: SourceId) -> SourceOut:
    return SourceOut.of(await scope.config.deploy(SOURCE_KIND, source_id))


@router.post(
    "/{source_id}/rollback",
    response_model=SourceOut,
    summary="Put back the production version the last deploy replaced",
)
async def rollback_source(scope: Deploy, source_id: SourceId) -> SourceOut:
    return SourceOut.of(await scope.config.rollback(SOURCE_KIND, source_id))
