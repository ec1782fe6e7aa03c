"""``/console/info``: what the console needs to know about this installation, such as
where the collector listens (for the install snippets it shows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from headwater import __version__
from headwater.console.auth import Scope, require
from headwater.core.access import Permission

__all__ = ["router"]

router = APIRouter(prefix="/console", tags=["user"])
Self = Annotated[Scope, Depends(require(Permission.SELF))]


class ConsoleInfo(BaseModel):
    version: str
    collector_url: str  # from HEADWATER_COLLECTOR_HOST and HEADWATER_COLLECTOR_PORT


@router.get("/info", response_model=ConsoleInfo, summary="About this installation")
async def info(scope: Self) -> ConsoleInfo:
    settings = scope.runtime.settings
    url = f"http://{settings.collector_host}:{settings.collector_port}"
    return ConsoleInfo(version=__version__, collector_url=url)
