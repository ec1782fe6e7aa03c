"""``/tenants`` (TMS): create, list, suspend, resume, delete. Only the TMS key opens them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from headwater.adapters.search.provision import drop_tenant_indices
from headwater.console.auth import TmsAccess, runtime_of
from headwater.console.models import TenantIn, TenantOut
from headwater.console.provisioning import AdminAccount, provision_tenant
from headwater.console.repository import TenantConfig
from headwater.core.accounts import check_password_policy, normalise_email
from headwater.core.tenancy import TENANT_ID_PATTERN, TENANT_KIND, tenant_key
from headwater.errors import NotFound

__all__ = ["router"]

router = APIRouter(prefix="/tenants", tags=["tenants (TMS)"], dependencies=[TmsAccess])
TenantId = Annotated[str, Path(pattern=TENANT_ID_PATTERN)]
_BY = "tms"


def _tenant_config(request: Request, tenant: str) -> TenantConfig:
    runtime = runtime_of(request)
    return TenantConfig(runtime.config, runtime.publisher, tenant, _BY)


def _existing(request: Request, tenant: str) -> TenantOut:
    entry = runtime_of(request).config.get(tenant_key(tenant))
    if entry is None:
        raise NotFound(f"no tenant {tenant}")
    return TenantOut.of(entry)


@router.post(
    "",
    response_model=TenantOut,
    summary="Create a tenant: indices, admin user, default sources (idempotent)",
)
async def create_tenant(request: Request, body: TenantIn) -> TenantOut:
    runtime = runtime_of(request)
    email = normalise_email(body.admin_email)
    password = body.admin_password.get_secret_value()
    check_password_policy(password, email)
    result = await provision_tenant(
        settings=runtime.settings,
        store=runtime.search,
        config=runtime.config,
        publisher=runtime.publisher,
        tenant=body.id,
        name=body.name,
        admin=AdminAccount(email, await runtime.passwords.hash_async(password)),
        by=_BY,
    )
    entry = runtime.config.get(tenant_key(body.id))
    assert entry is not None  # provisioning waited until it was read back
    return TenantOut.of(
        entry,
        admin_id=result.admin_id,
        sources=result.sources,
        write_keys=result.new_write_keys,  # shown once: a repeated call made none
    )


@router.get("", response_model=list[TenantOut])
async def list_tenants(request: Request) -> list[TenantOut]:
    entries = runtime_of(request).config.entries(TENANT_KIND)
    return [TenantOut.of(e) for e in sorted(entries, key=lambda e: e.id)]


@router.get("/{tenant_id}", response_model=TenantOut)
async def get_tenant(request: Request, tenant_id: TenantId) -> TenantOut:
    return _existing(request, tenant_id)


async def _set_status(request: Request, tenant_id: str, status: str) -> TenantOut:
    current = _existing(request, tenant_id)
    data = {"name": current.name, "status": status}
    entry = await _tenant_config(request, tenant_id).put(TENANT_KIND, None, tenant_id, data)
    return TenantOut.of(entry)


@router.post("/{tenant_id}/suspend", response_model=TenantOut, summary="Refuse its traffic")
async def suspend_tenant(request: Request, tenant_id: TenantId) -> TenantOut:
    return await _set_status(request, tenant_id, "suspended")


@router.post("/{tenant_id}/resume", response_model=TenantOut, summary="Take its traffic again")
async def resume_tenant(request: Request, tenant_id: TenantId) -> TenantOut:
    return await _set_status(request, tenant_id, "active")


@router.delete(
    "/{tenant_id}",
    status_code=204,
    summary="Delete the tenant: its configuration, users, keys, indices and templates",
)
async def delete_tenant(request: Request, tenant_id: TenantId) -> None:
    _existing(request, tenant_id)
    runtime = runtime_of(request)
    scoped = _tenant_config(request, tenant_id)
    owned = [e for e in runtime.config.entries() if e.tenant == tenant_id]
    for entry in sorted(owned, key=lambda e: e.kind == TENANT_KIND):  # the tenant record last
        await scoped.delete(entry.kind, entry.env, entry.id)
    await drop_tenant_indices(runtime.search, runtime.settings.index_prefix, tenant_id)
