"""Merge keys, guards and the survivor rule (core/identity.py)."""

from __future__ import annotations

import itertools

import pytest

from headwater.core.identity import (
    Claim,
    MergeSettings,
    Owner,
    claims_of,
    decide,
    normalise,
)

SETTINGS = MergeSettings()


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Ann@Example.COM ", "ann@example.com"),
        ("email", "not-an-email", None),
        ("email", "@example.com", None),
        ("phone", "+49 (151) 234-5678", "+491512345678"),
        ("phone", "0049 1512345678", "+491512345678"),
        ("phone", "0", None),
        ("id", " C-42 ", "C-42"),
        ("text", "  Some   Name ", "some name"),
        ("email", None, None),
        ("id", True, None),
        ("id", {"a": 1}, None),
    ],
)
def test_normal_forms(kind, raw, expected):
    assert normalise(kind, raw) == expected


def doc(**data):
    return {"data": {"contact": {}, "identifier": {}, **data}}


def test_equal_values_in_any_form_give_one_identifier():
    one = claims_of("acme", doc(contact={"email": "Ann@Example.com"}), SETTINGS)
    two = claims_of("acme", doc(contact={"email": " ann@example.com"}), SETTINGS)

    assert list(one) == list(two)
    assert next(iter(one)).startswith("email:")
    assert "ann" not in next(iter(one))  # hashed, never the value


def test_identifiers_differ_between_tenants():
    mine = claims_of("acme", doc(contact={"email": "a@b.co"}), SETTINGS)
    theirs = claims_of("globex", doc(contact={"email": "a@b.co"}), SETTINGS)

    assert set(mine).isdisjoint(theirs)


@pytest.mark.parametrize("value", ["undefined", "null", "anonymous", "0", "-1", "", "  "])
def test_blocked_values_are_never_claimed(value):
    assert claims_of("acme", doc(identifier={"customer_id": value}), SETTINGS) == {}


def test_configured_keys_and_blocked_values():
    settings = MergeSettings.from_config(
        {
            "keys": [{"name": "crm", "path": "traits.crm_id", "unique": True, "kind": "id"}],
            "blocked": ["X-0"],
            "max_merges": 3,
        }
    )

    assert claims_of("acme", {"traits": {"crm_id": "X-0"}}, settings) == {}
    found = claims_of("acme", {"traits": {"crm_id": "X-1"}}, settings)
    assert [key.unique for key in found.values()] == [True]
    assert settings.max_merges == 3


def owner(pid, first_seen, unique=None, merges=0):
    return Owner(pid, first_seen, unique or {}, merges)


def test_first_claim_owns_and_the_same_profile_keeps():
    first = decide(None, Claim("email:1", owner("p", 5)), SETTINGS)
    again = decide(first.owner, Claim("email:1", owner("p", 5)), SETTINGS)

    assert (first.action, again.action) == ("own", "keep")


def test_the_older_profile_survives_whichever_claims_first():
    old, new = owner("new-id", 100), owner("old-id", 50)
    for current, claimant in ((old, new), (new, old)):
        decision = decide(current, Claim("email:1", claimant), SETTINGS)
        assert decision.action == "merge"
        assert decision.owner.profile_id == "old-id"
        assert decision.absorbed is not None and decision.absorbed.profile_id == "new-id"
        assert decision.owner.merges == 1


def test_an_identified_profile_survives_an_older_anonymous_one():
    anonymous = owner("a", 1)
    identified = owner("b", 99, {"customer_id": "customer_id:1"})

    decision = decide(anonymous, Claim("email:1", identified), SETTINGS)

    assert decision.owner.profile_id == "b"
    assert decision.owner.unique == {"customer_id": "customer_id:1"}


def test_ties_are_broken_by_profile_id_in_any_order():
    a, b = owner("a", 7), owner("b", 7)
    winners = {
        decide(x, Claim("email:1", y), SETTINGS).owner.profile_id
        for x, y in itertools.permutations((a, b))
    }
    assert winners == {"a"}


def test_different_unique_keys_are_never_merged():
    one = owner("p1", 1, {"customer_id": "customer_id:1"})
    two = owner("p2", 2, {"customer_id": "customer_id:2"})

    decision = decide(one, Claim("email:1", two), SETTINGS)

    assert decision.action == "refuse"
    assert "customer_id" in decision.reason
    assert decision.owner == one


def test_the_merge_cap_refuses():
    settings = MergeSettings(max_merges=2)
    decision = decide(
        owner("p1", 1, merges=1), Claim("email:1", owner("p2", 2, merges=1)), settings
    )

    assert decision.action == "refuse"
    assert "cap" in decision.reason


def test_a_claim_of_an_owner_already_absorbed_transfers():
    decision = decide(
        owner("gone", 1), Claim("email:1", owner("survivor", 2), frozenset({"gone"})), SETTINGS
    )

    assert decision.action == "transfer"
    assert decision.owner.profile_id == "survivor"


def test_a_lookup_hashes_a_value_as_the_profile_claims_it():
    from headwater.core.identity import lookup_identifier

    settings = MergeSettings()
    document = {"data": {"contact": {"email": " Ann@Example.com", "phone": "0048 600-100-200"}}}
    claimed = set(claims_of("acme", document, settings))

    assert lookup_identifier("acme", "email:ann@example.COM", settings) in claimed
    assert lookup_identifier("acme", "phone:+48600100200", settings) in claimed
    assert lookup_identifier("zeta", "email:ann@example.com", settings) not in claimed
    with pytest.raises(ValueError, match="no merge key fax"):
        lookup_identifier("acme", "fax:1", settings)
