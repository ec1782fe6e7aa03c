"""``/workers/lag``: how far the worker (its consumer group, ``HEADWATER_WORKER_ID``) is
behind on each partition of the topics it reads. The worker is shared by every tenant,
so these are offsets only: counts of records, never their content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.params import only_known_query_params
from headwater.core.access import Permission
from headwater.streams.lag import group_lag
from headwater.streams.topics import Topics

__all__ = ["router"]

router = APIRouter(prefix="/workers", tags=["data"])
Read = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]


class PartitionLagOut(BaseModel):
    topic: str
    partition: int
    committed: int | None  # null: the worker never committed on this partition
    end: int
    lag: int


class LagOut(BaseModel):
    group: str
    lag: int  # the sum over the partitions
    partitions: list[PartitionLagOut]


@router.get("/lag", response_model=LagOut, summary="The worker's lag per partition")
async def worker_lag(scope: Read) -> LagOut:
    settings = scope.runtime.settings
    found = await group_lag(settings, settings.worker_id, Topics(settings.topic_prefix).consumed)
    rows = [
        PartitionLagOut(
            topic=p.topic, partition=p.partition, committed=p.committed, end=p.end, lag=p.lag
        )
        for p in found
    ]
    return LagOut(group=settings.worker_id, lag=sum(r.lag for r in rows), partitions=rows)
