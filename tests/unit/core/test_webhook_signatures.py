"""Signed webhooks: the senders' formats, with their documented examples where they
publish one (GitHub, Slack); expected values are computed here with hmac directly, never
with the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from headwater.core.webhook_signatures import ReplayGuard, SignatureScheme, sign, verify
from headwater.errors import SignatureRefused

STRIPE = SignatureScheme(preset="stripe")
GITHUB = SignatureScheme(preset="github")
SHOPIFY = SignatureScheme(preset="shopify")
NOW = 1_796_000_000.0


def refused(scheme: SignatureScheme, headers: dict[str, str], body: bytes, **kw: object) -> str:
    secrets = kw.get("secrets", ["s3cret-s3cret-s3cret"])
    with pytest.raises(SignatureRefused) as caught:
        verify(scheme, secrets, headers, body, float(kw.get("now", NOW)))  # type: ignore[arg-type]
    assert caught.value.status == 401
    return caught.value.message


def hmac_hex(secret: str, signed: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), signed, algorithm).hexdigest()


# --- GitHub ------------------------------------------------------------------------------


def test_github_documented_example_passes() -> None:
    # docs.github.com, "Validating webhook deliveries", "Testing the webhook payload validation"
    documented = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {"x-hub-signature-256": f"sha256={documented}"}
    verified = verify(GITHUB, ["It's a Secret to Everybody"], headers, b"Hello, World!", NOW)
    assert verified.expires_at == NOW + 300  # no signed time: refused as a replay for 5 min
    assert refused(GITHUB, headers, b"Hello, World?", secrets=["It's a Secret to Everybody"])


def test_github_scheme_is_the_documented_header_and_prefix() -> None:
    assert (GITHUB.header, GITHUB.prefix, GITHUB.encoding) == (
        "X-Hub-Signature-256",
        "sha256=",
        "hex",
    )
    assert not GITHUB.timestamped


def test_a_missing_header_is_refused_naming_it() -> None:
    assert "X-Hub-Signature-256 is missing" in refused(GITHUB, {}, b"{}")
    assert "missing" in refused(GITHUB, {"x-hub-signature-256": "  "}, b"{}")


def test_a_wrong_prefix_or_encoding_is_refused_with_the_reason() -> None:
    digest = hmac_hex("s3cret-s3cret-s3cret", b"{}")
    assert "must start with 'sha256='" in refused(GITHUB, {"x-hub-signature-256": digest}, b"{}")
    bad = {"x-hub-signature-256": "sha256=not-hex"}
    assert "does not hold a hex digest" in refused(GITHUB, bad, b"{}")


def test_legacy_sha1_signatures_through_the_generic_preset() -> None:
    scheme = SignatureScheme(header="X-Hub-Signature", algorithm="sha1", prefix="sha1=")
    body = b'{"zen":"Keep it logically awesome."}'
    headers = {"x-hub-signature": "sha1=" + hmac_hex("legacy-secret-0123", body, "sha1")}
    verify(scheme, ["legacy-secret-0123"], headers, body, NOW)
    assert "does not match" in refused(scheme, headers, body + b" ", secrets=["legacy-secret-0123"])


# --- Stripe ------------------------------------------------------------------------------


def stripe_header(secret: str, t: int, body: bytes, *extra: str) -> str:
    # stripe.com/docs/webhooks "Verify manually": HMAC-SHA256 of "<t>.<payload>", hex, v1
    return ",".join([f"t={t}", *extra, f"v1={hmac_hex(secret, f'{t}.'.encode() + body)}"])


def test_stripe_signature_over_timestamp_and_body_passes() -> None:
    secret, body, t = (
        "whsec_test_0123456789abcdef",
        b'{"id":"evt_1","type":"invoice.paid"}',
        int(NOW),
    )
    header = stripe_header(
        secret, t, body, "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    )
    verified = verify(STRIPE, [secret], {"stripe-signature": header}, body, NOW + 10)
    assert verified.expires_at == t + 300  # refused after that by the timestamp check


def test_stripe_any_v1_may_match_while_a_secret_is_rolled() -> None:
    secret, body, t = "whsec_new_0123456789abcdef", b"{}", int(NOW)
    header = stripe_header(secret, t, body, "v1=" + "00" * 32)
    verify(STRIPE, [secret], {"stripe-signature": header}, body, NOW)


def test_stripe_signed_timestamp_cannot_be_changed() -> None:
    secret, body, t = "whsec_test_0123456789abcdef", b"{}", int(NOW)
    header = stripe_header(secret, t, body).replace(f"t={t}", f"t={t + 1}")
    assert "does not match" in refused(STRIPE, {"stripe-signature": header}, body, secrets=[secret])


def test_stripe_stale_or_future_timestamps_are_refused() -> None:
    secret, body, t = "whsec_test_0123456789abcdef", b"{}", int(NOW)
    headers = {"stripe-signature": stripe_header(secret, t, body)}
    verify(STRIPE, [secret], headers, body, NOW + 300)  # the edge still passes
    old = refused(STRIPE, headers, body, secrets=[secret], now=NOW + 301)
    assert "301s old, outside the 300s tolerance" in old
    ahead = refused(STRIPE, headers, body, secrets=[secret], now=NOW - 301)
    assert "ahead of this server's clock" in ahead
    lenient = SignatureScheme(preset="stripe", tolerance_seconds=600)
    verify(lenient, [secret], headers, body, NOW + 301)


def test_stripe_malformed_headers_are_refused() -> None:
    assert "one t=<timestamp> and v1=" in refused(STRIPE, {"stripe-signature": "v1=abcd"}, b"")
    assert "one t=<timestamp> and v1=" in refused(STRIPE, {"stripe-signature": "t=1,v0=ab"}, b"")
    assert "no hex v1" in refused(STRIPE, {"stripe-signature": "t=1,v1=zz"}, b"")
    assert "not a unix timestamp" in refused(STRIPE, {"stripe-signature": "t=soon,v1=ab"}, b"")


def test_stripe_sign_gives_the_header_stripe_sends() -> None:
    body = b'{"id":"evt_2"}'
    assert sign(STRIPE, "whsec_x_0123456789", body, 1700000000) == stripe_header(
        "whsec_x_0123456789", 1700000000, body
    )


# --- Shopify -----------------------------------------------------------------------------


def test_shopify_base64_signature_passes() -> None:
    # shopify.dev "Verify webhooks": base64 of HMAC-SHA256 of the raw body, app client secret
    secret, body = (
        "shpss_client_secret_0123456789",
        b'{"id":820982911946154508,"email":"jon@example.com"}',
    )
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    verify(SHOPIFY, [secret], {"x-shopify-hmac-sha256": digest}, body, NOW)
    assert "does not match" in refused(
        SHOPIFY, {"x-shopify-hmac-sha256": digest}, body.replace(b"jon", b"eve"), secrets=[secret]
    )
    assert "base64" in refused(SHOPIFY, {"x-shopify-hmac-sha256": "***"}, body, secrets=[secret])


# --- generic -----------------------------------------------------------------------------

SLACK = SignatureScheme(
    header="X-Slack-Signature",
    prefix="v0=",
    timestamp_header="X-Slack-Request-Timestamp",
    signed_prefix="v0:{timestamp}:",
)
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
    b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
    b"0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d1"
    b"0d2c447fce8b6703c"
)


def test_generic_with_timestamp_header_passes_slacks_documented_example() -> None:
    # api.slack.com "Verifying requests from Slack": the example's secret, time and body
    headers = {
        "x-slack-request-timestamp": "1531420618",
        "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    verify(SLACK, [secret], headers, SLACK_BODY, 1531420618 + 60)
    assert "tolerance" in refused(
        SLACK, headers, SLACK_BODY, secrets=[secret], now=1531420618 + 400
    )
    missing = {"x-slack-signature": headers["x-slack-signature"]}
    assert "X-Slack-Request-Timestamp (the signed timestamp) is missing" in refused(
        SLACK, missing, SLACK_BODY, secrets=[secret], now=1531420618
    )


def test_generic_timestamp_in_milliseconds_is_understood() -> None:
    scheme = SignatureScheme(header="X-Sig", timestamp_header="X-Time")
    assert scheme.signed_prefix == "{timestamp}."
    stamp = str(int(NOW * 1000))
    headers = {"x-time": stamp, "x-sig": hmac_hex("k" * 16, f"{stamp}.".encode() + b"{}")}
    verify(scheme, ["k" * 16], headers, b"{}", NOW + 1)


def test_generic_base64_sha512() -> None:
    scheme = SignatureScheme(header="X-Signature", algorithm="sha512", encoding="base64")
    body = b'{"a":1}'
    digest = base64.b64encode(hmac.new(b"k" * 20, body, hashlib.sha512).digest()).decode()
    verify(scheme, ["k" * 20], {"x-signature": digest}, body, NOW)


def test_any_of_the_secrets_may_match_and_none_means_refused() -> None:
    body = b"{}"
    headers = {"x-hub-signature-256": "sha256=" + hmac_hex("old-secret-0123456789", body)}
    verify(GITHUB, ["new-secret-0123456789", "old-secret-0123456789"], headers, body, NOW)
    assert "no signing secret" in refused(GITHUB, headers, body, secrets=[])


# --- the scheme's own rules --------------------------------------------------------------


def test_named_presets_fix_their_format() -> None:
    with pytest.raises(ValidationError, match="the github preset fixes header"):
        SignatureScheme(preset="github", header="X-Other")
    same = SignatureScheme.model_validate(GITHUB.model_dump())  # stored and read back
    assert same == GITHUB
    assert SignatureScheme(preset="shopify", tolerance_seconds=60).tolerance_seconds == 60


def test_generic_needs_a_header_and_a_coherent_timestamp() -> None:
    with pytest.raises(ValidationError):
        SignatureScheme()
    with pytest.raises(ValidationError, match="must hold \\{timestamp\\}"):
        SignatureScheme(header="X-Sig", timestamp_header="X-Time", signed_prefix="v0:")
    with pytest.raises(ValidationError, match="needs a timestamp_header"):
        SignatureScheme(header="X-Sig", signed_prefix="{timestamp}.")
    with pytest.raises(ValidationError):
        SignatureScheme(header="X Sig: injected")
    with pytest.raises(ValidationError):
        SignatureScheme(preset="github", tolerance_seconds=0)


# --- replays -----------------------------------------------------------------------------


def test_a_signature_is_claimed_once_until_it_expires() -> None:
    guard = ReplayGuard(capacity=10)
    assert guard.claim(b"a", expires_at=100.0, now=0.0)
    assert not guard.claim(b"a", expires_at=100.0, now=50.0)  # a replay
    assert guard.claim(b"a", expires_at=200.0, now=100.0)  # expired: the timestamp check refuses
    assert len(guard) == 1


def test_a_released_claim_can_be_taken_again() -> None:
    guard = ReplayGuard(capacity=10)
    assert guard.claim(b"a", 100.0, 0.0)
    guard.release(b"a")  # the request was not stored: the sender's retry must pass
    assert guard.claim(b"a", 100.0, 1.0)
    assert not guard.claim(b"a", 100.0, 2.0)


def test_memory_is_bounded_and_the_soonest_expiring_are_forgotten_first() -> None:
    guard = ReplayGuard(capacity=3)
    for n, expiry in enumerate([300.0, 100.0, 200.0, 400.0]):
        assert guard.claim(bytes([n]), expiry, now=0.0)
    assert len(guard) == 3 and guard.evicted == 1
    assert guard.claim(bytes([1]), 100.0, now=0.0)  # the evicted one (soonest) passes again
    assert not guard.claim(bytes([0]), 300.0, now=0.0)
    assert not guard.claim(bytes([3]), 400.0, now=0.0)
    for _ in range(1000):  # released keys never grow the heap without bound
        guard.claim(b"x", 500.0, 0.0)
        guard.release(b"x")
    assert len(guard._heap) <= 2 * 3 + 64


def test_replay_keys_are_per_source() -> None:
    verified = verify(
        GITHUB,
        ["It's a Secret to Everybody"],
        {"x-hub-signature-256": "sha256=" + hmac_hex("It's a Secret to Everybody", b"x")},
        b"x",
        NOW,
    )
    assert verified.replay_key("a") != verified.replay_key("b")
    assert len(verified.replay_key("a")) == 16
