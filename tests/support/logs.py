"""Reading the processes' logs in tests: one JSON object per line (the processes' stderr
is no terminal; headwater/observability/logs.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

__all__ = ["log_messages", "log_records", "logged_at"]


def log_records(text: str) -> list[dict[str, Any]]:
    """Every JSON line of a log (a line cut off by a kill is left out)."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


def log_messages(text: str) -> str:
    """The messages of a log, one after the other (a message may span lines)."""
    return "\n".join(str(record.get("message", "")) for record in log_records(text))


def logged_at(text: str, marker: str) -> list[float]:
    """When lines with ``marker`` in their message were logged (epoch seconds)."""
    return [
        datetime.fromisoformat(record["time"]).timestamp()
        for record in log_records(text)
        if marker in str(record.get("message", ""))
    ]
