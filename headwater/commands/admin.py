"""The first admin's password for ``headwater init --admin-email``: never a default."""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass, field

from pydantic import SecretStr

from headwater.console.passwords import PasswordVault
from headwater.console.provisioning import AdminAccount, admin_entity, ensure_entity
from headwater.core.accounts import (
    USER_KIND,
    check_password_policy,
    normalise_email,
    users_with_email,
)
from headwater.core.config import config_key
from headwater.errors import ConfigurationError, InputError
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog, ConfigPublisher

__all__ = ["AdminWritten", "admin_password", "ensure_admin"]


@dataclass
class AdminWritten:
    user_id: str
    keys: list[str] = field(default_factory=list)


async def ensure_admin(
    settings: Settings,
    config: ConfigLog,
    publisher: ConfigPublisher,
    tenant: str,
    email: str,
) -> AdminWritten:
    """Create the tenant's admin unless that user exists; an existing one is left as is
    (its password is not reset by running init again)."""
    try:
        email = normalise_email(email)
    except InputError as exc:
        raise ConfigurationError(f"--admin-email: {exc.message}") from exc
    existing = users_with_email(config.entries(USER_KIND), email, tenant)
    if existing:
        return AdminWritten(existing[0].id)
    if settings.admin_password is None:
        raise ConfigurationError("no admin password given")
    password = settings.admin_password.get_secret_value()
    try:
        check_password_policy(password, email)
    except InputError as exc:
        raise ConfigurationError(f"admin password refused: {exc.message}") from exc
    entity_id, data = admin_entity(AdminAccount(email, PasswordVault().hash(password)))
    result = AdminWritten(entity_id)
    if await ensure_entity(
        config,
        publisher,
        kind=USER_KIND,
        tenant=tenant,
        env=None,
        entity_id=entity_id,
        data=data,
        by="init",
    ):
        result.keys.append(config_key(USER_KIND, tenant, None, entity_id))
    return result


def admin_password(settings: Settings) -> SecretStr:
    """HEADWATER_ADMIN_PASSWORD when set, else asked twice on the terminal."""
    if settings.admin_password is not None:
        password = settings.admin_password.get_secret_value()
    elif sys.stdin.isatty():
        password = getpass.getpass("Admin password: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigurationError("the two passwords differ")
    else:
        raise ConfigurationError(
            "--admin-email needs HEADWATER_ADMIN_PASSWORD or a terminal to ask for the password"
        )
    try:
        check_password_policy(password)
    except InputError as exc:
        raise ConfigurationError(f"admin password refused: {exc.message}") from exc
    return SecretStr(password)
