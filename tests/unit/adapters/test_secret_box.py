"""The secrets key: sealed values open with it, rotation keeps old records readable,
a short key or none is refused."""

from __future__ import annotations

import pydantic
import pytest

from headwater.adapters.secrets import SecretBox, secret_box
from headwater.errors import SecretsUnavailable
from headwater.settings import load_settings

OLD, NEW = "old-key-0123456789abcdef0123456789", "new-key-0123456789abcdef0123456789"


def test_a_sealed_value_is_not_the_value_and_opens_with_the_key() -> None:
    sealed = SecretBox(OLD).seal("tok-123")
    assert "tok-123" not in sealed
    assert SecretBox(OLD).open(sealed) == "tok-123"
    with pytest.raises(SecretsUnavailable, match="does not open"):
        SecretBox(NEW).open(sealed)


def test_rotation_seals_with_the_first_key_and_opens_with_each() -> None:
    old = SecretBox(OLD).seal("a")
    both = SecretBox(f"{NEW},{OLD}")
    assert both.open(old) == "a"
    assert SecretBox(NEW).open(both.seal("b")) == "b"


def test_settings_refuse_short_keys_and_no_key_refuses_sealing() -> None:
    with pytest.raises(pydantic.ValidationError, match="32 characters"):
        load_settings(secrets_key=f"{NEW},short")
    with pytest.raises(SecretsUnavailable, match="HEADWATER_SECRETS_KEY is not set"):
        secret_box(load_settings(secrets_key=None))
