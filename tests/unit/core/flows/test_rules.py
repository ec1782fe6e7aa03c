"""Rules: event type, source, condition and required consents."""

from __future__ import annotations

import pytest

from headwater.core.flows import Rule, rule_from_config, triggered_rules
from headwater.core.flows.rules import consent_granted
from headwater.errors import FlowInvalid
from tests.unit.core.flows.conftest import NOW, event_document, profile_document


def scope(**consents: object) -> dict:
    profile = profile_document(plan="pro")
    profile["consents"] = consents
    return {"event": event_document(total=50), "profile": profile, "session": {"events": 1}}


RULES = [
    Rule("any-purchase", "f1", "purchase"),
    Rule("web-purchase", "f2", "purchase", source_id="web"),
    Rule("big-purchase", "f3", "purchase", condition="event.properties.total >= 100"),
    Rule("pro-purchase", "f4", "purchase", condition='profile.traits.plan = "pro"'),
    Rule("mail-consent", "f5", "purchase", consents=("marketing",)),
    Rule("disabled", "f6", "purchase", enabled=False),
    Rule("signup", "f7", "sign-up"),
]


def ids(rules: list[Rule]) -> list[str]:
    return [r.id for r in rules]


def test_type_source_and_condition() -> None:
    found = triggered_rules(
        RULES, event_type="purchase", source_id="app", scope=scope(), now_ms=NOW
    )
    assert ids(found) == ["any-purchase", "pro-purchase"]
    found = triggered_rules(
        RULES, event_type="purchase", source_id="web", scope=scope(), now_ms=NOW
    )
    assert ids(found) == ["any-purchase", "web-purchase", "pro-purchase"]


@pytest.mark.parametrize(
    ("consent", "fires"),
    [
        (True, True),
        ({"granted": True, "time": 1}, True),
        ({"granted": False}, False),
        ("yes", False),
    ],
)
def test_required_consents(consent: object, fires: bool) -> None:
    found = triggered_rules(
        RULES, event_type="purchase", source_id="app", scope=scope(marketing=consent), now_ms=NOW
    )
    assert ("mail-consent" in ids(found)) is fires
    assert consent_granted({"consents": {"marketing": consent}}, "marketing") is fires


def test_rules_from_configuration() -> None:
    rule = rule_from_config(
        {
            "id": "r",
            "flow_id": "f",
            "event_type": "sign-up",
            "source_id": None,
            "condition": "profile.stats.visits = 1",
            "consents": ["marketing"],
        }
    )
    assert rule == Rule("r", "f", "sign-up", None, "profile.stats.visits = 1", ("marketing",))
    with pytest.raises(FlowInvalid) as caught:
        rule_from_config(
            {"id": "r", "event_type": 3, "condition": "profile.x >", "consents": "marketing"}
        )
    problems = caught.value.problems
    assert len(problems) == 4
    assert any(p.startswith("condition:") and "column" in p for p in problems)
