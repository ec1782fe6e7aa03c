"""Identity resolution rules (pure): merge keys, their normal form and hashes, guards,
and who survives when two profiles claim one identifier.

A *merge key* names a profile field whose value identifies a person (email, phone,
customer id, or a configured custom field). Values are normalised, checked against the
blocked list and hashed before they leave the profile agent; the hash, prefixed with the
key name (``email:3f9a...``), is the *identifier* a profile claims. The identity agent
keeps ``identifier -> owner`` and asks :func:`decide` what a claim means.

Survivor rule, deterministic whatever order the claims arrive in:

1. an identified profile (one with a value of a unique key, e.g. a customer id)
   survives an anonymous one;
2. then the profile seen first (event time of its first event);
3. then the smaller profile id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from headwater.core.mapping import get_path, is_missing

__all__ = [
    "DEFAULT_BLOCKED",
    "DEFAULT_MERGE_KEYS",
    "MERGE_SETTINGS_KIND",
    "Claim",
    "Decision",
    "MergeKey",
    "MergeSettings",
    "Owner",
    "claims_of",
    "decide",
    "identifier",
    "lookup_identifier",
    "normalise",
]

MERGE_SETTINGS_KIND = "merge-settings"  # config entries (per tenant and env) of this kind

DEFAULT_BLOCKED = frozenset(
    {"", "null", "none", "undefined", "nan", "anonymous", "unknown", "n/a", "na", "0", "-1"}
)


@dataclass(frozen=True)
class MergeKey:
    name: str  # email, phone, customer_id, or a custom name
    path: str  # where the profile keeps the value: data.contact.email, traits.crm_id ...
    unique: bool = False  # two different values mean two different people: never merged
    kind: Literal["email", "phone", "id", "text"] = "text"


DEFAULT_MERGE_KEYS: tuple[MergeKey, ...] = (
    MergeKey("email", "data.contact.email", kind="email"),
    MergeKey("phone", "data.contact.phone", kind="phone"),
    MergeKey("customer_id", "data.identifier.customer_id", unique=True, kind="id"),
)


@dataclass(frozen=True)
class MergeSettings:
    keys: tuple[MergeKey, ...] = DEFAULT_MERGE_KEYS
    blocked: frozenset[str] = DEFAULT_BLOCKED
    max_merges: int = 50  # a profile that absorbed this many refuses further merges
    strategies: dict[str, str] = field(default_factory=dict)  # field path -> strategy
    default_strategy: str = "last_update"

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> MergeSettings:
        """From a ``merge-settings`` config entry; ValueError says what is wrong."""
        keys = tuple(
            MergeKey(
                str(k["name"]),
                str(k["path"]),
                bool(k.get("unique", False)),
                k.get("kind", "text"),
            )
            for k in data.get("keys", [])
        )
        blocked = data.get("blocked")
        return cls(
            keys=keys or DEFAULT_MERGE_KEYS,
            blocked=frozenset(str(v).lower() for v in blocked) if blocked else DEFAULT_BLOCKED,
            max_merges=int(data.get("max_merges", 50)),
            strategies=dict(data.get("strategies", {})),
            default_strategy=str(data.get("default_strategy", "last_update")),
        )


_PHONE_NOISE = re.compile(r"[\s\-().]")


def normalise(kind: str, value: Any) -> str | None:
    """The comparable form of a merge-key value, or None when it identifies nobody."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    if kind == "email":
        text = text.lower()
        return text if "@" in text[1:-1] else None
    if kind == "phone":
        text = _PHONE_NOISE.sub("", text)
        if text.startswith("00"):
            text = "+" + text[2:]
        digits = text[1:] if text.startswith("+") else text
        return text if digits.isdigit() and len(digits) >= 5 else None
    if kind == "id":
        return text or None
    return " ".join(text.lower().split()) or None


def identifier(tenant: str, key: MergeKey, normal: str) -> str:
    """``<key>:<hash>``; the tenant is part of the hash so equal values never meet across
    tenants, and the raw value never leaves the profile agent."""
    digest = hashlib.sha256(f"{tenant}\x00{key.name}\x00{normal}".encode()).hexdigest()
    return f"{key.name}:{digest[:32]}"


def lookup_identifier(tenant: str, text: str, settings: MergeSettings) -> str:
    """The identifier a profile claims for ``<key name>:<value>`` (``email:ann@x.example``),
    normalised and hashed as the profile agent does; ValueError says why it cannot be."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or not value.strip():
        raise ValueError("identifier must be <key>:<value>")
    key = next((k for k in settings.keys if k.name == name.strip()), None)
    if key is None:
        known = ", ".join(k.name for k in settings.keys)
        raise ValueError(f"no merge key {name.strip()}; the keys are {known}")
    normal = normalise(key.kind, value)
    if normal is None or normal.lower() in settings.blocked:
        raise ValueError(f"{key.name}:{value.strip()} identifies nobody")
    return identifier(tenant, key, normal)


def claims_of(
    tenant: str, document: dict[str, Any], settings: MergeSettings
) -> dict[str, MergeKey]:
    """Identifiers a profile document carries under ``settings``, with their keys."""
    found: dict[str, MergeKey] = {}
    for key in settings.keys:
        raw = get_path(document, key.path)
        if is_missing(raw):
            continue
        normal = normalise(key.kind, raw)
        if normal is None or normal.lower() in settings.blocked:
            continue
        found[identifier(tenant, key, normal)] = key
    return found


@dataclass(frozen=True)
class Owner:
    """What the identity table knows of the profile that owns an identifier."""

    profile_id: str
    first_seen: int  # event time, epoch ms
    unique: dict[str, str]  # unique key name -> identifier
    merges: int = 0

    @property
    def identified(self) -> bool:
        return bool(self.unique)

    def rank(self) -> tuple[int, int, str]:
        return (0 if self.identified else 1, self.first_seen, self.profile_id)


@dataclass(frozen=True)
class Claim:
    identifier: str
    claimant: Owner
    absorbed: frozenset[str] = frozenset()  # ids the claimant has absorbed already


@dataclass(frozen=True)
class Decision:
    action: Literal["own", "keep", "transfer", "merge", "refuse"]
    owner: Owner  # who owns the identifier afterwards
    absorbed: Owner | None = None  # for a merge: the profile merged away
    reason: str = ""


def decide(current: Owner | None, claim: Claim, settings: MergeSettings) -> Decision:
    """What a claim on an identifier means, given its current owner."""
    claimant = claim.claimant
    if current is None:
        return Decision("own", claimant)
    if current.profile_id == claimant.profile_id:
        return Decision("keep", claimant)
    if current.profile_id in claim.absorbed:  # merged into the claimant already
        return Decision("transfer", claimant)
    for name, value in claimant.unique.items():
        other = current.unique.get(name)
        if other is not None and other != value:
            return Decision(
                "refuse", current, reason=f"both profiles have a different {name} (unique key)"
            )
    if current.merges + claimant.merges + 1 > settings.max_merges:
        return Decision(
            "refuse", current, reason=f"merge cap of {settings.max_merges} per profile reached"
        )
    survivor, absorbed = sorted((current, claimant), key=Owner.rank)
    merged_unique = {**absorbed.unique, **survivor.unique}
    winner = Owner(
        survivor.profile_id,
        min(survivor.first_seen, absorbed.first_seen),
        merged_unique,
        survivor.merges + absorbed.merges + 1,
    )
    return Decision("merge", winner, absorbed)
