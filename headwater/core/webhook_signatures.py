"""Signed webhooks: checking the HMAC a sender puts on a ``/collect`` request (pure, no I/O).

A source may require a signature (its ``signature`` scheme, and one or more signing
secrets per environment). The sender computes an HMAC of the raw body, with the secret,
and sends it in a header; some senders first prefix the body with a timestamp they also
send, so that an old request cannot be replayed. Presets give the real senders' formats:

- ``stripe``: ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``, the
  HMAC-SHA256 of ``<t>.<body>`` (several ``v1`` while Stripe rolls a secret);
- ``github``: ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the body;
- ``shopify``: ``X-Shopify-Hmac-Sha256: <base64>``, the HMAC-SHA256 of the body;
- ``generic``: a header of your choice (``prefix`` + hex or base64 of the HMAC with
  ``algorithm``) and optionally a timestamp header, signed as ``signed_prefix`` (with
  ``{timestamp}`` filled in) followed by the body.

Comparisons use :func:`hmac.compare_digest`. A timestamp is refused outside
``tolerance_seconds`` either way of now; :class:`ReplayGuard` refuses a signature seen
again while it could still pass (bounded memory, one per process).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from headwater.errors import SignatureRefused

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "HEADER_NAME_PATTERN",
    "PRESETS",
    "ReplayGuard",
    "SignatureScheme",
    "Verified",
    "sign",
    "verify",
]

DEFAULT_TOLERANCE_SECONDS = 300
HEADER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Preset = Literal["stripe", "github", "shopify", "generic"]
Algorithm = Literal["sha256", "sha512", "sha1"]
Encoding = Literal["hex", "base64"]
_TIMESTAMP = "{timestamp}"

# What each named preset fixes; ``generic`` leaves these to the caller.
PRESETS: dict[str, dict[str, Any]] = {
    "stripe": {
        "header": "Stripe-Signature",
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": "",
        "timestamp_header": None,
        "signed_prefix": "{timestamp}.",
    },
    "github": {
        "header": "X-Hub-Signature-256",
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": "sha256=",
        "timestamp_header": None,
        "signed_prefix": "",
    },
    "shopify": {
        "header": "X-Shopify-Hmac-Sha256",
        "algorithm": "sha256",
        "encoding": "base64",
        "prefix": "",
        "timestamp_header": None,
        "signed_prefix": "",
    },
}


class SignatureScheme(BaseModel):
    """How a source's webhooks are signed. A named preset fills (and fixes) the format
    fields; ``generic`` takes them from the caller."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: Preset = "generic"
    header: str = Field(pattern=HEADER_NAME_PATTERN, description="the signature's header")
    algorithm: Algorithm = "sha256"
    encoding: Encoding = "hex"
    prefix: str = Field(default="", max_length=32, description="before the digest, e.g. sha256=")
    timestamp_header: str | None = Field(
        default=None, pattern=HEADER_NAME_PATTERN, description="generic: a signed timestamp"
    )
    signed_prefix: str = Field(
        default="",
        max_length=64,
        description="what the sender signs before the body; {timestamp} is filled in",
    )
    tolerance_seconds: int = Field(
        default=DEFAULT_TOLERANCE_SECONDS,
        ge=1,
        le=24 * 3600,
        description="how far a signed timestamp may be from now; how long a replay is refused",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = data.get("preset", "generic")
        fixed = PRESETS.get(preset) if isinstance(preset, str) else None
        if fixed is None:
            if data.get("timestamp_header") and "signed_prefix" not in data:
                return {**data, "signed_prefix": "{timestamp}."}
            return data
        differing = sorted(k for k, v in fixed.items() if k in data and data[k] != v)
        if differing:
            raise ValueError(
                f"the {preset} preset fixes {', '.join(differing)}; "
                "use the generic preset to choose them"
            )
        return {**data, **fixed}

    @model_validator(mode="after")
    def _timestamp_signed(self) -> SignatureScheme:
        if self.preset != "generic":
            return self
        if self.timestamp_header and _TIMESTAMP not in self.signed_prefix:
            raise ValueError("signed_prefix must hold {timestamp} when timestamp_header is set")
        if not self.timestamp_header and self.signed_prefix:
            raise ValueError("signed_prefix needs a timestamp_header")
        return self

    @property
    def timestamped(self) -> bool:
        """The sender signs a timestamp: an old request is refused whatever this process saw."""
        return self.preset == "stripe" or self.timestamp_header is not None


@dataclass(frozen=True)
class Verified:
    """A signature that matched: ``digest`` is what a replay would repeat, refused until
    ``expires_at`` (unix seconds; after that the timestamp check refuses it, or, without
    a signed timestamp, the replay window has passed)."""

    digest: bytes
    expires_at: float

    def replay_key(self, source: str) -> bytes:
        """A short key naming this signature on ``source`` (16 bytes: bounded memory)."""
        return hashlib.blake2b(source.encode() + b"\0" + self.digest, digest_size=16).digest()


def sign(scheme: SignatureScheme, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender of ``scheme`` sends (for the docs' examples and tests);
    for ``stripe`` the whole ``t=...,v1=...`` value."""
    digest = hmac.new(
        secret.encode(), _signed(scheme, str(timestamp), body), scheme.algorithm
    ).digest()
    if scheme.preset == "stripe":
        return f"t={timestamp},v1={digest.hex()}"
    return scheme.prefix + _encode(scheme.encoding, digest)


def verify(
    scheme: SignatureScheme,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
) -> Verified:
    """The matching signature of ``body`` (raw bytes, as received) under one of
    ``secrets``; :class:`SignatureRefused` (401) with the reason otherwise.
    ``headers`` is looked up by lower-case name (Starlette's headers, or a dict)."""
    field = scheme.header
    if not secrets:
        raise SignatureRefused(
            "the source requires a signature but has no signing secret in this "
            "environment: set one (POST /sources/{id}/signing-secret)",
            field=field,
        )
    stamp, candidates = _read(scheme, headers)
    expires_at = now + scheme.tolerance_seconds
    if stamp is not None:
        when = _seconds(stamp, scheme)
        skew = now - when
        if abs(skew) > scheme.tolerance_seconds:
            side = "old" if skew > 0 else "ahead of this server's clock"
            raise SignatureRefused(
                f"the signed timestamp is {abs(skew):.0f}s {side}, outside the "
                f"{scheme.tolerance_seconds}s tolerance (a replay, or a clock off)",
                field=field,
            )
        expires_at = when + scheme.tolerance_seconds
    signed = _signed(scheme, stamp, body)
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, scheme.algorithm).digest()
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate):
                return Verified(expected, expires_at)
    raise SignatureRefused(
        f"the {field} signature does not match the body (wrong secret, or the body "
        "was changed on the way)",
        field=field,
    )


def _signed(scheme: SignatureScheme, stamp: str | None, body: bytes) -> bytes:
    if not scheme.timestamped:
        return body
    return scheme.signed_prefix.replace(_TIMESTAMP, stamp or "").encode() + body


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name.lower())
    return value.strip() if value is not None and value.strip() else None


def _read(scheme: SignatureScheme, headers: Mapping[str, str]) -> tuple[str | None, list[bytes]]:
    """The signed timestamp (None when the scheme signs none) and the signatures sent."""
    value = _header(headers, scheme.header)
    if value is None:
        raise SignatureRefused(
            f"the source requires a signed request: header {scheme.header} is missing",
            field=scheme.header,
        )
    if scheme.preset == "stripe":
        return _read_stripe(value, scheme.header)
    stamp = None
    if scheme.timestamp_header is not None:
        stamp = _header(headers, scheme.timestamp_header)
        if stamp is None:
            raise SignatureRefused(
                f"header {scheme.timestamp_header} (the signed timestamp) is missing",
                field=scheme.timestamp_header,
            )
    if not value[: len(scheme.prefix)].lower() == scheme.prefix.lower():
        raise SignatureRefused(
            f"header {scheme.header} must start with {scheme.prefix!r}", field=scheme.header
        )
    decoded = _decode(scheme.encoding, value[len(scheme.prefix) :])
    if decoded is None:
        raise SignatureRefused(
            f"header {scheme.header} does not hold a {scheme.encoding} digest", field=scheme.header
        )
    return stamp, [decoded]


def _read_stripe(value: str, header: str) -> tuple[str, list[bytes]]:
    pairs = [part.strip().split("=", 1) for part in value.split(",")]
    stamps = [p[1] for p in pairs if len(p) == 2 and p[0] == "t"]
    signatures = [p[1] for p in pairs if len(p) == 2 and p[0] == "v1"]
    if len(stamps) != 1 or not signatures:
        raise SignatureRefused(
            f"header {header} must hold one t=<timestamp> and v1=<signature> entries",
            field=header,
        )
    decoded = [d for d in (_decode("hex", s) for s in signatures) if d is not None]
    if not decoded:
        raise SignatureRefused(f"header {header} holds no hex v1 signature", field=header)
    return stamps[0], decoded


_DIGITS = re.compile(r"^[0-9]{1,16}$")


def _seconds(stamp: str, scheme: SignatureScheme) -> float:
    """Unix seconds (or milliseconds, from 10^11 on: no sender signs dates in 5138)."""
    if not _DIGITS.match(stamp):
        name = scheme.timestamp_header or f"{scheme.header} t="
        raise SignatureRefused(f"{name} is not a unix timestamp: {stamp[:32]!r}", field=name)
    value = int(stamp)
    return value / 1000 if value >= 10**11 else float(value)


def _encode(encoding: Encoding, digest: bytes) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def _decode(encoding: Encoding, text: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


class ReplayGuard:
    """Signatures that passed, each until it expires; one seen again before then is a
    replay. At most ``capacity`` are kept: past that the one expiring soonest is
    forgotten (counted in ``evicted``), so memory stays bounded under any load.

    Pure: the caller passes the clock (unix seconds). Keys are :meth:`Verified.replay_key`.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._expiry: dict[bytes, float] = {}
        self._heap: list[tuple[float, bytes]] = []
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._expiry)

    def claim(self, key: bytes, expires_at: float, now: float) -> bool:
        """Take ``key`` until ``expires_at``; False when it is already taken (a replay)."""
        self._drop_expired(now)
        if key in self._expiry:
            return False
        while len(self._expiry) >= self._capacity and self._pop_soonest():
            pass
        self._expiry[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        if len(self._heap) > 2 * self._capacity + 64:  # released keys left behind
            self._heap = [(e, k) for k, e in self._expiry.items()]
            heapq.heapify(self._heap)
        return True

    def release(self, key: bytes) -> None:
        """Give ``key`` back (its request was not stored: the sender's retry must pass)."""
        self._expiry.pop(key, None)

    def _drop_expired(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]

    def _pop_soonest(self) -> bool:
        while self._heap:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]
                self.evicted += 1
                return True
        return False
