"""Event-to-profile mapping as the fold applies it: identify events, field update times
by event time, and what never overwrites a value."""

from __future__ import annotations

from headwater.core.profiles import Profile
from tests.unit.core.profile_batches import event, fold, identify, ms

# --- mapping into the profile ---------------------------------------------------------


def test_identify_sets_contact_identifier_and_traits_with_event_time(make_batch):
    traits = {"plan": "pro", "zip": "00-950", "code": "007", "seats": 5, "vip": True}
    profile = fold(
        [
            make_batch(
                [
                    identify(
                        12,
                        email="ada@example.com",
                        phone="+48 600 000 000",
                        customer_id="C-42",
                        traits=traits,
                    )
                ]
            )
        ]
    )

    assert profile.data == {
        "contact": {"email": "ada@example.com", "phone": "+48 600 000 000"},
        "identifier": {"customer_id": "C-42"},
    }
    assert profile.traits == traits
    assert profile.field_times == {
        "data.contact.email": ms(12),
        "data.contact.phone": ms(12),
        "data.identifier.customer_id": ms(12),
        "traits.plan": ms(12),
        "traits.zip": ms(12),
        "traits.code": ms(12),
        "traits.seats": ms(12),
        "traits.vip": ms(12),
    }


def test_string_traits_stay_strings(make_batch):
    traits = {"code": "007", "zip": "01234", "flag": "true", "amount": "12.50", "empty": ""}
    profile = fold([make_batch([identify(0, traits=traits)])])

    assert profile.traits == traits
    assert all(isinstance(v, str) for v in profile.traits.values())
    loaded = Profile.loads(profile.dumps())
    assert loaded.traits == traits
    assert profile.snapshot()["traits"] == traits


def test_non_identity_events_do_not_map(make_batch):
    profile = fold(
        [make_batch([event("purchase", properties={"email": "x@example.com", "traits": {"a": 1}})])]
    )

    assert profile.data == {}
    assert profile.traits == {}
    assert profile.field_times == {}


def test_unchanged_fields_keep_their_first_field_time(make_batch):
    profile = fold(
        [
            make_batch([identify(0, email="ada@example.com")]),
            make_batch([identify(10, email="ada@example.com", phone="+48 1")]),
        ]
    )

    assert profile.field_times == {"data.contact.email": ms(0), "data.contact.phone": ms(10)}


def test_empty_and_null_values_do_not_clear_fields(make_batch):
    profile = fold(
        [
            make_batch([identify(0, email="ada@example.com", phone="+48 1")]),
            make_batch([identify(10, email="", phone=None)]),
        ]
    )

    assert profile.data["contact"] == {"email": "ada@example.com", "phone": "+48 1"}
    assert profile.field_times["data.contact.email"] == ms(0)


def test_an_older_update_arriving_late_does_not_overwrite_a_newer_value(make_batch):
    profile = fold(
        [
            make_batch([identify(30, email="new@example.com")]),
            make_batch([identify(0, email="old@example.com")]),  # late delivery
        ]
    )

    assert profile.data["contact"]["email"] == "new@example.com"
    assert profile.field_times["data.contact.email"] == ms(30)
