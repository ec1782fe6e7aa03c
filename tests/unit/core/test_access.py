"""The permission matrix: what each role may do."""

from __future__ import annotations

import pytest

from headwater.core.access import PERMISSIONS, Permission, Role, allowed, can_grant, roles_lacking


def test_admin_may_do_everything() -> None:
    assert all(allowed(Role.ADMIN, p) for p in Permission)


@pytest.mark.parametrize(
    ("role", "permission", "expected"),
    [
        (Role.DEVELOPER, Permission.CONFIG_WRITE, True),
        (Role.DEVELOPER, Permission.CONFIG_DEPLOY, True),
        (Role.DEVELOPER, Permission.USERS_MANAGE, False),
        (Role.DEVELOPER, Permission.DATA_DELETE, False),
        (Role.MARKETER, Permission.DATA_READ, True),
        (Role.MARKETER, Permission.CONFIG_WRITE, False),
        (Role.MARKETER, Permission.KEYS_MANAGE, False),
        (Role.MAINTAINER, Permission.DATA_DELETE, True),
        (Role.MAINTAINER, Permission.KEYS_MANAGE, True),
        (Role.MAINTAINER, Permission.CONFIG_WRITE, False),
        (Role.MAINTAINER, Permission.USERS_MANAGE, False),
    ],
)
def test_matrix(role: Role, permission: Permission, expected: bool) -> None:
    assert allowed(role, permission) is expected


def test_only_admins_manage_users() -> None:
    assert roles_lacking(Permission.USERS_MANAGE) == [
        Role.DEVELOPER,
        Role.MARKETER,
        Role.MAINTAINER,
    ]


def test_every_role_has_its_own_account() -> None:
    assert roles_lacking(Permission.SELF) == []
    assert all(Permission.SELF in granted for granted in PERMISSIONS.values())


def test_nobody_grants_more_than_they_have() -> None:
    assert can_grant(Role.ADMIN, Role.MAINTAINER)
    assert can_grant(Role.MAINTAINER, Role.MAINTAINER)
    assert can_grant(Role.MAINTAINER, Role.MARKETER)
    assert not can_grant(Role.MAINTAINER, Role.ADMIN)
    assert not can_grant(Role.MAINTAINER, Role.DEVELOPER)  # developers may write config
    assert not can_grant(Role.MARKETER, Role.DEVELOPER)
