"""Users and API keys: ids, password policy, key format and digests."""

from __future__ import annotations

import pytest

from headwater.core.access import Role
from headwater.core.accounts import (
    ApiKeyRecord,
    UserRecord,
    check_password_policy,
    format_api_key,
    key_digest,
    keys_match,
    new_user_id,
    normalise_email,
    split_api_key,
    with_token_generation,
)
from headwater.errors import InvalidInput


def test_email_is_trimmed_and_lowercased() -> None:
    assert normalise_email("  Ada@Example.COM ") == "ada@example.com"


@pytest.mark.parametrize("bad", ["", "ada", "ada@", "@example.com", "a b@example.com"])
def test_not_an_email(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_email(bad)


def test_user_ids_are_new_for_every_creation() -> None:
    assert len({new_user_id() for _ in range(100)}) == 100


_USER = {"email": "a@example.com", "role": "admin", "password_hash": "h1", "disabled": False}


@pytest.mark.parametrize(
    "change", [{"password_hash": "h2"}, {"role": "marketer"}, {"disabled": True}]
)
def test_a_change_of_what_tokens_stand_for_moves_the_generation_on(
    change: dict[str, object],
) -> None:
    before = {**_USER, "token_generation": 3}
    assert with_token_generation(before, {**before, **change})["token_generation"] == 4


def test_other_changes_keep_the_generation() -> None:
    before = {k: v for k, v in _USER.items() if k != "disabled"}  # stored without "disabled"
    after = with_token_generation(before, {**before, "disabled": False})
    assert after["token_generation"] == 0


@pytest.mark.parametrize("password", ["short", "x" * 11, "x" * 1025])
def test_password_policy_refuses(password: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_password_policy(password)
    assert caught.value.field == "password"


def test_password_may_not_be_the_email() -> None:
    with pytest.raises(InvalidInput):
        check_password_policy("ada.lovelace@example.com", "Ada.Lovelace@example.com")
    check_password_policy("correct horse battery staple", "ada@example.com")


def test_api_key_round_trip() -> None:
    key = format_api_key("acme", "0a1b2c", "s3cr-et_")
    assert split_api_key(key) == ("acme", "0a1b2c", "s3cr-et_")


@pytest.mark.parametrize("bad", ["", "hwk.", "hwk.acme.id", "hwk.acme..secret", "Bearer x"])
def test_api_key_of_another_form(bad: str) -> None:
    assert split_api_key(bad) is None


def test_key_digest_matches_only_its_secret() -> None:
    digest = key_digest("secret-one")
    assert keys_match("secret-one", digest)
    assert not keys_match("secret-two", digest)
    assert "secret-one" not in digest


def test_secrets_stay_out_of_reprs() -> None:
    user = UserRecord(email="a@example.com", role=Role.ADMIN, password_hash="$argon2id$hash")
    key = ApiKeyRecord(name="etl", role=Role.MARKETER, digest="abc123digest")
    assert "argon2id" not in repr(user)
    assert "abc123digest" not in repr(key)
