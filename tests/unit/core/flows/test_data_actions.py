"""Data and text actions, each on its own."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from headwater.errors import ActionFailed
from tests.unit.core.flows.conftest import NOW, Ran, event_document, profile_document

Run = Callable[..., Ran]


def test_set_value_literal_path_and_template(run_action: Run) -> None:
    event = event_document(total=12, name="Ann")
    ran = run_action("set-value", {"path": "profile.traits.plan", "value": "pro"}, event=event)
    assert ran.state.profile["traits"]["plan"] == "pro"
    ran = run_action(
        "set-value", {"path": "memory.t", "value": {"path": "event.properties.total"}}, event=event
    )
    assert ran.state.memory == {"t": 12}
    ran = run_action(
        "set-value",
        {"path": "payload.greeting", "value": "Hi {{event.properties.name}}"},
        event=event,
    )
    assert ran.payload == {"greeting": "Hi Ann"}


def test_set_value_refuses_paths_flows_do_not_own(run_action: Run) -> None:
    for path in ("profile.stats.visits", "profile.id", "session.id", "event.type"):
        with pytest.raises(ActionFailed):
            run_action("set-value", {"path": path, "value": 1})


def test_copy_value(run_action: Run) -> None:
    ran = run_action(
        "copy-value",
        {"from": "event.properties.email", "to": "profile.data.contact.email"},
        event=event_document(email="a@b.c"),
    )
    assert ran.state.profile["data"]["contact"]["email"] == "a@b.c"


def test_delete_value(run_action: Run) -> None:
    ran = run_action(
        "delete-value",
        {"path": "profile.traits.plan"},
        profile=profile_document(plan="pro", keep=1),
    )
    assert ran.state.profile["traits"] == {"keep": 1}


def test_append_value_once(run_action: Run) -> None:
    config = {"path": "profile.traits.tags", "value": "b"}
    ran = run_action("append-value", config, profile=profile_document(tags=["a"]))
    assert ran.state.profile["traits"]["tags"] == ["a", "b"]
    config = {"path": "profile.traits.tags", "value": "a"}
    ran = run_action("append-value", config, profile=profile_document(tags=["a"]))
    assert ran.state.profile["traits"]["tags"] == ["a"]


@pytest.mark.parametrize(
    ("operation", "right", "expected"),
    [
        ("add", 3, 13),
        ("subtract", 3, 7),
        ("multiply", 3, 30),
        ("divide", 4, 2.5),
        ("min", 3, 3),
        ("max", 30, 30),
    ],
)
def test_math(run_action: Run, operation: str, right: int, expected: float) -> None:
    config = {
        "operation": operation,
        "left": {"path": "event.properties.n"},
        "right": right,
        "to": "payload.r",
    }
    assert run_action("math", config, event=event_document(n=10)).payload == {"r": expected}


def test_math_round_and_its_failures(run_action: Run) -> None:
    config = {"operation": "round", "left": 3.14159, "digits": 2, "to": "payload.r"}
    assert run_action("math", config).payload == {"r": 3.14}
    config = {"operation": "abs", "left": -4, "to": "payload.r"}
    assert run_action("math", config).payload == {"r": 4}
    with pytest.raises(ActionFailed, match="division by zero"):
        run_action("math", {"operation": "divide", "left": 1, "right": 0, "to": "payload.r"})
    with pytest.raises(ActionFailed, match="not a number"):
        run_action(
            "math",
            {
                "operation": "add",
                "left": {"path": "event.properties.x"},
                "right": 1,
                "to": "payload.r",
            },
        )


def test_value_mapping(run_action: Run) -> None:
    config = {
        "path": "event.properties.c",
        "mapping": {"NO": "Norway", "true": "yes"},
        "default": "?",
        "to": "payload.country",
    }
    assert run_action("value-mapping", config, event=event_document(c="NO")).payload == {
        "country": "Norway"
    }
    assert run_action("value-mapping", config, event=event_document(c="SE")).payload == {
        "country": "?"
    }
    assert run_action("value-mapping", config, event=event_document(c=True)).payload == {
        "country": "yes"
    }


def test_hash_value(run_action: Run) -> None:
    ran = run_action(
        "hash-value",
        {"path": "event.properties.email", "salt": "s"},
        event=event_document(email="a@b.c"),
    )
    assert ran.state.event["properties"]["email"] == hashlib.sha256(b"sa@b.c").hexdigest()


def test_mask_value(run_action: Run) -> None:
    event = event_document(card="4111222233334444", pin="12")
    ran = run_action(
        "mask-value", {"path": "event.properties.card", "keep_start": 2, "keep_end": 4}, event=event
    )
    assert ran.state.event["properties"]["card"] == "41**********4444"
    ran = run_action("mask-value", {"path": "event.properties.pin", "keep_end": 4}, event=event)
    assert ran.state.event["properties"]["pin"] == "**"


def test_generate_uuid_is_stable_per_event_and_node(run_action: Run) -> None:
    first = run_action("generate-uuid", {"to": "payload.id"}).payload["id"]
    again = run_action("generate-uuid", {"to": "payload.id"}).payload["id"]
    other = run_action(
        "generate-uuid", {"to": "payload.id"}, event={**event_document(), "id": "e2"}
    ).payload["id"]
    assert first == again != other


def test_parse_date(run_action: Run) -> None:
    event = event_document(at="2025-11-29T00:00:00Z")
    ran = run_action("parse-date", {"path": "event.properties.at", "to": "payload.ms"}, event=event)
    assert ran.payload == {"ms": 1_764_374_400_000}
    ran = run_action(
        "parse-date",
        {"path": "payload.ms", "to": "payload.iso", "output": "iso"},
        payload={"ms": 1_764_374_400_000},
    )
    assert ran.payload["iso"] == "2025-11-29T00:00:00.000Z"
    with pytest.raises(ActionFailed):
        run_action(
            "parse-date",
            {"path": "event.properties.bad", "to": "payload.x"},
            event=event_document(bad="soon"),
        )


def test_time_difference_is_measured_from_the_event_time(run_action: Run) -> None:
    event = event_document(signed_up=NOW - 3 * 3_600_000)
    ran = run_action(
        "time-difference",
        {"path": "event.properties.signed_up", "unit": "h", "to": "payload.h"},
        event=event,
    )
    assert ran.payload == {"h": 3}


def test_template(run_action: Run) -> None:
    config = {
        "template": "{{profile.traits.name}} bought {{ event.properties.sku }}"
        "{{event.properties.none}}",
        "to": "payload.text",
    }
    ran = run_action(
        "template", config, event=event_document(sku="X1"), profile=profile_document(name="Ann")
    )
    assert ran.payload == {"text": "Ann bought X1"}


def test_lowercase_and_uppercase(run_action: Run) -> None:
    event = event_document(email="Ann@Example.COM")
    assert (
        run_action("lowercase", {"path": "event.properties.email"}, event=event).state.event[
            "properties"
        ]["email"]
        == "ann@example.com"
    )
    assert run_action(
        "uppercase", {"path": "event.properties.email", "to": "payload.e"}, event=event
    ).payload == {"e": "ANN@EXAMPLE.COM"}
    with pytest.raises(ActionFailed):
        run_action("lowercase", {"path": "event.properties.missing"}, event=event)


def test_regex_match(run_action: Run) -> None:
    config = {
        "path": "event.properties.email",
        "pattern": r"@(?P<domain>[\w.]+)$",
        "to": "payload.m",
    }
    ran = run_action("regex-match", config, event=event_document(email="a@ex.com"))
    assert ran.outputs == [("matched", {"m": {"domain": "ex.com"}})]
    assert run_action("regex-match", config, event=event_document(email="nope")).port == "unmatched"


def test_regex_replace(run_action: Run) -> None:
    config = {
        "path": "event.properties.phone",
        "pattern": r"\D",
        "replacement": "",
        "to": "payload.p",
    }
    assert run_action(
        "regex-replace", config, event=event_document(phone="+47 (22) 33")
    ).payload == {"p": "472233"}


def test_split_string(run_action: Run) -> None:
    config = {"path": "event.properties.tags", "separator": ",", "to": "profile.traits.tags"}
    ran = run_action("split-string", config, event=event_document(tags="a, b,,c "))
    assert ran.state.profile["traits"]["tags"] == ["a", "b", "c"]


def test_parse_url(run_action: Run) -> None:
    event = event_document(url="https://shop.example:8443/p/1?utm_source=mail&x=1&x=2#top")
    ran = run_action("parse-url", {"path": "event.properties.url", "to": "payload.u"}, event=event)
    assert ran.payload["u"] == {
        "scheme": "https",
        "host": "shop.example",
        "port": 8443,
        "path": "/p/1",
        "query": {"utm_source": "mail", "x": ["1", "2"]},
        "fragment": "top",
    }
