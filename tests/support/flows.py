"""Flows that tests configure."""

from __future__ import annotations

from typing import Any

# on a "flood" event, 300 traits, each the event's ``properties.v``: with a value of
# 20,000 characters a ~6 MB profile, more than any profile may hold
FLOOD: dict[str, Any] = {
    "nodes": [
        {"id": "start", "action": "start"},
        {
            "id": "write",
            "action": "update-traits",
            "config": {"traits": {f"t{i}": {"path": "event.properties.v"} for i in range(300)}},
        },
    ],
    "edges": [{"from": "start", "to": "write"}],
}
FLOOD_RULE: dict[str, Any] = {"flow_id": "flood", "event_type": "flood"}
