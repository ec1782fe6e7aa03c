"""Bearer tokens: signed, expiring, typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.console.tokens import TokenSigner
from headwater.core.access import Role
from headwater.errors import Unauthenticated

SECRET = "unit-test-secret-0123456789abcdef-0123"


def signer(secret: str = SECRET) -> TokenSigner:
    return TokenSigner(secret, access_ttl=timedelta(minutes=15), refresh_ttl=timedelta(days=1))


def test_issued_token_checks_back_to_its_claims() -> None:
    issued = signer().issue(subject="u1", tenant="acme", role=Role.MARKETER, kind="access")
    claims = signer().check(issued.token, "access")
    assert claims == issued.claims
    assert claims.role is Role.MARKETER and claims.tenant == "acme"


def test_expired_token_is_refused() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    issued = signer().issue(subject="u1", tenant="acme", role=Role.ADMIN, kind="access", now=past)
    with pytest.raises(Unauthenticated, match="expired"):
        signer().check(issued.token, "access")


def test_token_of_another_kind_or_secret_is_refused() -> None:
    refresh = signer().issue(subject="u1", tenant="acme", role=Role.ADMIN, kind="refresh")
    with pytest.raises(Unauthenticated):
        signer().check(refresh.token, "access")
    with pytest.raises(Unauthenticated):
        signer("another-secret-0123456789abcdef-0123").check(refresh.token, "refresh")


def test_token_ids_differ_and_token_stays_out_of_repr() -> None:
    one = signer().issue(subject="u1", tenant="acme", role=Role.ADMIN, kind="access")
    two = signer().issue(subject="u1", tenant="acme", role=Role.ADMIN, kind="access")
    assert one.claims.token_id != two.claims.token_id
    assert one.token not in repr(one)


def test_the_token_generation_travels_in_the_token() -> None:
    issued = signer().issue(
        subject="u1", tenant="acme", role=Role.ADMIN, kind="access", generation=7
    )
    assert signer().check(issued.token, "access").generation == 7
