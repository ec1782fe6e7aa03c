"""Imported records as intake batches, through the collector's own builders (pure).

``headwater import`` reads files (NDJSON of Headwater events, NDJSON of Segment calls,
CSV with a column mapping) and Tracardi installations (core/tracardi.py). Each record is
made into intake batches by the builders every entry point uses
(:func:`~headwater.core.intake.build_tracker_batch`,
:func:`~headwater.core.segment_mapping.build_segment_batches`), so validation, limits,
ids and keys are those of ``/track`` and ``/v1/batch``. Anything that keeps a record
from becoming events raises an :class:`~headwater.errors.InputError` whose text is the
reason the import reports it with.

**Ids.** Ids a record carries are kept (event, profile and session ids; a Segment
``messageId`` gives the collector's own event id). Every id the builder would draw at
random is derived instead from the import's identity and the record's position
(:func:`position_ids`: uuid5), so the same import run twice, or resumed, makes the very
same records, down to their keys; the profile agent and the search index drop the
repeats by event id.

**The import mark.** Every imported batch carries ``{"import": {"id", "flows"}}`` in its
request context (an existing field of ``intake_batch``: no schema change). The profile
agent runs no rules or flows, and so requests no side effect, for a batch whose mark says
``flows: false`` (:func:`flows_off`), and passes the mark on to the events it injects
(segment changes); segments, mappings, identities and merges run as for collected events.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from headwater.core.ids import name_id
from headwater.core.intake import (
    Accepted,
    IntakeLimits,
    RequestMeta,
    build_tracker_batch,
    invalid_input,
    tracker_payload,
)
from headwater.core.segment import SegmentBatch
from headwater.core.segment_mapping import build_segment_batches
from headwater.core.sources import EventSource
from headwater.errors import InvalidInput

__all__ = [
    "IMPORT_KEY",
    "CsvMapping",
    "ImportTarget",
    "csv_row_batches",
    "flows_off",
    "headwater_line_batches",
    "import_id_for",
    "import_mark",
    "position_ids",
    "segment_line_batches",
    "tracker_batches",
]

IMPORT_KEY = "import"  # the request-context key of the import mark
_NS = uuid.UUID("5a0e4c2b-7f31-4d8e-9c6a-2b1f0e3d4c5a").bytes
_TIME = TypeAdapter(datetime)


def import_id_for(source: EventSource, kind: str, identity: str) -> str:
    """The id of one import: the same source read into the same tenant, environment and
    event source (and, for a CSV, with the same mapping) is the same import."""
    return name_id(_NS, f"{source.tenant}/{source.env}/{source.id}/{kind}/{identity}")


def position_ids(import_id: str, position: str) -> Callable[[], str]:
    """Ids for what a record at ``position`` leaves to the builder (a session, a profile,
    an event without an id): the n-th call always gives the same id."""
    count = 0

    def make_id() -> str:
        nonlocal count
        count += 1
        return name_id(_NS, f"{import_id}/{position}/{count}")

    return make_id


def import_mark(import_id: str, flows: bool) -> dict[str, Any]:
    return {"id": import_id, "flows": flows}


def flows_off(context: Mapping[str, Any]) -> bool:
    """Whether a batch's request context marks it as imported with flows off."""
    mark = context.get(IMPORT_KEY)
    return isinstance(mark, dict) and mark.get("flows") is False


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """Where and how an import's records go: the event source they are recorded under,
    the collector's limits, the import's id and received time, flows on or off."""

    source: EventSource
    limits: IntakeLimits
    import_id: str
    received_at: int  # epoch ms; the same on resume (kept in the checkpoint)
    flows: bool = False

    @property
    def mark(self) -> dict[str, Any]:
        return import_mark(self.import_id, self.flows)


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} must be a JSON object, not {type(data).__name__}")
    return data


def tracker_batches(
    body: dict[str, Any], target: ImportTarget, position: str, *, channel: str = "track"
) -> Accepted:
    """A ``/track`` body (without ``source``: the import's) as an intake batch."""
    payload = {**body, "source": {"id": target.source.id}}
    context = payload.get("context")
    payload["context"] = {**(context if isinstance(context, dict) else {}), IMPORT_KEY: target.mark}
    tracked = tracker_payload(payload)
    return build_tracker_batch(
        tracked,
        target.source,
        RequestMeta(received_at=target.received_at),
        target.limits,
        make_id=position_ids(target.import_id, position),
        channel=channel,
    )


_CHANNEL = re.compile(r"[a-z][a-z0-9-]{0,31}")
_EVENT_KEYS = ("id", "type", "time", "properties", "context", "options", "tags")


def headwater_line_batches(data: Any, target: ImportTarget, position: str) -> list[Accepted]:
    """One NDJSON line of Headwater events: a ``/track`` body (``events`` list), or one
    event as Headwater stores it (``type``, ``id``, ``profile.id``, ``session.id``,
    ``time.create``, ``properties``, ``context``, ``options``, ``tags``, ``channel``)."""
    line = _object(data, "the line")
    if "events" in line:
        return [tracker_batches(line, target, position)]
    if "type" not in line:
        raise InvalidInput("the line has neither events (a /track body) nor type (an event)")
    event = {key: line[key] for key in _EVENT_KEYS if key in line and line[key] is not None}
    body: dict[str, Any] = {"events": [event]}
    for ref in ("profile", "session"):
        if isinstance(line.get(ref), dict):
            body[ref] = {"id": line[ref].get("id")}
    metadata = line.get("metadata")
    body["profile_less"] = isinstance(metadata, dict) and metadata.get("profile_less") is True
    # the channel it was collected through: channel-bound mappings (Segment's) apply again
    stored = line.get("channel")
    channel = stored if isinstance(stored, str) and _CHANNEL.fullmatch(stored) else "track"
    return [tracker_batches(body, target, position, channel=channel)]


def segment_line_batches(data: Any, target: ImportTarget, position: str) -> list[Accepted]:
    """One NDJSON line of Segment/RudderStack calls: one call (``type`` says which), or
    a ``/v1/batch`` body (``batch`` list). Mapped as ``/v1/batch`` maps them."""
    line = _object(data, "the line")
    calls = line.get("batch") if "batch" in line else [line]
    if not isinstance(calls, list):
        raise InvalidInput("batch must be a list of calls", field="batch")
    outer = {k: v for k, v in line.items() if k != "batch"} if "batch" in line else {}
    context = outer.get("context")
    outer["context"] = {**(context if isinstance(context, dict) else {}), IMPORT_KEY: target.mark}
    try:
        batch = SegmentBatch.model_validate({**outer, "batch": calls})
    except ValidationError as exc:
        raise invalid_input(exc) from None
    for index, message in enumerate(batch.batch):
        at = f"batch[{index}]." if "batch" in line else ""
        if message.type is None:
            raise InvalidInput(f"{at}type is required", field=f"{at}type")
        message.require(message.type, at)
    return build_segment_batches(
        batch,
        target.source,
        RequestMeta(received_at=target.received_at),
        target.limits,
        make_id=position_ids(target.import_id, position),
    )


# --- CSV --------------------------------------------------------------------------------

_IDENTITY_FIELDS = ("email", "phone", "customer_id", "first_name", "last_name")
ValueType = Literal["text", "int", "float", "bool", "json"]


class CsvMapping(BaseModel):
    """Which CSV column is what. ``kind=profiles``: each row is a ``profile-update`` event
    (the built-in mapping sets its identity fields and traits on the profile);
    ``kind=events``: each row is an event of ``event_type`` (a column) or ``type``.

    ``properties`` (events) / ``traits`` (profiles): ``{name: column}``; None takes
    every column not named elsewhere. Empty cells are left out. ``types`` converts a
    column's text (``int``, ``float``, ``bool``, ``json``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["profiles", "events"] = "events"
    profile_id: str | None = None
    event_id: str | None = None
    session_id: str | None = None
    event_type: str | None = None
    type: str | None = None
    time: str | None = None
    properties: dict[str, str] | None = None
    traits: dict[str, str] | None = None
    identity: dict[str, str] = Field(default_factory=dict)  # email/phone/... -> column
    types: dict[str, ValueType] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> CsvMapping:
        if self.kind == "profiles" and not self.profile_id:
            raise ValueError("a profiles mapping names the profile_id column")
        if self.kind == "events" and not (self.event_type or self.type):
            raise ValueError("an events mapping names the event_type column or a fixed type")
        if unknown := set(self.identity) - set(_IDENTITY_FIELDS):
            raise ValueError(f"identity fields are {_IDENTITY_FIELDS}, not {sorted(unknown)}")
        return self

    def named_columns(self) -> set[str]:
        named = {self.profile_id, self.event_id, self.session_id, self.event_type, self.time}
        return {c for c in named if c} | set(self.identity.values())

    def identity_text(self) -> str:
        """What makes two mappings the same import (part of its id)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def _cell(row: Mapping[str, str | None], column: str, types: Mapping[str, ValueType]) -> Any:
    raw = row.get(column)
    if raw is None or raw == "":
        return None
    kind = types.get(column, "text")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return lowered in ("true", "1", "yes")
        if kind == "json":
            return orjson.loads(raw)
    except ValueError:
        raise InvalidInput(f"column {column}: {raw[:64]!r} is not {kind}", field=column) from None
    return raw


def _required(row: Mapping[str, str | None], column: str) -> str:
    value = row.get(column)
    if value is None or not value.strip():
        raise InvalidInput(f"column {column} is empty", field=column)
    return value.strip()


def _values(
    row: Mapping[str, str | None],
    named: Mapping[str, str] | None,
    skip: set[str],
    mapping: CsvMapping,
) -> dict[str, Any]:
    pairs = named.items() if named is not None else ((c, c) for c in row if c not in skip)
    found = {name: _cell(row, column, mapping.types) for name, column in pairs if name}
    return {name: value for name, value in found.items() if value is not None}


def csv_row_batches(
    row: Mapping[str, str | None], mapping: CsvMapping, target: ImportTarget, position: str
) -> list[Accepted]:
    """One CSV row (column -> text) as an intake batch, by ``mapping``."""
    if None in row:  # csv.DictReader puts cells beyond the header under None
        raise InvalidInput("the row has more cells than the header has columns")
    skip = mapping.named_columns()
    event: dict[str, Any] = {}
    if mapping.event_id:
        event["id"] = _required(row, mapping.event_id)
    if mapping.time:
        stamp = _required(row, mapping.time)
        try:
            event["time"] = {"create": _TIME.validate_python(stamp)}
        except ValidationError:
            raise InvalidInput(
                f"column {mapping.time}: {stamp[:64]!r} is not an ISO 8601 time or an epoch",
                field=mapping.time,
            ) from None
    body: dict[str, Any] = {"events": [event]}
    if mapping.profile_id:
        body["profile"] = {"id": _required(row, mapping.profile_id)}
    if mapping.session_id and (session := row.get(mapping.session_id)):
        body["session"] = {"id": session.strip()}
    if mapping.kind == "profiles":
        properties = {f: _cell(row, c, mapping.types) for f, c in mapping.identity.items()}
        properties = {k: v for k, v in properties.items() if v is not None}
        properties["traits"] = _values(row, mapping.traits, skip, mapping)
        event.update(type="profile-update", properties=properties)
    else:
        event_type = _required(row, mapping.event_type) if mapping.event_type else mapping.type
        event.update(type=event_type, properties=_values(row, mapping.properties, skip, mapping))
        body["profile_less"] = mapping.profile_id is None
    return [tracker_batches(body, target, position)]
