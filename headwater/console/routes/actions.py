"""``/actions``: the flow actions installed (the registry the API checks flows with and
the worker runs), each with its configuration's JSON Schema and its ports: the flow
editor's palette and the source of its generated settings forms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.routes.automation import registry
from headwater.core.access import Permission

__all__ = ["router"]

router = APIRouter(prefix="/actions", tags=["flows"])
Read = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]


class ActionOut(BaseModel):
    name: str
    family: str  # flow, data, profile, event or outbound: the palette's groups
    description: str
    config_schema: dict[str, Any]
    inputs: list[str]
    outputs: list[str]  # fixed ports; a switch's come from its configured cases
    side_effects: bool


@router.get("", response_model=list[ActionOut], summary="Flow actions, with their schemas")
async def list_actions(_: Read) -> list[ActionOut]:
    return [ActionOut(**spec.describe()) for spec in registry().specs()]
