"""A flow's destinations: where each of its outbound nodes sends, as configured."""

from __future__ import annotations

from headwater.core.flows.actions.outbound import Destination, destinations_of
from headwater.core.flows.model import Flow


def test_each_outbound_node_is_a_destination_and_nothing_else_is() -> None:
    flow = Flow.from_dict(
        {
            "id": "f",
            "nodes": [
                {"id": "start", "action": "start"},
                {"id": "hook", "action": "webhook", "config": {"url": "https://h.example/{{x}}"}},
                {"id": "tag", "action": "add-tag", "config": {"tag": "vip"}},
                {"id": "kafka", "action": "publish-kafka", "config": {"topic": "acme.out"}},
                {
                    "id": "rabbit",
                    "action": "publish-amqp",
                    "config": {"destination": "crm", "exchange": "x", "routing_key": "r"},
                },
                {"id": "mail", "action": "send-email", "config": {"to": "a@b.example"}},
            ],
            "edges": [],
        }
    )

    assert destinations_of(flow) == [
        Destination("http", "https://h.example/{{x}}", "webhook", "hook"),
        Destination("kafka", "default: acme.out", "publish-kafka", "kafka"),
        Destination("amqp", "crm: x/r", "publish-amqp", "rabbit"),
        Destination("email", "default: a@b.example", "send-email", "mail"),
    ]
