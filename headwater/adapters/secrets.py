"""Stored secrets: encrypted for the config topic (the API) and opened right before a
request is sent (the destinations stage). Nothing else ever sees a value.

The key is ``HEADWATER_SECRETS_KEY``: one or more comma-separated strings of 32+
characters, each stretched with SHA-256 into a Fernet key (AES-128-CBC + HMAC-SHA256).
The first encrypts; each decrypts, so a new key can be put first while records sealed
with the old one are still read. Without a key nothing is sealed or opened
(:class:`SecretsUnavailable`): values are never stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import replace

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from headwater.core.automation import FLOW_KIND
from headwater.core.config import config_key
from headwater.core.flows.state import OutboundRequest
from headwater.core.secrets import SECRET_KIND, fill_secrets, secret_names
from headwater.errors import DeliveryFailed, SecretsUnavailable
from headwater.observability.redaction import register_secret
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog

__all__ = ["SecretBox", "StoredSecrets", "secret_box"]

_UNSET = (
    "HEADWATER_SECRETS_KEY is not set: stored secrets can be neither written nor used "
    "(`headwater up` makes one; else set 32+ random characters)"
)


class SecretBox:
    """Seals and opens secret values with the configured key(s)."""

    def __init__(self, keys: str) -> None:
        fernets = [Fernet(_fernet_key(k.strip())) for k in keys.split(",") if k.strip()]
        if not fernets:
            raise SecretsUnavailable(_UNSET)
        self._fernet = MultiFernet(fernets)

    # every value sealed or opened here is a secret: no later log line of the process
    # shows it (observability/redaction.py)

    def seal(self, value: str) -> str:
        register_secret(value)
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            value = self._fernet.decrypt(sealed.encode("ascii")).decode()
            register_secret(value)
            return value
        except (InvalidToken, UnicodeError) as exc:
            raise SecretsUnavailable(
                "a stored secret does not open with HEADWATER_SECRETS_KEY (was the key changed?)"
            ) from exc


def _fernet_key(text: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())


def secret_box(settings: Settings) -> SecretBox:
    """The box for ``settings``; SecretsUnavailable (503 at the API) without a key."""
    if settings.secrets_key is None:
        raise SecretsUnavailable(_UNSET)
    return SecretBox(settings.secrets_key.get_secret_value())


class StoredSecrets:
    """Fills a request's ``{{secret.NAME}}`` placeholders from the config log the
    destinations stage follows, for the request's tenant and environment. Only the
    secrets its flow node names in its saved configuration are filled: a placeholder
    that came in with event data cannot name another one."""

    def __init__(self, settings: Settings, config: ConfigLog) -> None:
        self._settings = settings
        self._config = config

    def __call__(
        self, tenant: str, env: str, request: OutboundRequest
    ) -> tuple[OutboundRequest, Mapping[str, str]]:
        """The request with its secrets in, and their values (to keep them out of error
        texts); DeliveryFailed (for good) when one is not set, not named by the node, or
        cannot be opened. The request as it is when it names none."""
        names = secret_names([request.target, request.body])
        if not names:
            return request, {}
        values = self.values(tenant, env, request, names)
        filled = replace(
            request,
            target=fill_secrets(request.target, values),
            body=fill_secrets(request.body, values),
        )
        return filled, values

    def values(
        self, tenant: str, env: str, request: OutboundRequest, names: set[str]
    ) -> Mapping[str, str]:
        named = self._node_names(tenant, env, request)
        values: dict[str, str] = {}
        box: SecretBox | None = None
        for name in sorted(names):
            if name not in named:
                raise DeliveryFailed(
                    f"secret {name} is not named by flow {request.flow_id} node "
                    f"{request.node_id} in {env}",
                    retryable=False,
                )
            entry = self._config.get(config_key(SECRET_KIND, tenant, env, name))
            if entry is None:
                raise DeliveryFailed(f"secret {name} is not set in {env}", retryable=False)
            try:
                box = box or secret_box(self._settings)
                values[name] = box.open(str(entry.data["sealed"]))
            except (SecretsUnavailable, KeyError) as exc:
                raise DeliveryFailed(f"secret {name}: {exc}", retryable=False) from exc
        return values

    def _node_names(self, tenant: str, env: str, request: OutboundRequest) -> set[str]:
        flow = self._config.get(config_key(FLOW_KIND, tenant, env, request.flow_id))
        if flow is None:
            return set()
        nodes = flow.data.get("nodes") or []
        found = [n for n in nodes if isinstance(n, dict) and n.get("id") == request.node_id]
        return secret_names([n.get("config") for n in found])
