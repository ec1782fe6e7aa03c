"""``headwater tenant ...``: the TMS from the command line, for operators with access
to Kafka and the search engine (the same provisioning as ``POST /tenants``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from headwater.adapters.search import connect_search
from headwater.console.passwords import PasswordVault
from headwater.console.provisioning import AdminAccount, provision_tenant
from headwater.console.repository import TenantConfig
from headwater.core.accounts import check_password_policy, normalise_email
from headwater.core.tenancy import TENANT_KIND, check_tenant_id, tenant_key
from headwater.errors import ConfigurationError, InputError
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog, open_config

__all__ = ["create_tenant", "list_tenants", "set_tenant_status"]

_BY = "cli"


def _tenant(config: ConfigLog, tenant: str) -> dict[str, Any]:
    entry = config.get(tenant_key(tenant))
    if entry is None:
        raise ConfigurationError(f"no tenant {tenant}")
    return {"id": entry.id, **entry.data, "version": entry.version}


async def create_tenant(
    settings: Settings, tenant: str, name: str, admin_email: str
) -> dict[str, Any]:
    """Provision a tenant with its admin (password from ``settings.admin_password``)."""
    if settings.admin_password is None:
        raise ConfigurationError("no admin password given")
    password = settings.admin_password.get_secret_value()
    try:
        check_tenant_id(tenant)
        check_password_policy(password, normalise_email(admin_email))
    except InputError as exc:
        raise ConfigurationError(exc.message) from exc
    store = await connect_search(settings)
    try:
        async with open_config(settings) as (config, publisher):
            result = await provision_tenant(
                settings=settings,
                store=store,
                config=config,
                publisher=publisher,
                tenant=tenant,
                name=name,
                admin=AdminAccount(admin_email, PasswordVault().hash(password)),
                by=_BY,
            )
            return {**_tenant(config, tenant), **asdict(result)}
    finally:
        await store.close()


async def list_tenants(settings: Settings) -> list[dict[str, Any]]:
    async with open_config(settings) as (config, _):
        return [
            _tenant(config, e.id) for e in sorted(config.entries(TENANT_KIND), key=lambda e: e.id)
        ]


async def set_tenant_status(settings: Settings, tenant: str, status: str) -> dict[str, Any]:
    """Suspend (``suspended``) or resume (``active``) a tenant."""
    async with open_config(settings) as (config, publisher):
        current = _tenant(config, tenant)
        data = {"name": current.get("name", tenant), "status": status}
        await TenantConfig(config, publisher, tenant, _BY).put(TENANT_KIND, None, tenant, data)
        return _tenant(config, tenant)
