"""Roles and what each may do: the permission matrix of the private API.

Pure data and one function, so the matrix is tested without a server and documented in
``docs/api.md`` from the same table.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PERMISSIONS", "Permission", "Role", "allowed", "can_grant", "roles_lacking"]


class Role(StrEnum):
    ADMIN = "admin"
    DEVELOPER = "developer"
    MARKETER = "marketer"
    MAINTAINER = "maintainer"


class Permission(StrEnum):
    SELF = "self"  # one's own account: who am I, log out
    CONFIG_READ = "config:read"
    CONFIG_WRITE = "config:write"
    CONFIG_DEPLOY = "config:deploy"
    DATA_READ = "data:read"
    DATA_DELETE = "data:delete"
    USERS_MANAGE = "users:manage"
    KEYS_MANAGE = "keys:manage"
    JOBS_RUN = "jobs:run"  # migrations and replays (admins only)
    DATA_IMPORT = "data:import"  # import jobs: the roles that change a tenant's data


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # builds event sources, mappings and flows, deploys them; reads data to debug them
    Role.DEVELOPER: frozenset(
        {
            Permission.SELF,
            Permission.CONFIG_READ,
            Permission.CONFIG_WRITE,
            Permission.CONFIG_DEPLOY,
            Permission.DATA_READ,
            Permission.DATA_IMPORT,
        }
    ),
    # reads configuration and customer data (segments, dashboards); changes nothing
    Role.MARKETER: frozenset({Permission.SELF, Permission.CONFIG_READ, Permission.DATA_READ}),
    # keeps the system healthy: reads everything, erases data (right to be forgotten),
    # manages machine keys; cannot change configuration or users
    Role.MAINTAINER: frozenset(
        {
            Permission.SELF,
            Permission.CONFIG_READ,
            Permission.DATA_READ,
            Permission.DATA_DELETE,
            Permission.KEYS_MANAGE,
            Permission.DATA_IMPORT,
        }
    ),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def roles_lacking(permission: Permission) -> list[Role]:
    """Roles refused ``permission``; empty for what every role may do."""
    return [role for role in Role if not allowed(role, permission)]


def can_grant(granter: Role, role: Role) -> bool:
    """A user or key may only be given permissions its creator has (no escalation)."""
    return PERMISSIONS[role] <= PERMISSIONS[granter]
