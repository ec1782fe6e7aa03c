"""Event sources: who may send events, through which channel."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from headwater.core.sources import default_source_id, default_write_key, key_prefix
from headwater.errors import InputError, SourceForbidden


def test_enabled_source_admits_its_channels(make_source):
    source = make_source()

    for channel in ("track", "collect", "segment", "redirect"):
        source.admit(channel)  # raises if refused

    assert source.channels == frozenset({"track", "collect", "segment", "redirect"})


def test_disabled_source_is_forbidden(make_source):
    source = make_source(enabled=False)

    with pytest.raises(SourceForbidden) as caught:
        source.admit("track")

    assert caught.value.status == 403
    assert caught.value.field == "source.id"
    assert "disabled" in caught.value.message


def test_channel_not_allowed_is_forbidden(make_source):
    source = make_source(channels=frozenset({"collect"}))
    source.admit("collect")

    with pytest.raises(SourceForbidden) as caught:
        source.admit("track")

    assert caught.value.status == 403
    assert "'track'" in caught.value.message
    assert isinstance(caught.value, InputError)


@pytest.mark.parametrize(
    "overrides", [{"tenant": "Acme"}, {"tenant": "ac-me"}, {"env": "dev"}, {"id": ""}]
)
def test_source_refuses_bad_fields(make_source, overrides):
    with pytest.raises(ValidationError):
        make_source(**overrides)


def test_default_source_id_is_stable():
    first = default_source_id("acme", "production")

    assert default_source_id("acme", "production") == first
    # Pinned: init creates this id on every run, so it must never change between releases.
    assert first == "0f66c99c-7798-5922-b4ab-52999994723b"
    assert uuid.UUID(first).version == 5


def test_default_source_id_differs_by_tenant_and_env():
    ids = {
        default_source_id("acme", "production"),
        default_source_id("acme", "staging"),
        default_source_id("globex", "production"),
    }

    assert len(ids) == 3


def test_default_write_key_is_stable_per_tenant_and_environment():
    assert default_write_key("acme", "production") == default_write_key("acme", "production")
    keys = {default_write_key(t, e) for t in ("acme", "zeta") for e in ("production", "staging")}
    assert len(keys) == 4
    assert all(k.startswith("hw_") and len(k) == 35 for k in keys)


def test_revoked_write_keys_do_not_authenticate(make_source):
    source = make_source(
        write_keys=[
            {"key": "live-key-0001"},
            {"key": "old-key-00002", "revoked": True},
            {"key": "live-key-0003", "name": "backend"},
        ]
    )

    assert source.live_keys == ["live-key-0001", "live-key-0003"]


def test_write_key_too_short_to_be_a_secret_is_refused(make_source):
    with pytest.raises(ValidationError):
        make_source(write_keys=[{"key": "short"}])


def test_key_prefix_shows_only_the_start():
    assert key_prefix("hw_0123456789abcdef") == "hw_012..."
