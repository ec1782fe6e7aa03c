"""Event sources: who may send events, through which channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from headwater.core.sources import key_prefix, new_source_id
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


def test_source_ids_are_random():
    ids = {new_source_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(uuid.UUID(i).version == 4 for i in ids)


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


def test_a_signed_source_takes_signed_webhooks_only(make_source):
    source = make_source(signature={"preset": "github"})
    source.admit("collect")

    for channel in ("track", "segment", "redirect"):
        with pytest.raises(SourceForbidden, match="takes signed webhooks only"):
            source.admit(channel)


def test_signing_secrets_in_their_grace_period_still_pass_newest_first(make_source):
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    source = make_source(
        signature={"preset": "stripe"},
        signing_secrets=[
            {"id": "old", "sealed": "s1", "expires_at": now - timedelta(seconds=1)},
            {"id": "graced", "sealed": "s2", "expires_at": (now + timedelta(hours=1)).isoformat()},
            {"id": "new", "sealed": "s3", "created_at": now.isoformat()},
        ],
    )

    assert [s.id for s in source.live_signing_secrets(now)] == ["new", "graced"]
    assert "s3" not in repr(source)  # sealed values stay out of logs
