"""``/merge-settings``: merge keys, guards and strategies of the caller's tenant, one set
per context, in the form the profile and identity agents read (``core/identity.py``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from headwater.console.auth import Scope, require
from headwater.console.context import ConfigContext
from headwater.console.models import PROFILE_PATH, MergeSettingsIn, MergeSettingsOut
from headwater.core.access import Permission
from headwater.core.identity import MERGE_SETTINGS_KIND, MergeSettings
from headwater.core.merging import STRATEGIES
from headwater.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/merge-settings", tags=["merge settings"])
Read = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]
Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]
Deploy = Annotated[Scope, Depends(require(Permission.CONFIG_DEPLOY))]
SETTINGS_ID = "default"  # one set per tenant and environment


def _checked(body: MergeSettingsIn) -> dict[str, Any]:
    data = body.model_dump(mode="json", exclude={"version"}, exclude_none=True)
    for path, strategy in {**body.strategies, "*": body.default_strategy}.items():
        if strategy not in STRATEGIES:
            raise InvalidInput(f"strategy {strategy!r} is not one of {STRATEGIES}", field=path)
        if path != "*" and not re.fullmatch(PROFILE_PATH, path):
            raise InvalidInput(f"{path!r} is not a profile path", field="strategies")
    names = [k.name for k in body.keys]
    if len(set(names)) != len(names):
        raise InvalidInput("merge key names must differ", field="keys")
    try:
        MergeSettings.from_config(data)  # the agents' own reading of it
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(str(exc), field="keys") from exc
    return data


@router.get("", response_model=MergeSettingsOut, summary="The context's merge settings")
async def get_settings(scope: Read, x_context: ConfigContext) -> MergeSettingsOut:
    """404 when none are configured: the built-in defaults apply (email, phone,
    customer id)."""
    return MergeSettingsOut.of(scope.config.get(MERGE_SETTINGS_KIND, x_context, SETTINGS_ID))


@router.put("", response_model=MergeSettingsOut, summary="Set them, as a new version")
async def put_settings(
    scope: Write, body: MergeSettingsIn, x_context: ConfigContext
) -> MergeSettingsOut:
    entry = await scope.config.put(
        MERGE_SETTINGS_KIND, x_context, SETTINGS_ID, _checked(body), expected_version=body.version
    )
    return MergeSettingsOut.of(entry)


@router.delete("", status_code=204, summary="Back to the built-in defaults")
async def delete_settings(scope: Write, x_context: ConfigContext) -> None:
    await scope.config.delete(MERGE_SETTINGS_KIND, x_context, SETTINGS_ID)


@router.post("/deploy", response_model=MergeSettingsOut, summary="Copy staging to production")
async def deploy_settings(scope: Deploy) -> MergeSettingsOut:
    return MergeSettingsOut.of(await scope.config.deploy(MERGE_SETTINGS_KIND, SETTINGS_ID))


@router.post(
    "/rollback", response_model=MergeSettingsOut, summary="Put back what the last deploy replaced"
)
async def rollback_settings(scope: Deploy) -> MergeSettingsOut:
    return MergeSettingsOut.of(await scope.config.rollback(MERGE_SETTINGS_KIND, SETTINGS_ID))
