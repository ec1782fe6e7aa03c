"""``/events``, ``/profiles``, ``/sessions``: the caller's tenant's data, paged with
search_after (no 10,000-hit window)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from headwater.console.auth import Scope, require
from headwater.console.context import DataContext
from headwater.console.event_filters import Validity, events_where
from headwater.console.models import PageOut
from headwater.console.params import only_known_query_params
from headwater.console.routes.merge_settings import SETTINGS_ID
from headwater.console.segment_search import defined_segment_query
from headwater.core.access import Permission
from headwater.core.data_query import DataFamily
from headwater.core.identity import MERGE_SETTINGS_KIND, MergeSettings, lookup_identifier
from headwater.core.profile_ops import op
from headwater.errors import InvalidInput
from headwater.streams.codec import AvroCodec
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.topics import Topics

__all__ = ["router"]

router = APIRouter(tags=["data"])
Read = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]
Erase = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_DELETE)))]
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
    where: dict[str, Any] | None = None,
    **filters: Any,
) -> PageOut:
    wanted = {name: value for name, value in filters.items() if value is not None}
    page = await scope.data.search(
        family, env, wanted, size=size, after=after, sort=sort, where=where
    )
    hint = await scope.data.hint(family, env, wanted) if page.total == 0 else None
    return PageOut(total=page.total, items=page.items, next=page.next, context=env, hint=hint)


@router.get("/events", response_model=PageOut, summary="Search events, newest first")
async def search_events(
    scope: Read,
    x_context: DataContext,
    type: Filter = None,
    profile_id: Filter = None,
    session_id: Filter = None,
    source_id: Filter = None,
    since: Annotated[
        datetime | None, Query(description="stored at or after (ISO 8601; no offset: UTC)")
    ] = None,
    until: Annotated[datetime | None, Query(description="stored before (ISO 8601)")] = None,
    valid: Annotated[
        Validity | None, Query(description="true: valid events only; false: invalid only")
    ] = None,
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
        events_where(since, until, valid),
        type=type,
        profile_id=profile_id,
        session_id=session_id,
        source_id=source_id,
    )


def _identifier(scope: Scope, env: str, text: str) -> str:
    """``<merge key>:<value>`` as the identifier profiles claim, by the context's merge
    settings (the built-in ones when none are configured, as the agents do)."""
    entry = scope.config.find(MERGE_SETTINGS_KIND, env, SETTINGS_ID)
    try:
        settings = MergeSettings.from_config(entry.data) if entry else MergeSettings()
    except (ValueError, KeyError, TypeError):
        settings = MergeSettings()
    try:
        return lookup_identifier(scope.tenant, text, settings)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="identifier") from None


@router.get("/profiles", response_model=PageOut, summary="Search profiles, by id")
async def search_profiles(
    scope: Read,
    x_context: DataContext,
    segment: Filter = None,
    identifier: Annotated[
        str | None,
        Query(
            max_length=512,
            description="<merge key>:<value>, e.g. email:ann@example.com, phone:+48600100200 "
            "or customer_id:<Segment userId>",
        ),
    ] = None,
    merged: Merged = "false",
    size: Size = 50,
    after: After = None,
    sort: Sort = None,
) -> PageOut:
    # a defined segment: the members query of GET /segments/{id}/members; a label a
    # flow added (no definition): the profiles that list it
    where = defined_segment_query(scope, x_context, segment) if segment else None
    if where is not None:
        segment = None
    hashed = _identifier(scope, x_context, identifier) if identifier is not None else None
    return await _page(
        scope,
        "profiles",
        x_context,
        size,
        after,
        sort,
        where=where,
        segment=segment,
        identifier=hashed,
        merged=merged,
    )


@router.get("/profiles/{profile_id}", response_model=dict[str, Any], summary="One profile")
async def get_profile(scope: Read, profile_id: str, x_context: DataContext) -> Any:
    return await scope.data.get("profiles", x_context, profile_id)


_CODEC = AvroCodec.default()


@router.delete(
    "/profiles/{profile_id}",
    response_model=dict[str, int],
    summary="Right to be forgotten: delete the profile, its events and its sessions",
)
async def forget_profile(scope: Erase, profile_id: str, x_context: DataContext) -> Any:
    # the profile agent forgets the state (and the identity agent its identifiers)
    # first, so no later snapshot brings the document back; then the documents go, with
    # those of the profiles merged into it, read before the worker erases their profiles
    owners = await scope.data.merged_ids(x_context, profile_id, fresh=True)
    records = PipelineRecords(_CODEC, Topics(scope.runtime.settings.topic_prefix))
    forget = records.op(op("forget", scope.tenant, x_context, profile_id))
    await scope.runtime.producer.send(forget.topic, forget.value, forget.key)
    return await scope.data.forget_profile(x_context, profile_id, owners)


@router.get("/sessions", response_model=PageOut, summary="Search sessions, newest first")
async def search_sessions(
    scope: Read,
    x_context: DataContext,
    profile_id: Filter = None,
    size: Size = 50,
    after: After = None,
    sort: Sort = None,
) -> PageOut:
    return await _page(scope, "sessions", x_context, size, after, sort, profile_id=profile_id)
