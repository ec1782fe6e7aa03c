"""Outbound: HTTP calls, webhooks, email, Kafka, MQTT and AMQP. Each only appends an
``OutboundRequest`` to the run; the destinations agent performs it (with retries, a
circuit breaker and a dead letter), so a replay never sends anything twice.

Where a request may go is the outbound policy's (``core/outbound_policy.py``): a URL's
scheme and host are never templated (refused on save, and by the action itself),
:func:`outbound_problems` refuses on save what the operator's settings forbid, and the
destinations agent checks again right before sending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from headwater.core.flows.actions.schemas import ANY, STRING, TEXT, obj
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionCall, ActionSpec, Output
from headwater.core.flows.state import OutboundRequest
from headwater.core.outbound_policy import AddressPolicy, TopicPolicy, url_template_problem
from headwater.errors import ActionFailed

__all__ = ["ACTIONS", "Destination", "destinations_of", "outbound_problems"]


def _request(call: ActionCall, kind: str, target: dict[str, Any], body: Any) -> list[Output]:
    state = call.state
    state.requests.append(
        OutboundRequest(
            kind=kind,
            target=target,
            body=body,
            idempotency_key=state.stable_key(call.node_id),
            flow_id=state.flow_id,
            node_id=call.node_id,
            event_id=state.event_id,
        )
    )
    return call.passed()


def _body(call: ActionCall, key: str = "body") -> Any:
    """The configured body, or the payload that reached the node."""
    return call.value(key) if key in call.config else call.payload


def _url(call: ActionCall) -> str:
    """The rendered URL; its scheme and host are the configured ones, never data."""
    problem = url_template_problem(call.config.get("url"))
    if problem is not None:
        raise ActionFailed(problem)
    url: str = call.value("url")
    return url


def _http(call: ActionCall) -> list[Output]:
    target = {
        "url": _url(call),
        "method": call.config.get("method", "POST"),
        "headers": call.value("headers", {}),
        "timeout_s": call.config.get("timeout_s", 10),
    }
    return _request(call, "http", target, _body(call))


def _webhook(call: ActionCall) -> list[Output]:
    target = {"url": _url(call), "method": "POST", "headers": {}, "timeout_s": 10}
    return _request(call, "http", target, _body(call))


def _slack(call: ActionCall) -> list[Output]:
    target = {"url": _url(call), "method": "POST", "headers": {}, "timeout_s": 10}
    return _request(call, "http", target, {"text": call.value("text")})


def _email(call: ActionCall) -> list[Output]:
    """``to``: one address (a comma adds nobody), or a list naming each recipient;
    ``from`` defaults to HEADWATER_OUTBOUND_SMTP_FROM."""
    target = {"destination": call.config.get("destination", "default"), "to": call.value("to")}
    if "from" in call.config:
        target["from"] = call.value("from")
    body = {"subject": call.value("subject"), "text": call.value("body")}
    return _request(call, "email", target, body)


def _kafka(call: ActionCall) -> list[Output]:
    target = {
        "destination": call.config.get("destination", "default"),
        "topic": call.value("topic"),
    }
    return _request(call, "kafka", {**target, "key": call.value("key")}, _body(call, "value"))


def _mqtt(call: ActionCall) -> list[Output]:
    target = {
        "destination": call.config.get("destination", "default"),
        "topic": call.value("topic"),
        "qos": call.config.get("qos", 1),
        "retain": call.config.get("retain", False),
    }
    return _request(call, "mqtt", target, _body(call, "payload"))


def _amqp(call: ActionCall) -> list[Output]:
    target = {
        "destination": call.config.get("destination", "default"),
        "exchange": call.value("exchange", ""),
        "routing_key": call.value("routing_key"),
    }
    return _request(call, "amqp", target, _body(call))


def _url_check(config: Mapping[str, Any]) -> list[str]:
    problem = url_template_problem(config.get("url"))
    return [] if problem is None else [problem]


_URL = {"type": "string", "pattern": r"^https?://"}
_RECIPIENTS = {"anyOf": [STRING, {"type": "array", "items": STRING, "minItems": 1, "maxItems": 50}]}
_HEADERS = {"type": "object", "additionalProperties": {"type": "string"}}
_DESTINATION = STRING  # a configured destination (credentials live there, not in flows)

ACTIONS = [
    ActionSpec(
        "http-call",
        "outbound",
        "Requests an HTTP call; the body defaults to the payload.",
        _http,
        obj(
            ("url",),
            url=_URL,
            method={"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
            headers=_HEADERS,
            body=ANY,
            timeout_s={"type": "number", "exclusiveMinimum": 0, "maximum": 60},
        ),
        side_effects=True,
        check=_url_check,
    ),
    ActionSpec(
        "webhook",
        "outbound",
        "POSTs the payload (or `body`) to a URL.",
        _webhook,
        obj(("url",), url=_URL, body=ANY),
        side_effects=True,
        check=_url_check,
    ),
    ActionSpec(
        "slack-message",
        "outbound",
        "Posts a text to a Slack-style incoming webhook.",
        _slack,
        obj(("url", "text"), url=_URL, text=TEXT),
        side_effects=True,
        check=_url_check,
    ),
    ActionSpec(
        "send-email",
        "outbound",
        "Sends an email through an SMTP destination: `to` is one address, or a list.",
        _email,
        obj(
            ("to", "subject", "body"),
            to=_RECIPIENTS,
            subject=TEXT,
            body=TEXT,
            **{"from": TEXT},
            destination=_DESTINATION,
        ),
        side_effects=True,
    ),
    ActionSpec(
        "publish-kafka",
        "outbound",
        "Publishes a record to a Kafka topic; the value defaults to the payload.",
        _kafka,
        obj(("topic",), topic=STRING, key=TEXT, value=ANY, destination=_DESTINATION),
        side_effects=True,
    ),
    ActionSpec(
        "publish-mqtt",
        "outbound",
        "Publishes a message to an MQTT topic.",
        _mqtt,
        obj(
            ("topic",),
            topic=STRING,
            payload=ANY,
            qos={"enum": [0, 1, 2]},
            retain={"type": "boolean"},
            destination=_DESTINATION,
        ),
        side_effects=True,
    ),
    ActionSpec(
        "publish-amqp",
        "outbound",
        "Publishes a message to an AMQP exchange.",
        _amqp,
        obj(("routing_key",), exchange=TEXT, routing_key=TEXT, body=ANY, destination=_DESTINATION),
        side_effects=True,
    ),
]


_URL_ACTIONS = frozenset({"http-call", "webhook", "slack-message"})
_PUBLISHERS = {"publish-kafka": "kafka", "publish-mqtt": "mqtt", "publish-amqp": "amqp"}


def outbound_problems(
    flow: Flow, tenant: str, addresses: AddressPolicy, topics: TopicPolicy
) -> list[str]:
    """What the operator's policy refuses in ``tenant``'s flow, found without resolving
    anything: URLs to a literal address it does not allow, and Kafka/MQTT/AMQP names
    outside the tenant's prefixes (or platform topics). Names are judged at send time."""
    problems: list[str] = []
    for node in flow.nodes:
        found: str | None = None
        if node.action in _URL_ACTIONS and isinstance(url := node.config.get("url"), str):
            found = url_template_problem(url)
            if found is None:
                parts = urlsplit(url)
                port = parts.port or (443 if parts.scheme == "https" else 80)
                found = addresses.literal_refusal(parts.hostname or "", port)
        elif (kind := _PUBLISHERS.get(node.action)) is not None:
            found = topics.target_refusal(kind, node.config, tenant)
        if found is not None:
            problems.append(f"node {node.id} ({node.action}): {found}")
    return problems


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one outbound node of a flow sends: ``kind`` as the destinations agent
    names it, and ``target`` as configured (templates and secret names unfilled)."""

    kind: str  # http, email, kafka, mqtt or amqp
    target: str
    action: str
    node_id: str


def destinations_of(flow: Flow) -> list[Destination]:
    """The outbound nodes of ``flow``, in node order: a flow node names its target,
    so these are a tenant's destinations."""
    found: list[Destination] = []
    for node in flow.nodes:
        config = node.config
        named = str(config.get("destination", "default"))
        if node.action in _URL_ACTIONS:
            found.append(Destination("http", str(config.get("url", "")), node.action, node.id))
        elif node.action in _PUBLISHERS:
            if node.action == "publish-amqp":  # exchange (may be the default '') / routing key
                name = f"{config.get('exchange', '')}/{config.get('routing_key', '')}"
            else:
                name = str(config.get("topic", ""))
            kind = _PUBLISHERS[node.action]
            found.append(Destination(kind, f"{named}: {name}", node.action, node.id))
        elif node.action == "send-email":
            found.append(Destination("email", f"{named}: {config.get('to')}", node.action, node.id))
    return found
