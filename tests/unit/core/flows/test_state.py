"""The run state: where flows may write, how configured values resolve, stable ids."""

from __future__ import annotations

import pytest

from headwater.core.flows.state import FlowState, clone, parse_path
from headwater.errors import ActionFailed
from tests.unit.core.flows.conftest import NOW, event_document, profile_document


def state(event_id: str = "e1") -> FlowState:
    event = {**event_document(total=3, tags=["a"]), "id": event_id}
    return FlowState("f", event, profile_document(name="Ann"), {"id": "s1"}, NOW)


def test_writes_create_objects_on_the_way() -> None:
    s, payload = state(), {}
    s.write("profile.data.contact.email", "a@b.c", payload)
    s.write("payload.deep.x", 1, payload)
    s.write("memory.m", True, payload)
    assert s.profile["data"] == {"contact": {"email": "a@b.c"}}
    assert payload == {"deep": {"x": 1}} and s.memory == {"m": True}
    assert s.delete("profile.data.contact.email", payload) is True
    assert s.delete("profile.data.nothing.here", payload) is False


@pytest.mark.parametrize(
    "path",
    [
        "profile.traits",
        "profile.stats.events",
        "profile.metadata.time.last_visit",
        "session.id",
        "event.type",
        "memory",
        "user.x",
        "profile..x",
    ],
)
def test_flows_cannot_write_outside_their_roots(path: str) -> None:
    with pytest.raises(ActionFailed):
        state().write(path, 1, {})


def test_a_write_cannot_go_through_a_value() -> None:
    s = state()
    with pytest.raises(ActionFailed, match="not an object"):
        s.write("profile.traits.name.first", "A", {})


def test_configured_values_resolve() -> None:
    s = state()
    value = {
        "total": {"path": "event.properties.total"},
        "list": [{"path": "profile.traits.name"}, "Hi {{ profile.traits.name }}{{profile.nope}}"],
        "plain": {"path": "event.properties.total", "also": 1},  # not a path reference
        "n": 5,
    }
    assert s.resolve(value, {}) == {
        "total": 3,
        "list": ["Ann", "Hi Ann"],
        "plain": {"path": "event.properties.total", "also": 1},
        "n": 5,
    }


def test_paths_and_copies() -> None:
    assert parse_path("payload.a.b") == ("payload", ["a", "b"])
    with pytest.raises(ActionFailed):
        parse_path("nowhere.a")
    original = {"a": [{"b": 1}], "t": (1, 2)}
    copied = clone(original)
    copied["a"][0]["b"] = 2
    assert original == {"a": [{"b": 1}], "t": (1, 2)} and copied["t"] == [1, 2]


def test_stable_ids_follow_event_node_and_occurrence() -> None:
    first, again = state(), state()
    keys = [first.stable_key("n"), first.stable_key("n"), first.stable_key("m")]
    assert len(set(keys)) == 3
    assert [again.stable_key("n"), again.stable_key("n"), again.stable_key("m")] == keys
    assert state("e2").stable_key("n") != keys[0]
