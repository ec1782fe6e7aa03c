"""The pure outbound policy: which URLs, addresses and topic names a flow may use."""

from __future__ import annotations

import ipaddress

import pytest

from headwater.core.flows.actions.outbound import outbound_problems
from headwater.core.flows.model import Flow
from headwater.core.outbound_policy import (
    AddressPolicy,
    AllowEntry,
    Endpoint,
    TopicPolicy,
    ip_literal,
    url_template_problem,
)

TOPICS = TopicPolicy(
    {"*": ["{tenant}.", "{tenant}/"], "ops": [""]}, ("hw", "headwater-worker", "__")
)


@pytest.mark.parametrize(
    "url",
    [
        "http://{{event.properties.h}}/x",
        "https://api.example.com:{{event.properties.port}}/x",
        "{{event.properties.scheme}}://api.example.com/x",
        "https://{{profile.traits.sub}}.example.com/",
        "https://u:{{profile.traits.pw}}@api.example.com/",
    ],
)
def test_a_templated_scheme_or_host_is_refused(url: str) -> None:
    assert "literal" in (url_template_problem(url) or "")


def test_templates_in_path_and_query_are_fine() -> None:
    assert url_template_problem("https://crm.example/p/{{profile.id}}?e={{event.id}}") is None
    assert url_template_problem("https://crm.example") is None
    assert url_template_problem("https://crm.example?p={{profile.id}}") is None
    assert url_template_problem("https://crm.example#{{profile.id}}") is None
    assert url_template_problem("https://crm.example{{event.properties.rest}}") is not None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0x7f000001", "127.0.0.1"), ("127.1", "127.0.0.1"), ("[::1]", "::1"), ("example.com", None)],
)
def test_ip_literals_in_every_spelling(host: str, expected: str | None) -> None:
    found = ip_literal(host)
    assert (None if found is None else str(found)) == expected


@pytest.mark.parametrize(
    ("tenant", "kind", "name", "why"),
    [
        ("acme", "kafka", "hw.config", "belongs to the platform"),
        ("acme", "kafka", "hw.intake", "belongs to the platform"),
        ("ops", "kafka", "hw.outbound", "belongs to the platform"),  # even with "" allowed
        ("ops", "kafka", "headwater-worker-profiles-changelog", "belongs to the platform"),
        ("ops", "kafka", "__consumer_offsets", "belongs to the platform"),
        ("acme", "kafka", "globex.orders", "outside the tenant's prefixes ('acme.', 'acme/')"),
        ("acme", "mqtt", "devices/1", "outside the tenant's prefixes"),
        ("acme", "amqp", "shared", "outside the tenant's prefixes"),
    ],
)
def test_platform_topics_and_other_tenants_names_are_refused(
    tenant: str, kind: str, name: str, why: str
) -> None:
    assert why in (TOPICS.refusal(kind, name, tenant) or "")


def test_a_tenant_publishes_under_its_own_prefixes() -> None:
    assert TOPICS.refusal("kafka", "acme.orders", "acme") is None
    assert TOPICS.refusal("mqtt", "acme/devices/1", "acme") is None
    assert TOPICS.refusal("mqtt", "hw/anything", "ops") is None  # hw is a Kafka prefix
    assert TOPICS.target_refusal("amqp", {"exchange": "acme.x", "routing_key": "k"}, "acme") is None
    refused = TOPICS.target_refusal("amqp", {"exchange": "", "routing_key": "queue"}, "acme")
    assert refused is not None


def test_an_allow_entry_parses_networks_hosts_and_ports() -> None:
    assert AllowEntry.parse("[fd00::/8]:443") == AllowEntry(
        ipaddress.ip_network("fd00::/8"), None, 443
    )
    assert AllowEntry.parse("Mail.Internal:25") == AllowEntry(None, "mail.internal", 25)
    assert AllowEntry.parse("10.0.0.1") == AllowEntry(
        ipaddress.ip_network("10.0.0.1/32"), None, None
    )


def _flow(*nodes: dict[str, object]) -> Flow:
    return Flow.from_dict(
        {
            "id": "f",
            "nodes": [{"id": "start", "action": "start"}, *nodes],
            "edges": [{"from": "start", "to": str(n["id"])} for n in nodes],
        }
    )


def test_a_flow_is_refused_on_save_for_what_the_policy_can_tell_without_resolving() -> None:
    policy = AddressPolicy((AllowEntry.parse("10.0.0.0/8"),), (Endpoint("10.0.0.5", 9092),))
    flow = _flow(
        {"id": "meta", "action": "webhook", "config": {"url": "http://169.254.169.254/x"}},
        {"id": "hex", "action": "http-call", "config": {"url": "http://0x7f000001:8687/users"}},
        {"id": "tpl", "action": "webhook", "config": {"url": "http://{{event.properties.h}}/x"}},
        {"id": "kafka", "action": "http-call", "config": {"url": "http://10.0.0.5:9092/"}},
        {"id": "cfg", "action": "publish-kafka", "config": {"topic": "hw.config"}},
        {"id": "other", "action": "publish-mqtt", "config": {"topic": "{{event.properties.t}}"}},
        {"id": "ok1", "action": "webhook", "config": {"url": "https://crm.example/{{profile.id}}"}},
        {"id": "ok2", "action": "webhook", "config": {"url": "http://10.1.1.1/"}},
        {"id": "ok3", "action": "publish-kafka", "config": {"topic": "acme.{{event.type}}"}},
    )
    problems = outbound_problems(flow, "acme", policy, TOPICS)
    assert [p.split(" ", 2)[1] for p in problems] == ["meta", "hex", "tpl", "kafka", "cfg", "other"]
    assert "link-local" in problems[0] and "loopback" in problems[1]
    assert "platform's own endpoints" in problems[3]
