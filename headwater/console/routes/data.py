"""``/events``, ``/profiles``, ``/sessions``: the caller's tenant's data, paged with
search_after (no 10,000-hit window)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from headwater.console.auth import Context, Scope, require
from headwater.console.models import PageOut
from headwater.core.access import Permission
from headwater.core.data_query import DataFamily
from headwater.core.profile_ops import op
from headwater.core.tenancy import profile_key
from headwater.schemas import PROFILE_OP
from headwater.streams.codec import AvroCodec
from headwater.streams.topics import Topics

__all__ = ["router"]

router = APIRouter(tags=["data"])
Read = Annotated[Scope, Depends(require(Permission.DATA_READ))]
Erase = Annotated[Scope, Depends(require(Permission.DATA_DELETE))]
Size = Annotated[int, Query(ge=1, le=1000)]
After = Annotated[str | None, Query(description="the `next` cursor of the previous page")]
Filter = Annotated[str | None, Query(max_length=256)]
Merged = Annotated[
    Literal["false", "true", "any"],
    Query(description="profiles merged into another: false (not listed), true (only), any"),
]
Sort = Annotated[
    str | None, Query(max_length=64, description="field:asc|desc; keep it when paging")
]


async def _page(
    scope: Scope,
    family: DataFamily,
    env: str,
    size: int,
    after: str | None,
    sort: str | None,
    **filters: Any,
) -> PageOut:
    wanted = {name: value for name, value in filters.items() if value is not None}
    page = await scope.data.search(family, env, wanted, size=size, after=after, sort=sort)
    return PageOut(total=page.total, items=page.items, next=page.next)


@router.get("/events", response_model=PageOut, summary="Search events, newest first")
async def search_events(
    scope: Read,
    x_context: Context = "staging",
    type: Filter = None,
    profile_id: Filter = None,
    session_id: Filter = None,
    source_id: Filter = None,
    size: Size = 50,
    after: After = None,
    sort: Sort = None,
) -> PageOut:
    return await _page(
        scope,
        "events",
        x_context,
        size,
        after,
        sort,
        type=type,
        profile_id=profile_id,
        session_id=session_id,
        source_id=source_id,
    )


@router.get("/profiles", response_model=PageOut, summary="Search profiles, by id")
async def search_profiles(
    scope: Read,
    x_context: Context = "staging",
    segment: Filter = None,
    merged: Merged = "false",
    size: Size = 50,
    after: After = None,
    sort: Sort = None,
) -> PageOut:
    return await _page(
        scope, "profiles", x_context, size, after, sort, segment=segment, merged=merged
    )


@router.get("/profiles/{profile_id}", response_model=dict[str, Any], summary="One profile")
async def get_profile(scope: Read, profile_id: str, x_context: Context = "staging") -> Any:
    return await scope.data.get("profiles", x_context, profile_id)


_CODEC = AvroCodec.default()


@router.delete(
    "/profiles/{profile_id}",
    response_model=dict[str, int],
    summary="Right to be forgotten: delete the profile, its events and its sessions",
)
async def forget_profile(scope: Erase, profile_id: str, x_context: Context = "staging") -> Any:
    # the profile agent forgets the state (and the identity agent its identifiers)
    # first, so no later snapshot brings the document back; then the documents go
    record = op("forget", scope.tenant, x_context, profile_id)
    await scope.runtime.producer.send(
        Topics(scope.runtime.settings.topic_prefix).profile_ops,
        _CODEC.encode(PROFILE_OP, record),
        profile_key(scope.tenant, x_context, profile_id),
    )
    return await scope.data.forget_profile(x_context, profile_id)


@router.get("/sessions", response_model=PageOut, summary="Search sessions, newest first")
async def search_sessions(
    scope: Read,
    x_context: Context = "staging",
    profile_id: Filter = None,
    size: Size = 50,
    after: After = None,
    sort: Sort = None,
) -> PageOut:
    return await _page(scope, "sessions", x_context, size, after, sort, profile_id=profile_id)
