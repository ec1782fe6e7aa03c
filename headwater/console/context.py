"""Which context, staging or production, a private-API call works in: chosen by the
``x-context`` header, said back in the ``x-context`` response header of every answer
that depends on it, and hinted at (``x-context-hint``, and the ``hint`` of a page) when
the other context has what this one lacks.

The defaults differ on purpose. Data routes (``/events``, ``/profiles``, ``/sessions``,
``/stats``) default to **production**: it is where collectors, ``init``'s default source
and ``headwater up`` send events, so a first ``GET /profiles`` shows what was just sent.
Configuration routes default to **staging**: configuration is edited there and deployed
to production (``POST .../deploy``), so a change never goes live by accident.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Response

__all__ = [
    "CONFIG_DEFAULT",
    "DATA_DEFAULT",
    "HINT_HEADER",
    "ConfigContext",
    "ContextName",
    "DataContext",
    "other",
    "see_other",
]

ContextName = Literal["staging", "production"]
CONFIG_DEFAULT: ContextName = "staging"
DATA_DEFAULT: ContextName = "production"
HINT_HEADER = "x-context-hint"


def other(context: str) -> ContextName:
    return "production" if context == "staging" else "staging"


def see_other(context: str, what: str) -> str:
    """``"<context> has <what>: send x-context: <context>"``, for a hint."""
    return f"{context} has {what}: send x-context: {context}"


def _header(default: ContextName, kind: str) -> Any:
    return Header(
        alias="x-context",
        description=f"staging or production; default {default} for {kind} routes. "
        "The answer's x-context header says which one was used.",
    )


_ConfigHeader = Annotated[ContextName | None, _header(CONFIG_DEFAULT, "configuration")]
_DataHeader = Annotated[ContextName | None, _header(DATA_DEFAULT, "data")]


def _said(response: Response, context: ContextName) -> str:
    response.headers["x-context"] = context
    return context


async def _config_context(response: Response, x_context: _ConfigHeader = None) -> str:
    return _said(response, x_context or CONFIG_DEFAULT)


async def _data_context(response: Response, x_context: _DataHeader = None) -> str:
    return _said(response, x_context or DATA_DEFAULT)


ConfigContext = Annotated[str, Depends(_config_context)]
DataContext = Annotated[str, Depends(_data_context)]
