"""Tenant ids and the index and alias names made from them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from headwater.core.tenancy import (
    Tenant,
    check_tenant_id,
    events_alias,
    events_index,
    events_index_pattern,
    key_owner,
    profile_key,
)
from headwater.errors import InvalidInput


def test_events_alias():
    assert events_alias("hw", "acme", "production") == "hw-acme-production-events"


def test_events_index_pattern():
    assert events_index_pattern("hw", "acme", "staging") == "hw-acme-staging-events-*"


@pytest.mark.parametrize(
    ("received", "name"),
    [
        (datetime(2026, 11, 28, 14, 3, tzinfo=UTC), "hw-acme-production-events-2026.11"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "hw-acme-production-events-2027.01"),
        (
            datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
            "hw-acme-production-events-2026.12",
        ),
    ],
)
def test_events_index_is_monthly(received, name):
    assert events_index("hw", "acme", "production", received) == name


def test_events_index_matches_its_pattern():
    index = events_index("hw", "acme", "production", datetime(2026, 3, 1, tzinfo=UTC))
    pattern = events_index_pattern("hw", "acme", "production")

    assert index.startswith(pattern.removesuffix("*"))
    assert index.startswith(events_alias("hw", "acme", "production") + "-")


@pytest.mark.parametrize("tenant", ["acme", "a", "acme_eu_2", "0day", "a" * 32])
def test_check_tenant_id_accepts(tenant):
    assert check_tenant_id(tenant) == tenant


@pytest.mark.parametrize(
    "tenant", ["acme-eu", "Acme", "ACME", "", "_acme", "acme eu", "a" * 33, "acmé", "acme.eu"]
)
def test_check_tenant_id_refuses(tenant):
    with pytest.raises(InvalidInput) as caught:
        check_tenant_id(tenant)

    assert caught.value.status == 422
    assert caught.value.field == "tenant"


def test_check_tenant_id_refuses_trailing_newline():
    with pytest.raises(InvalidInput):
        check_tenant_id("acme\n")


@pytest.mark.parametrize("tenant", ["acme-eu", "Acme", "acme\n"])
def test_tenant_model_refuses_bad_ids(tenant):
    with pytest.raises(ValidationError):
        Tenant(id=tenant, name="Acme")


def test_tenant_is_frozen_and_active_by_default():
    tenant = Tenant(id="acme", name="Acme")

    assert tenant.status == "active"
    with pytest.raises(ValidationError):
        tenant.status = "suspended"


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        (profile_key("acme", "production", "p-1:x"), ("acme", "production")),
        (b"acme/staging:email:0123", ("acme", "staging")),
        (b"acme:production", None),  # no profile part: not a profile key
        (b"acme:prod:p-1", None),  # no such environment
        (b"Acme:production:p-1", None),  # not a tenant id
        (b"acme/production", None),
        (b"\xff\xfe:production:p", None),
        (b"", None),
        (None, None),
    ],
)
def test_key_owner_names_a_tenant_only_from_a_well_formed_key(
    key: bytes | None, owner: tuple[str, str] | None
) -> None:
    assert key_owner(key) == owner
