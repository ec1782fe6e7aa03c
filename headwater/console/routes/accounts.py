"""``/users`` and ``/api-keys`` of the caller's tenant."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends

from headwater.console.auth import Scope, require
from headwater.console.models import ApiKeyCreated, ApiKeyIn, ApiKeyOut, UserIn, UserOut, UserPatch
from headwater.core.access import Permission, Role, can_grant
from headwater.core.accounts import (
    API_KEY_KIND,
    USER_KIND,
    check_password_policy,
    format_api_key,
    key_digest,
    new_user_id,
    normalise_email,
    users_with_email,
    with_token_generation,
)
from headwater.errors import Conflict, Forbidden

__all__ = ["router"]

router = APIRouter(tags=["users"])
Users = Annotated[Scope, Depends(require(Permission.USERS_MANAGE))]
Keys = Annotated[Scope, Depends(require(Permission.KEYS_MANAGE))]


def _may_grant(scope: Scope, role: Role) -> None:
    if not can_grant(scope.principal.role, role):
        raise Forbidden(f"role {scope.principal.role} cannot grant role {role}")


@router.get("/users", response_model=list[UserOut])
async def list_users(scope: Users) -> list[UserOut]:
    return [UserOut.of(e) for e in scope.config.list(USER_KIND, None)]


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(scope: Users, body: UserIn) -> UserOut:
    _may_grant(scope, body.role)
    email = normalise_email(body.email)
    password = body.password.get_secret_value()
    check_password_policy(password, email)
    if users_with_email(scope.config.list(USER_KIND, None), email):
        raise Conflict(f"a user with email {email} exists")
    data = {
        "email": email,
        "role": body.role.value,
        "password_hash": await scope.runtime.passwords.hash_async(password),
        "disabled": False,
    }
    return UserOut.of(await scope.config.put(USER_KIND, None, new_user_id(), data))


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(scope: Users, user_id: str) -> UserOut:
    return UserOut.of(scope.config.get(USER_KIND, None, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
async def change_user(scope: Users, user_id: str, body: UserPatch) -> UserOut:
    current = scope.config.get(USER_KIND, None, user_id)
    if user_id == scope.principal.subject and (body.role or body.disabled):
        raise Conflict("you cannot change your own role or disable yourself")
    data = dict(current.data)
    if body.role is not None:
        _may_grant(scope, body.role)
        data["role"] = body.role.value
    if body.disabled is not None:
        data["disabled"] = body.disabled
    if body.password is not None:
        password = body.password.get_secret_value()
        check_password_policy(password, data["email"])
        data["password_hash"] = await scope.runtime.passwords.hash_async(password)
    # a new password, role or status revokes every token the user holds
    data = with_token_generation(current.data, data)
    return UserOut.of(
        await scope.config.put(USER_KIND, None, user_id, data, expected_version=current.version)
    )


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(scope: Users, user_id: str) -> None:
    if user_id == scope.principal.subject:
        raise Conflict("you cannot delete your own account")
    await scope.config.delete(USER_KIND, None, user_id)


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_keys(scope: Keys) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(e) for e in scope.config.list(API_KEY_KIND, None)]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201)
async def create_key(scope: Keys, body: ApiKeyIn) -> ApiKeyCreated:
    _may_grant(scope, body.role)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    data = {"name": body.name, "role": body.role.value, "digest": key_digest(secret)}
    entry = await scope.config.put(API_KEY_KIND, None, key_id, data)
    return ApiKeyCreated(
        **ApiKeyOut.of(entry).model_dump(), key=format_api_key(scope.tenant, key_id, secret)
    )


@router.delete("/api-keys/{key_id}", status_code=204)
async def delete_key(scope: Keys, key_id: str) -> None:
    await scope.config.delete(API_KEY_KIND, None, key_id)
