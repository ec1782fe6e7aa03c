"""``POST /profiles/search``: profiles a condition selects now, paged, with the
condition language of segments (docs/conditions.md). The console's profile search and
its segment editor (live count and sample) use it; a syntax error answers 422 with the
``line`` and ``column`` where the text went wrong, so the editor can point at it."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.responses import Response

from headwater.console.auth import Scope, require
from headwater.console.context import DataContext
from headwater.console.models import PageOut
from headwater.console.segment_search import members_query
from headwater.core.access import Permission
from headwater.core.conditions import parse
from headwater.core.conditions.parser import MAX_CONDITION_CHARS
from headwater.errors import ConditionSyntaxError
from headwater.http_errors import json_answer

__all__ = ["router"]

router = APIRouter(tags=["data"])
Read = Annotated[Scope, Depends(require(Permission.DATA_READ))]


class ProfileSearchIn(BaseModel):
    condition: str = Field(
        min_length=1,
        max_length=MAX_CONDITION_CHARS,
        description="e.g. profile.stats.visits >= 2 and profile.segments contains 'vip'",
    )
    size: int = Field(default=50, ge=1, le=1000)
    after: str | None = Field(default=None, description="the `next` of the previous page")
    sort: str | None = Field(default=None, max_length=64, description="as GET /profiles")


class ConditionErrorOut(BaseModel):
    error: str
    field: str
    line: int
    column: int
    expected: list[str]


@router.post(
    "/profiles/search",
    response_model=PageOut,
    summary="Profiles a condition selects (merged-away ones left out), paged",
    responses={422: {"model": ConditionErrorOut, "description": "where the condition is wrong"}},
)
async def search_by_condition(
    scope: Read, body: ProfileSearchIn, x_context: DataContext
) -> PageOut | Response:
    try:
        parse(body.condition)
    except ConditionSyntaxError as exc:
        answer = ConditionErrorOut(
            error=exc.message,
            field="condition",
            line=exc.line,
            column=exc.column,
            expected=list(exc.expected),
        )
        return json_answer(422, answer.model_dump())
    data = scope.data
    where = members_query(body.condition, engine=data.store.engine, now_ms=int(time.time() * 1000))
    page = await data.search(
        "profiles", x_context, {}, size=body.size, after=body.after, sort=body.sort, where=where
    )
    return PageOut(total=page.total, items=page.items, next=page.next, context=x_context)
