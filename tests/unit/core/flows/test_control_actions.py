"""Flow-control actions, each on its own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from headwater.core.conditions.values import duration_ms
from tests.unit.core.flows.conftest import NOW, Ran, profile_document

Run = Callable[..., Ran]


def test_start_and_end(run_action: Run) -> None:
    assert run_action("start", payload={"a": 1}).outputs == [("payload", {"a": 1})]
    assert run_action("end", payload={"a": 1}).outputs == []


@pytest.mark.parametrize(("plan", "port"), [("pro", "true"), ("free", "false")])
def test_if_routes_by_condition(run_action: Run, plan: str, port: str) -> None:
    ran = run_action(
        "if",
        {"condition": 'profile.traits.plan = "pro" and payload.total > 10'},
        payload={"total": 20},
        profile=profile_document(plan=plan),
    )
    assert ran.outputs == [(port, {"total": 20})]


def test_if_sees_the_event_time_as_now(run_action: Run) -> None:
    config = {"condition": "profile.metadata.time.last_visit >= now - 1h"}
    assert run_action("if", config).port == "true"


@pytest.mark.parametrize(("plan", "port"), [("free", "free"), ("pro", "pro"), ("gold", "default")])
def test_switch_routes_to_the_matching_case(run_action: Run, plan: str, port: str) -> None:
    ran = run_action(
        "switch",
        {"path": "profile.traits.plan", "cases": ["free", "pro"]},
        profile=profile_document(plan=plan),
    )
    assert ran.port == port


def test_merge_combines_every_message(run_action: Run) -> None:
    ran = run_action("merge", messages=[("payload", {"a": 1, "b": 1}), ("payload", {"b": 2})])
    assert ran.outputs == [("payload", {"a": 1, "b": 2})]


@pytest.mark.parametrize(("email", "port"), [("a@b.c", "true"), ("", "false"), (None, "false")])
def test_data_exists(run_action: Run, email: str | None, port: str) -> None:
    ran = run_action(
        "data-exists", {"path": "event.properties.email"}, event={"properties": {"email": email}}
    )
    assert ran.port == port


def test_is_new_profile(run_action: Run) -> None:
    assert run_action("is-new-profile").port == "true"
    older = profile_document()
    older["stats"]["events"] = 5
    assert run_action("is-new-profile", profile=older).port == "false"


def test_is_new_visit(run_action: Run) -> None:
    assert run_action("is-new-visit", session={"events": 1}).port == "true"
    assert run_action("is-new-visit", session={"events": 3}).port == "false"


def test_delay_request_schedules_an_event_after_the_event_time(run_action: Run) -> None:
    ran = run_action("delay-request", {"type": "reminder", "delay": "2d", "properties": {"n": 1}})
    (request,) = ran.state.requests
    assert request.kind == "schedule"
    assert request.not_before_ms == NOW + 2 * 86_400_000
    assert request.body["type"] == "reminder" and request.body["time"] == NOW + duration_ms("2d")
    assert request.body["properties"] == {"n": 1}
    assert ran.state.events == []  # nothing injected now
