"""Signed bearer tokens (JWT, HS256): issue, check, and the claims they carry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from headwater.core.access import Role
from headwater.errors import Unauthenticated

__all__ = ["Claims", "IssuedToken", "TokenKind", "TokenSigner"]

TokenKind = Literal["access", "refresh"]
_ALGORITHM = "HS256"
_ISSUER = "headwater"


@dataclass(frozen=True)
class Claims:
    subject: str  # user id
    tenant: str
    role: Role
    kind: TokenKind
    token_id: str  # jti: what revocation names
    expires: datetime
    generation: int = 0  # the user's token generation at issue; a later one revokes it


@dataclass(frozen=True)
class IssuedToken:
    claims: Claims
    token: str = field(repr=False)  # never reaches a log through a repr


class TokenSigner:
    def __init__(self, secret: str, *, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret
        self._ttl: dict[TokenKind, timedelta] = {"access": access_ttl, "refresh": refresh_ttl}

    @property
    def access_seconds(self) -> int:
        return int(self._ttl["access"].total_seconds())

    def issue(
        self,
        *,
        subject: str,
        tenant: str,
        role: Role,
        kind: TokenKind,
        generation: int = 0,
        now: datetime | None = None,
    ) -> IssuedToken:
        now = (now or datetime.now(UTC)).replace(microsecond=0)  # JWT times are whole seconds
        expires = now + self._ttl[kind]
        claims = Claims(subject, tenant, role, kind, uuid.uuid4().hex, expires, generation)
        payload = {
            "iss": _ISSUER,
            "sub": subject,
            "ten": tenant,
            "rol": role.value,
            "typ": kind,
            "jti": claims.token_id,
            "gen": generation,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires.timestamp()),
        }
        return IssuedToken(claims, jwt.encode(payload, self._secret, algorithm=_ALGORITHM))

    def check(self, token: str, kind: TokenKind) -> Claims:
        """The token's claims; Unauthenticated when forged, expired or of another kind."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid token") from exc
        if payload.get("typ") != kind:
            raise Unauthenticated(f"not an {kind} token")
        try:
            role = Role(payload["rol"])
            tenant = str(payload["ten"])
            generation = payload.get("gen", 0)  # tokens from before generations: 0
        except (KeyError, ValueError) as exc:
            raise Unauthenticated("invalid token") from exc
        if not isinstance(generation, int) or isinstance(generation, bool):
            raise Unauthenticated("invalid token")
        expires = datetime.fromtimestamp(int(payload["exp"]), UTC)
        return Claims(
            str(payload["sub"]), tenant, role, kind, str(payload["jti"]), expires, generation
        )
