"""Rules, flows and segments as they were at a moment (agents/configured.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headwater.agents.configured import RecordedAutomation
from headwater.core.automation import FLOW_KIND, RULE_KIND
from headwater.core.config import ConfigEntry
from headwater.core.flows.registry import builtin_registry

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def flow(tier: str) -> dict:
    return {
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "set", "action": "update-traits", "config": {"traits": {"tier": tier}}},
        ],
        "edges": [{"from": "start", "to": "set"}],
    }


def entry(kind: str, entity_id: str, data: dict, days: int, version: int, deleted: bool = False):
    return ConfigEntry(
        kind=kind,
        tenant="acme",
        env="production",
        id=entity_id,
        version=version,
        deleted=deleted,
        data=data,
        updated_at=T0 + timedelta(days=days),
        updated_by="test",
    )


def ms(days: float) -> int:
    return int((T0 + timedelta(days=days)).timestamp() * 1000)


def test_each_moment_sees_the_versions_published_before_it():
    history = [
        entry(FLOW_KIND, "f", flow("gold"), 1, 1),
        entry(RULE_KIND, "r", {"flow_id": "f", "event_type": "buy"}, 1, 1),
        entry(FLOW_KIND, "f", flow("platinum"), 5, 2),
        entry(RULE_KIND, "r", {"flow_id": "f", "event_type": "buy"}, 8, 2, deleted=True),
    ]
    recorded = RecordedAutomation(reversed(history), builtin_registry())

    before = recorded("acme", "production", ms(0.5))
    first = recorded("acme", "production", ms(2))
    second = recorded("acme", "production", ms(6))
    after = recorded("acme", "production", ms(9))

    assert before.idle
    tiers = [a.flows["f"].nodes[1].config["traits"]["tier"] for a in (first, second)]
    assert tiers == ["gold", "platinum"]
    assert [r.id for r in first.rules] == ["r"]
    assert after.rules == ()  # the rule was deleted by then
    assert recorded("acme", "staging", ms(9)).idle
