"""``/dashboard``: what the console's dashboard shows in one call, for the caller's
tenant and context: events per bucket over the last hour (per minute) or day (per ten
minutes), events by type and by source, invalid events, profiles and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.context import DataContext
from headwater.console.params import only_known_query_params
from headwater.core.access import Permission

__all__ = ["WINDOWS", "router"]

router = APIRouter(prefix="/dashboard", tags=["data"])
Read = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]

Window = Literal["hour", "day"]
# window -> (its length, one bucket)
WINDOWS: dict[str, tuple[timedelta, timedelta]] = {
    "hour": (timedelta(hours=1), timedelta(minutes=1)),
    "day": (timedelta(days=1), timedelta(minutes=10)),
}
TOP = 20  # types and sources listed, the most common first


class Bucket(BaseModel):
    key: str
    count: int


class DashboardOut(BaseModel):
    window: Window
    bucket_minutes: int
    since: datetime  # received at or after (UTC, the first bucket's start)
    until: datetime  # received before
    events: int  # in the window
    invalid: int  # in the window: stored with metadata.valid false
    over_time: list[Bucket]  # every bucket of the window, empty ones included
    by_type: list[Bucket]
    by_source: list[Bucket]
    profiles: int  # stored in the context (all time; merged-away ones not counted)
    sessions: int  # stored in the context (all time)
    context: str


def window_bounds(window: str, now: datetime) -> tuple[datetime, datetime, timedelta]:
    """``[since, until)`` covering ``window`` up to ``now``, on whole buckets."""
    length, bucket = WINDOWS[window]
    step = int(bucket.total_seconds())
    end = datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)
    return end - length, end, bucket


def dashboard_aggs(since: datetime, until: datetime, bucket: timedelta) -> dict[str, Any]:
    last = until - bucket
    return {
        "over_time": {
            "date_histogram": {
                "field": "time.insert",
                "fixed_interval": f"{int(bucket.total_seconds() // 60)}m",
                "min_doc_count": 0,
                "extended_bounds": {
                    "min": int(since.timestamp() * 1000),
                    "max": int(last.timestamp() * 1000),
                },
            }
        },
        "by_type": {"terms": {"field": "type", "size": TOP}},
        "by_source": {"terms": {"field": "source.id", "size": TOP}},
        "invalid": {"filter": {"term": {"metadata.valid": False}}},
    }


def _buckets(found: dict[str, Any], name: str) -> list[Bucket]:
    return [Bucket(key=str(b["key"]), count=b["doc_count"]) for b in found[name]["buckets"]]


def _over_time(found: dict[str, Any], since: datetime, until: datetime) -> list[Bucket]:
    """The histogram's buckets inside the window, keyed by ISO 8601 UTC start."""
    out = []
    for b in found["over_time"]["buckets"]:
        start = datetime.fromtimestamp(b["key"] / 1000, UTC)
        if since <= start < until:
            out.append(Bucket(key=start.isoformat(), count=b["doc_count"]))
    return out


@router.get("", response_model=DashboardOut, summary="Dashboard: recent events and totals")
async def dashboard(scope: Read, x_context: DataContext, window: Window = "hour") -> DashboardOut:
    since, until, bucket = window_bounds(window, datetime.now(UTC))
    data = scope.data
    query = {
        "bool": {
            "filter": [
                {"term": {"tenant": scope.tenant}},
                {"range": {"time.insert": {"gte": since.isoformat(), "lt": until.isoformat()}}},
            ]
        }
    }
    found = await data.store.aggregate(
        data.alias("events", x_context), query, dashboard_aggs(since, until, bucket)
    )
    aggs = found["aggregations"]
    counts = await data.counts(x_context)
    return DashboardOut(
        window=window,
        bucket_minutes=int(bucket.total_seconds() // 60),
        since=since,
        until=until,
        events=found["total"],
        invalid=int(aggs["invalid"]["doc_count"]),
        over_time=_over_time(aggs, since, until),
        by_type=_buckets(aggs, "by_type"),
        by_source=_buckets(aggs, "by_source"),
        profiles=counts["profiles"],
        sessions=counts["sessions"],
        context=x_context,
    )
