"""Signed webhooks at the collector: open a source's signing secrets, check the request
with ``core/webhook_signatures.py``, refuse replays this process has seen.

The replay guard is per process: see docs/operations.md ("Signed webhooks") for what
that guarantees with several collectors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

from headwater.adapters.secrets import SecretBox, secret_box
from headwater.core.sources import EventSource
from headwater.core.webhook_signatures import ReplayGuard, verify
from headwater.errors import SignatureRefused
from headwater.settings import Settings

__all__ = ["WebhookSignatures"]

_OPENED_MAX = 10_000  # opened secrets kept (one Fernet decryption saved per request)


class WebhookSignatures:
    """Checks the requests of sources that require a signature."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._box: SecretBox | None = None
        self._opened: dict[str, str] = {}
        self.guard = ReplayGuard(settings.webhook_replay_entries)

    def check(
        self, source: EventSource, method: str, headers: Mapping[str, str], body: bytes
    ) -> bytes | None:
        """None for a source without a signature; else the replay key this request
        claimed (give it back with :meth:`release` if the event is not stored).
        SignatureRefused (401) for a missing, wrong, stale or replayed signature;
        SecretsUnavailable (503) when this process cannot open the secret."""
        scheme = source.signature
        if scheme is None:
            return None
        if method != "POST":
            raise SignatureRefused(
                f"event source {source.id} takes signed webhooks: POST the signed body "
                "(a query string is not signed)",
                field=scheme.header,
            )
        now = time.time()
        live = source.live_signing_secrets(datetime.fromtimestamp(now, UTC))
        verified = verify(scheme, [self._open(s.sealed) for s in live], headers, body, now)
        key = verified.replay_key(f"{source.tenant}/{source.env}/{source.id}")
        if not self.guard.claim(key, verified.expires_at, now):
            raise SignatureRefused(
                "this signed request was received before (a replay); the sender must "
                "sign each delivery anew",
                field=scheme.header,
            )
        return key

    def release(self, key: bytes) -> None:
        self.guard.release(key)

    def _open(self, sealed: str) -> str:
        value = self._opened.get(sealed)
        if value is None:
            self._box = self._box or secret_box(self._settings)
            value = self._box.open(sealed)
            if len(self._opened) >= _OPENED_MAX:
                self._opened.clear()
            self._opened[sealed] = value
        return value
