"""The time range and validity filters of ``GET /events``, as one search clause."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from headwater.errors import InvalidInput

__all__ = ["Validity", "events_where"]

Validity = Literal["true", "false"]


def _utc(moment: datetime) -> str:
    """ISO 8601 in UTC; a time given without an offset is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def events_where(
    since: datetime | None, until: datetime | None, valid: Validity | None
) -> dict[str, Any] | None:
    """Events stored (``time.insert``) at or after ``since`` and before ``until``, and
    valid (not stored with ``metadata.valid: false``) or invalid; None: no such filter."""
    clauses: list[dict[str, Any]] = []
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", field="since")
    window = {}
    if since is not None:
        window["gte"] = _utc(since)
    if until is not None:
        window["lt"] = _utc(until)
    if window:
        clauses.append({"range": {"time.insert": window}})
    invalid = {"term": {"metadata.valid": False}}
    if valid == "false":
        clauses.append(invalid)
    elif valid == "true":
        clauses.append({"bool": {"must_not": [invalid]}})
    if not clauses:
        return None
    return {"bool": {"filter": clauses}}
