"""What a flow run works on: copies of the event, profile document and session, a
``memory`` shared by the nodes of one run, and what the run asks for (injected events,
outbound requests). Nothing here performs a side effect."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import ActionFailed

__all__ = ["WRITABLE", "FlowState", "OutboundRequest", "clone", "parse_path"]

ROOTS = ("event", "profile", "session", "memory", "payload")
# Where a flow may write. The rest of the profile (ids, stats, metadata) belongs to the
# fold, the session to the sessionizer; the event keeps its identity and time.
WRITABLE = (
    ("profile", "traits"),
    ("profile", "data"),
    ("profile", "consents"),
    ("profile", "interests"),
    ("profile", "segments"),
    ("event", "properties"),
    ("memory",),
    ("payload",),
)
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]+(?:\.[^\s{}]+)*)\s*\}\}")
_NS = uuid.UUID("6a0c2b2e-7b53-4b0e-9d7e-0c1f3f4f6a11")
MISSING: Any = object()


def clone(value: Any) -> Any:
    """A deep copy of JSON-shaped data (objects, lists, scalars): several times faster
    than ``copy.deepcopy``, which the runner would otherwise spend most of its time in."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clone(v) for v in value]
    return value


def _writable(whole: tuple[str, ...]) -> bool:
    for prefix in WRITABLE:
        if whole[: len(prefix)] == prefix:
            # below a root object, or the whole segments list
            return len(whole) > len(prefix) or prefix == ("profile", "segments")
    return False


def parse_path(path: str) -> tuple[str, list[str]]:
    """``profile.traits.plan`` -> ("profile", ["traits", "plan"]); refuses other roots."""
    root, *keys = path.split(".")
    if root not in ROOTS or not all(keys):
        raise ActionFailed(f"{path!r} is not a path under {', '.join(ROOTS)}")
    return root, keys


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """A side effect a flow asks for; the destinations agent performs it from
    ``hw.outbound``. ``idempotency_key`` is the same on every replay of the event."""

    kind: str  # http, email, kafka, mqtt, amqp, schedule
    target: dict[str, Any]  # url/method, smtp recipient, topic/exchange, ...
    body: Any
    idempotency_key: str
    flow_id: str
    node_id: str
    event_id: str
    not_before_ms: int | None = None  # earliest moment to perform it (delays)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "body": self.body,
            "idempotency_key": self.idempotency_key,
            "flow_id": self.flow_id,
            "node_id": self.node_id,
            "event_id": self.event_id,
            "not_before_ms": self.not_before_ms,
        }


@dataclass(slots=True)
class FlowState:
    flow_id: str
    event: dict[str, Any]
    profile: dict[str, Any]
    session: dict[str, Any]
    now_ms: int  # the event time: every date computed in a flow derives from it
    memory: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[OutboundRequest] = field(default_factory=list)
    _counters: dict[str, int] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return str(self.event.get("id", ""))

    def scope(self, payload: Any) -> dict[str, Any]:
        return {
            "event": self.event,
            "profile": self.profile,
            "session": self.session,
            "memory": self.memory,
            "payload": payload,
        }

    # --- reading and writing paths -----------------------------------------------------

    def read(self, path: str, payload: Any, default: Any = None) -> Any:
        root, keys = parse_path(path)
        node: Any = self.scope(payload)[root]
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        return node

    def write(self, path: str, value: Any, payload: dict[str, Any]) -> None:
        self._parent(path, payload, create=True)[path.rsplit(".", 1)[-1]] = value

    def delete(self, path: str, payload: dict[str, Any]) -> bool:
        parent = self._parent(path, payload, create=False)
        return parent is not None and parent.pop(path.rsplit(".", 1)[-1], MISSING) is not MISSING

    def _parent(self, path: str, payload: dict[str, Any], *, create: bool) -> Any:
        root, keys = parse_path(path)
        whole = (root, *keys)
        if not _writable(whole):
            raise ActionFailed(f"flows cannot write {path!r}")
        node: Any = self.scope(payload)[root]
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                if not create:
                    return None
                child = node[key] = {}
            elif not isinstance(child, dict):
                # never replace a value by an object on the way: that would lose it
                raise ActionFailed(f"{path!r} goes through {key!r}, a value that is not an object")
            node = child
        return node

    # --- values in node configuration --------------------------------------------------

    def resolve(self, value: Any, payload: Any) -> Any:
        """A configured value: ``{"path": "profile.traits.x"}`` reads a path, a string
        with ``{{ path }}`` placeholders is rendered, lists and objects resolve inside."""
        if isinstance(value, dict):
            if set(value) == {"path"} and isinstance(value["path"], str):
                return self.read(value["path"], payload)
            return {k: self.resolve(v, payload) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, payload) for v in value]
        if isinstance(value, str) and "{{" in value:
            return self.render(value, payload)
        return value

    def render(self, template: str, payload: Any) -> str:
        """Fills ``{{ path }}`` placeholders; ``{{secret.NAME}}`` stays as it is (the
        destinations stage fills it right before sending: ``core/secrets.py``)."""

        def fill(match: re.Match[str]) -> str:
            if match.group(1).startswith("secret."):
                return match.group(0)
            found = self.read(match.group(1), payload)
            return "" if found is None else str(found)

        return _TEMPLATE.sub(fill, template)

    # --- deterministic identities --------------------------------------------------------

    def occurrence(self, node_id: str) -> int:
        """How many times ``node_id`` asked for an identity in this run (0, 1, ...)."""
        count = self._counters.get(node_id, 0)
        self._counters[node_id] = count + 1
        return count

    def stable_key(self, node_id: str) -> str:
        """The same for the same event, flow, node and occurrence: replays repeat it."""
        raw = f"{self.flow_id}:{node_id}:{self.event_id}:{self.occurrence(node_id)}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def stable_uuid(self, node_id: str) -> str:
        return str(uuid.uuid5(_NS, self.stable_key(node_id)))
