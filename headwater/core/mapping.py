"""Event-to-profile mapping: copy event fields to profile fields (pure).

Operations: ``equals`` (overwrite), ``append`` (add to a list, once), and
``equals_if_not_exists`` (set only when empty). Built-in mappings make identify and
profile-update events set contact data, identifiers and traits; a Segment ``identify``
sets the profile's traits from its traits (its properties) and a Segment ``group`` the
profile's group data, as every Segment destination does. A trait that a configured
mapping names (``properties.<key>`` as a field's source) goes only where that mapping
says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

__all__ = [
    "BUILTIN_MAPPINGS",
    "MAPPING_KIND",
    "SEGMENT_CHANNEL",
    "EventMapping",
    "FieldMapping",
    "Operation",
    "claimed_sources",
    "copied_traits",
    "get_path",
    "is_missing",
    "mapping_from_config",
    "set_path",
]

Operation = Literal["equals", "append", "equals_if_not_exists"]
MAPPING_KIND = "event-mapping"  # configuration entries of this kind hold an EventMapping
_OPERATIONS = ("equals", "append", "equals_if_not_exists")
PROFILE_ROOTS = ("traits", "data", "consents", "interests")
_SOURCE_ROOTS = ("properties", "context", "options")
_MISSING = object()
SEGMENT_CHANNEL = "segment"  # the intake channel of the Segment-compatible routes


@dataclass(frozen=True)
class FieldMapping:
    source: str  # path in the event: properties.email, context.page.url, ...
    target: str  # path in the profile: traits.plan, data.contact.email, ...
    op: Operation = "equals"

    def __post_init__(self) -> None:
        parts = self.target.split(".")
        if len(parts) < 2 or parts[0] not in PROFILE_ROOTS or not all(parts):
            raise ValueError(
                f"mapping target {self.target!r} must be under {PROFILE_ROOTS}, as a path"
            )


@dataclass(frozen=True)
class EventMapping:
    """The field mappings applied to events of one type (``*``: every type) from one
    source, or any, arriving through one intake channel, or any."""

    event_type: str
    fields: tuple[FieldMapping, ...]
    source_id: str | None = None
    merge_traits: bool = False  # copy each key of the object at traits_from ...
    traits_from: str = "properties.traits"
    traits_to: str = "traits"  # ... to traits_to.<key>
    channel: str | None = None

    def applies_to(self, event_type: str, source_id: str, channel: str | None = None) -> bool:
        return (
            self.event_type in ("*", event_type)
            and self.source_id in (None, source_id)
            and self.channel in (None, channel)
        )

    @cached_property
    def roots(self) -> frozenset[str]:
        """The parts of an event the mapping reads (properties, context, options)."""
        found = {rule.source.split(".", 1)[0] for rule in self.fields}
        if self.merge_traits:
            found.add(self.traits_from.split(".", 1)[0])
        return frozenset(found)


_IDENTIFY_FIELDS = (
    FieldMapping("properties.email", "data.contact.email"),
    FieldMapping("properties.phone", "data.contact.phone"),
    FieldMapping("properties.customer_id", "data.identifier.customer_id"),
    FieldMapping("properties.first_name", "data.pii.first_name"),
    FieldMapping("properties.last_name", "data.pii.last_name"),
)

BUILTIN_MAPPINGS: tuple[EventMapping, ...] = (
    *(
        EventMapping(event_type, _IDENTIFY_FIELDS, merge_traits=True)
        for event_type in ("identify", "profile-update", "sign-up", "sign-in")
    ),
    # Segment's userId (any call type) is the customer id: a unique merge key
    EventMapping("*", (FieldMapping("options.user_id", "data.identifier.customer_id"),)),
    # a Segment identify's properties are its traits (core/segment_mapping.py)
    EventMapping("identify", (), None, True, "properties", "traits", SEGMENT_CHANNEL),
    # a Segment group's properties are {"groupId", "traits"}: the group the profile is in
    EventMapping(
        "group",
        (
            FieldMapping("properties.groupId", "data.group.id"),
            FieldMapping("properties.groupId", "data.groups", "append"),
        ),
        None,
        True,
        "properties.traits",
        "data.group.traits",
        SEGMENT_CHANNEL,
    ),
)


def claimed_sources(mappings: list[EventMapping]) -> frozenset[str]:
    """The event paths that configured (not built-in) field mappings read: a trait at one
    of them goes where its mapping says, not into the traits by default."""
    return frozenset(
        rule.source
        for mapping in mappings
        if not any(mapping is builtin for builtin in BUILTIN_MAPPINGS)
        for rule in mapping.fields
    )


def copied_traits(
    mapping: EventMapping, event: dict[str, Any], claimed: frozenset[str]
) -> list[tuple[str, Any]]:
    """``(profile path, value)`` for each key of the object the mapping merges as traits
    (none when it merges none), but the keys a configured mapping claims."""
    traits = get_path(event, mapping.traits_from) if mapping.merge_traits else None
    if not isinstance(traits, dict):
        return []
    return [
        (f"{mapping.traits_to}.{key}", value)
        for key, value in traits.items()
        if key and f"{mapping.traits_from}.{key}" not in claimed
    ]


def mapping_from_config(data: dict[str, Any]) -> EventMapping:
    """An event mapping from its configuration entry; ValueError says what is wrong.

    ``{"event_type": "purchase", "source_id": null, "merge_traits": false,
    "fields": [{"source": "properties.total", "target": "traits.last_total",
    "op": "equals"}]}``
    """
    event_type = data.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("event_type must be a non-empty string")
    fields = []
    for index, rule in enumerate(data.get("fields") or []):
        op = rule.get("op", "equals")
        if op not in _OPERATIONS:
            raise ValueError(f"fields[{index}].op must be one of {_OPERATIONS}")
        source, target = rule.get("source"), rule.get("target")
        if not isinstance(source, str) or source.split(".", 1)[0] not in _SOURCE_ROOTS:
            raise ValueError(f"fields[{index}].source must start with one of {_SOURCE_ROOTS}")
        fields.append(FieldMapping(source, str(target), op))
    source_id = data.get("source_id")
    return EventMapping(
        event_type,
        tuple(fields),
        source_id if isinstance(source_id, str) else None,
        bool(data.get("merge_traits", False)),
    )


def get_path(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or ``_MISSING``."""
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def set_path(document: dict[str, Any], path: str, value: Any, op: Operation) -> bool:
    """Apply ``op`` at ``path``; True when the document changed."""
    *parents, leaf = path.split(".")
    node = document
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    current = node.get(leaf, _MISSING)
    if op == "equals_if_not_exists" and current not in (_MISSING, None, ""):
        return False
    if op == "append":
        items = (
            current
            if isinstance(current, list)
            else ([] if current in (_MISSING, None) else [current])
        )
        new: list[Any] = []
        for candidate in value if isinstance(value, list) else [value]:
            if not any(_same(candidate, item) for item in (*items, *new)):
                new.append(candidate)
        if not new:
            return False
        node[leaf] = [*items, *new]
        return True
    if _same(current, value):
        return False
    node[leaf] = value
    return True


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type: ``True`` is not ``1``, ``0`` is not ``False``."""
    return type(a) is type(b) and a == b


def is_missing(value: Any) -> bool:
    return value is _MISSING
