"""``/health``: the one route open to anyone; says nothing about tenants."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.console.auth import runtime_of
from headwater.console.models import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness, with config and Kafka state")
async def health(request: Request) -> Health:
    runtime = runtime_of(request)
    return Health(status="ok", config=runtime.config.caught_up, kafka=runtime.producer.connected)
