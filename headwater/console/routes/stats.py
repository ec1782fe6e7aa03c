"""``/stats``: counts and time histograms for a dashboard, from the caller's tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.context import DataContext
from headwater.console.params import only_known_query_params
from headwater.console.tenant_data import Interval
from headwater.core.access import Permission

__all__ = ["router"]

router = APIRouter(prefix="/stats", tags=["data"])
Read = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]


class Counts(BaseModel):
    events: int
    profiles: int
    sessions: int
    context: str  # the context counted
    hint: str | None = None  # when it has nothing: what the other context has


class Bucket(BaseModel):
    key: str
    count: int


class EventStatsOut(BaseModel):
    total: int
    by_type: list[Bucket]
    over_time: list[Bucket]
    context: str  # the context counted


@router.get("", response_model=Counts, summary="Events, profiles and sessions stored")
async def counts(scope: Read, x_context: DataContext) -> Counts:
    found = await scope.data.counts(x_context)
    hint = None if any(found.values()) else await scope.data.hint("events", x_context, {})
    return Counts(**found, context=x_context, hint=hint)


@router.get("/events", response_model=EventStatsOut, summary="Events over time and by type")
async def event_stats(
    scope: Read,
    x_context: DataContext,
    interval: Interval = "day",
    since: Annotated[datetime | None, Query(description="received at or after")] = None,
    until: Annotated[datetime | None, Query(description="received before")] = None,
) -> EventStatsOut:
    found = await scope.data.event_stats(
        x_context,
        interval,
        since.isoformat() if since else None,
        until.isoformat() if until else None,
    )
    return EventStatsOut(
        total=found.total,
        by_type=[Bucket(key=k, count=c) for k, c in found.by_type],
        over_time=[Bucket(key=k, count=c) for k, c in found.over_time],
        context=x_context,
    )
