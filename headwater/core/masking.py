"""Credentials inside configuration, masked for reading and kept on saving back.

Flows may carry credentials for the services they call: an ``Authorization`` or
``*-Token`` header, ``user:password@`` in a URL, ``?api_key=`` in its query. Every read
of a flow shows them masked, whatever the reader's role. An editor that saves back
what it read sends the masks: :func:`restore_masked` puts the stored value back where
the mask still stands at the same place, so saving never loses a credential (a new
value replaces it as usual). A configuration whose ``url`` now names another scheme or
host gets no stored credential back: a writer can't send one elsewhere by editing the
URL next to it. A value that only names stored secrets (``Bearer {{secret.crm}}``, see
``core/secrets.py``) holds no credential and is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from headwater.core.secrets import only_references

__all__ = ["MASK", "mask_secrets", "restore_masked"]

MASK = "********"

# A header whose name has one of these parts carries a credential.
_SECRET_HEADER = re.compile(
    r"authorization|cookie|token|key|secret|passw|signature|credential|auth", re.I
)
# A configuration field or query parameter with one of these names does too. Narrower
# than for headers: "key" alone is a Kafka record key, "routing_key" an AMQP route.
_SECRET_FIELD = re.compile(
    r"^(.*[_-])?(password|passwd|secret|token|api[_-]?key|access[_-]?key|authorization|"
    r"credentials?|signature|sig)$",
    re.I,
)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/?#@\s]*)@")
_QUERY_PARAM = re.compile(r"(?P<lead>[?&])(?P<name>[^=&#\s]+)=(?P<value>[^&#\s]*)")


def _mask_userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match["user"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK  # a user without a password is a token
    return f"{match['scheme']}{shown}@"


def _mask_param(match: re.Match[str]) -> str:
    if not _SECRET_FIELD.match(match["name"]) or not match["value"]:
        return match[0]
    if only_references(match["value"]):
        return match[0]
    return f"{match['lead']}{match['name']}={MASK}"


def _mask_text(text: str) -> str:
    if "://" not in text and "?" not in text:
        return text
    return _QUERY_PARAM.sub(_mask_param, _USERINFO.sub(_mask_userinfo, text))


def _mask_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: MASK
        if _SECRET_HEADER.search(str(name)) and _credential(value)
        else mask_secrets(value)
        for name, value in headers.items()
    }


def _credential(value: Any) -> bool:
    """A non-empty string that is not only ``{{secret.NAME}}`` references (those name a
    stored secret, whose value is never shown: they are shown as they are)."""
    return isinstance(value, str) and bool(value) and not only_references(value)


def mask_secrets(value: Any) -> Any:
    """``value`` (a JSON-like configuration) with every credential it carries masked."""
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    if isinstance(value, Mapping):
        masked: dict[str, Any] = {}
        for name, item in value.items():
            if str(name).lower() == "headers" and isinstance(item, Mapping):
                masked[name] = _mask_headers(item)
            elif _SECRET_FIELD.match(str(name)) and _credential(item):
                masked[name] = MASK
            else:
                masked[name] = mask_secrets(item)
        return masked
    return value


def restore_masked(new: Any, stored: Any) -> Any:
    """``new`` with each value that equals the masked form of the stored value at the same
    place (list items of objects with an ``id`` are matched by id) replaced by the stored
    value."""
    return _restore(new, mask_secrets(stored), stored)


def _restore(new: Any, masked: Any, stored: Any) -> Any:
    if isinstance(new, str):
        return stored if MASK in new and new == masked and isinstance(stored, str) else new
    if isinstance(new, Mapping) and isinstance(stored, Mapping) and isinstance(masked, Mapping):
        if _origin(new.get("url")) != _origin(stored.get("url")):
            return dict(new)  # a credential never follows its call to another host
        return {
            name: _restore(item, masked.get(name), stored.get(name)) if name in stored else item
            for name, item in new.items()
        }
    if isinstance(new, list) and isinstance(stored, list) and isinstance(masked, list):
        by_id = _by_id(stored)
        if by_id is not None and _by_id(new) is not None:
            masked_by_id = _by_id(masked) or {}
            return [
                _restore(item, masked_by_id.get(item["id"]), by_id.get(item["id"])) for item in new
            ]
        return [
            _restore(item, masked[i], stored[i]) if i < len(stored) else item
            for i, item in enumerate(new)
        ]
    return new


_ORIGIN = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://(?:[^/?#@\s]*@)?([^/?#\s]*)")


def _origin(url: Any) -> tuple[str, str] | None:
    """Scheme and host[:port] of a URL (its userinfo left out), lowercased."""
    match = _ORIGIN.match(url) if isinstance(url, str) else None
    return (match[1].lower(), match[2].lower()) if match else None


def _by_id(items: list[Any]) -> dict[Any, Any] | None:
    """The items by their ``id`` when every item is an object with a distinct one."""
    if not all(isinstance(i, Mapping) and isinstance(i.get("id"), str) for i in items):
        return None
    found = {i["id"]: i for i in items}
    return found if len(found) == len(items) else None
