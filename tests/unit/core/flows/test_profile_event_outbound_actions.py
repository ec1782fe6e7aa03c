"""Profile, event and outbound actions, each on its own. Outbound actions only record
requests: nothing here opens a connection."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from headwater.core.flows import ActionRegistry
from headwater.core.flows.model import Flow
from headwater.core.flows.validation import validate_flow
from headwater.errors import ActionFailed, FlowInvalid
from tests.unit.core.flows.conftest import NOW, Ran, event_document, profile_document

Run = Callable[..., Ran]


def test_update_traits(run_action: Run) -> None:
    config = {
        "traits": {
            "plan": "pro",
            "spent": {"path": "event.properties.total"},
            "hi": "Hi {{profile.traits.name}}",
        }
    }
    ran = run_action(
        "update-traits", config, event=event_document(total=9), profile=profile_document(name="Ann")
    )
    assert ran.state.profile["traits"] == {"name": "Ann", "plan": "pro", "spent": 9, "hi": "Hi Ann"}


def test_add_and_remove_segment(run_action: Run) -> None:
    profile = profile_document()
    profile["segments"] = ["a"]
    ran = run_action("add-segment", {"segment": "vip"}, profile=profile)
    assert ran.state.profile["segments"] == ["a", "vip"]
    ran = run_action("add-segment", {"segment": "vip"}, profile=ran.state.profile)
    assert ran.state.profile["segments"] == ["a", "vip"]
    ran = run_action("remove-segment", {"segment": "a"}, profile=ran.state.profile)
    assert ran.state.profile["segments"] == ["vip"]


def test_increase_and_decrease_interest(run_action: Run) -> None:
    ran = run_action("increase-interest", {"interest": "sport", "by": 2.5})
    assert ran.state.profile["interests"] == {"sport": 2.5}
    ran = run_action("decrease-interest", {"interest": "sport"}, profile=ran.state.profile)
    assert ran.state.profile["interests"] == {"sport": 1.5}
    with pytest.raises(ActionFailed):
        run_action("increase-interest", {"interest": "sport", "by": "x"})


def test_grant_and_revoke_consent_at_the_event_time(run_action: Run) -> None:
    ran = run_action("grant-consent", {"consent": "marketing"})
    assert ran.state.profile["consents"] == {"marketing": {"granted": True, "time": NOW}}
    ran = run_action("revoke-consent", {"consent": "marketing"}, profile=ran.state.profile)
    assert ran.state.profile["consents"] == {"marketing": {"granted": False, "time": NOW}}


def test_increment_counter(run_action: Run) -> None:
    ran = run_action("increment-counter", {"counter": "orders"})
    ran = run_action("increment-counter", {"counter": "orders", "by": 2}, profile=ran.state.profile)
    assert ran.state.profile["data"]["counters"] == {"orders": 3}


def test_inject_event(run_action: Run) -> None:
    ran = run_action(
        "inject-event",
        {"type": "vip-upgrade", "properties": {"from": "{{profile.traits.plan}}"}},
        profile=profile_document(plan="free"),
    )
    (event,) = ran.state.events
    assert event["type"] == "vip-upgrade" and event["time"] == NOW
    assert event["properties"] == {"from": "free"}
    assert event["caused_by"] == {"event": "e1", "flow": "flow-1", "node": "n1", "depth": 1}
    again = run_action(
        "inject-event", {"type": "x"}, event={**event_document(), "caused_by": event["caused_by"]}
    )
    assert again.state.events[0]["caused_by"]["depth"] == 2
    assert ran.state.requests == []


def _one_request(ran: Ran) -> dict:
    (request,) = ran.state.requests
    assert len(request.idempotency_key) == 32 and request.event_id == "e1"
    return request.to_dict()


def test_http_call(run_action: Run) -> None:
    config = {
        "url": "https://crm.example/p/{{profile.id}}",
        "method": "PUT",
        "headers": {"X-A": "1"},
        "body": {"plan": {"path": "profile.traits.plan"}},
    }
    request = _one_request(run_action("http-call", config, profile=profile_document(plan="pro")))
    assert request["kind"] == "http"
    assert request["target"] == {
        "url": "https://crm.example/p/p1",
        "method": "PUT",
        "headers": {"X-A": "1"},
        "timeout_s": 10,
    }
    assert request["body"] == {"plan": "pro"}


def test_webhook_sends_the_payload(run_action: Run) -> None:
    request = _one_request(run_action("webhook", {"url": "http://hooks.local/x"}, payload={"a": 1}))
    assert (request["kind"], request["target"]["method"], request["body"]) == (
        "http",
        "POST",
        {"a": 1},
    )


def test_slack_message(run_action: Run) -> None:
    config = {"url": "https://hooks.slack.example/T", "text": "New VIP {{profile.id}}"}
    assert _one_request(run_action("slack-message", config))["body"] == {"text": "New VIP p1"}


def test_send_email(run_action: Run) -> None:
    config = {
        "to": "{{profile.traits.email}}",
        "subject": "Hi",
        "body": "Hello {{profile.traits.name}}",
        "destination": "smtp-main",
    }
    request = _one_request(
        run_action("send-email", config, profile=profile_document(email="a@b.c", name="Ann"))
    )
    assert request["kind"] == "email"
    # no "from": the destinations agent uses HEADWATER_OUTBOUND_SMTP_FROM
    assert request["target"] == {"destination": "smtp-main", "to": "a@b.c"}
    assert request["body"] == {"subject": "Hi", "text": "Hello Ann"}


def test_send_email_names_its_sender_and_several_recipients_only_as_a_list(run_action: Run) -> None:
    config = {
        "to": ["{{profile.traits.email}}", "ops@example.com"],
        "from": "shop@example.com",
        "subject": "Hi",
        "body": "x",
    }
    request = _one_request(
        run_action("send-email", config, profile=profile_document(email="a@b.c"))
    )
    assert request["target"]["to"] == ["a@b.c", "ops@example.com"]
    assert request["target"]["from"] == "shop@example.com"


@pytest.mark.parametrize("action", ["webhook", "http-call", "slack-message"])
def test_a_url_whose_host_comes_from_data_is_refused(run_action: Run, action: str) -> None:
    config = {"url": "http://{{event.properties.h}}/x", "text": "t"}
    if action != "slack-message":
        del config["text"]
    with pytest.raises(ActionFailed, match="scheme and host must be literal"):
        run_action(action, config, event=event_document(h="169.254.169.254"))


def test_a_flow_with_a_templated_host_does_not_validate(registry: ActionRegistry) -> None:
    flow = {
        "id": "f",
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "hook", "action": "webhook", "config": {"url": "http://{{event.x}}:80/"}},
        ],
        "edges": [{"from": "start", "to": "hook"}],
    }
    with pytest.raises(FlowInvalid, match="scheme and host must be literal"):
        validate_flow(Flow.from_dict(flow), registry)


def test_publish_kafka(run_action: Run) -> None:
    request = _one_request(
        run_action("publish-kafka", {"topic": "crm", "key": "{{profile.id}}"}, payload={"v": 1})
    )
    assert request["kind"] == "kafka"
    assert request["target"] == {"destination": "default", "topic": "crm", "key": "p1"}
    assert request["body"] == {"v": 1}


def test_publish_mqtt(run_action: Run) -> None:
    request = _one_request(
        run_action("publish-mqtt", {"topic": "devices/p1", "payload": {"on": True}, "qos": 2})
    )
    assert request["kind"] == "mqtt"
    assert request["target"] == {
        "destination": "default",
        "topic": "devices/p1",
        "qos": 2,
        "retain": False,
    }
    assert request["body"] == {"on": True}


def test_publish_amqp(run_action: Run) -> None:
    request = _one_request(
        run_action(
            "publish-amqp", {"exchange": "cdp", "routing_key": "profile.vip"}, payload={"id": 1}
        )
    )
    assert request["kind"] == "amqp"
    assert request["target"] == {
        "destination": "default",
        "exchange": "cdp",
        "routing_key": "profile.vip",
    }
    assert request["body"] == {"id": 1}


def test_idempotency_keys_repeat_on_replay_and_differ_per_occurrence(run_action: Run) -> None:
    first = run_action("webhook", {"url": "http://hooks.local/x"}).state.requests[0].idempotency_key
    replayed = (
        run_action("webhook", {"url": "http://hooks.local/x"}).state.requests[0].idempotency_key
    )
    assert first == replayed
    other_event = run_action(
        "webhook", {"url": "http://hooks.local/x"}, event={**event_document(), "id": "e2"}
    )
    assert other_event.state.requests[0].idempotency_key != first
