"""Flows in the console's canvas, in a real browser against real processes: built with
the mouse and without it, debugged, deployed and run; an older version restored; a
refused delivery shown as a dead letter. Each test saves screenshots in its tmp dir."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.console_browser import (
    ADMIN,
    SLOW,
    Console,
    Hooks,
    browser_page,
    contrast_failures,
    go,
    log_in,
    shot,
    track,
)

pytestmark = pytest.mark.e2e


def _connect(page: Page, source: str, target: str) -> None:
    """Drag with the mouse from an output port to a node's input."""
    page.get_by_test_id(source).drag_to(
        page.get_by_test_id(target).locator(".react-flow__handle.target")
    )


def test_build_debug_and_deploy_a_flow_with_the_mouse(
    console: Console, hooks: Hooks, tmp_path: Path
) -> None:
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Flows")
        page.get_by_role("button", name="New flow").click()
        canvas = page.locator(".react-flow__pane")
        expect(page.get_by_test_id("node-start")).to_be_visible()
        dropped = {"if": (260, 60), "update-traits": (520, 30), "webhook": (520, 260)}
        for action, (x, y) in dropped.items():
            page.get_by_test_id(f"palette-{action}").drag_to(
                canvas, target_position={"x": x, "y": y}
            )
            expect(page.get_by_test_id(f"node-{action}")).to_be_visible()
        _connect(page, "port-start-payload", "node-if")
        _connect(page, "port-if-true", "node-update-traits")
        _connect(page, "port-update-traits-payload", "node-webhook")
        expect(page.locator(".react-flow__edge")).to_have_count(3)

        settings = page.get_by_role("complementary", name="flow settings")
        page.get_by_test_id("node-if").click()
        settings.get_by_label("condition *").fill("event.properties.total > 100")
        page.get_by_test_id("node-update-traits").click()
        settings.get_by_label("traits *").fill('{"tier": "gold"}')
        page.get_by_test_id("node-webhook").click()
        expect(settings.get_by_role("alert")).to_contain_text("url: required")
        settings.get_by_label("url *").fill(hooks.url)
        expect(settings.get_by_role("alert")).to_have_count(0)
        settings.get_by_label("Flow name").fill(f"gold {uuid.uuid4().hex[:6]}")

        settings.get_by_role("button", name="Save draft").click()
        expect(page.get_by_test_id("flow-note")).to_contain_text("Saved draft version 1")
        settings.get_by_role("button", name="Debug run").click()
        expect(page.get_by_test_id("flow-note")).to_contain_text("1 outbound request")
        for node in ("start", "if", "update-traits", "webhook"):
            expect(page.get_by_test_id(f"trace-{node}")).to_contain_text("ms")
        shot(page, tmp_path, "flow-debugged")

        settings.get_by_role("button", name="Deploy to production").click()
        expect(page.get_by_test_id("flow-note")).to_contain_text("Deployed to production")
        flow_id = page.get_by_test_id("flow-id").inner_text()
        rules = settings.get_by_role("region", name="rules")
        rules.get_by_label("Event type").fill("purchase")
        rules.get_by_label("Rule condition (optional)").fill("event.properties.total >")
        rules.get_by_role("button", name="Add rule").click()  # refused, the error where it is
        expect(rules.get_by_test_id("condition-error")).to_contain_text("column 25")
        rules.get_by_label("Rule condition (optional)").fill("")
        rules.get_by_role("button", name="Add rule").click()
        expect(rules).to_contain_text("on purchase")
        rules.get_by_role("button", name="deploy").click()
        expect(rules).to_contain_text("Rule deployed to production")
        shot(page, tmp_path, "flow-deployed")
    live = httpx.get(
        f"{console.api}/flows/{flow_id}",
        headers={**console.admin, "x-context": "production"},
    )
    assert live.status_code == 200, live.text
    stored = live.json()
    assert sorted(n["action"] for n in stored["nodes"]) == [
        "if",
        "start",
        "update-traits",
        "webhook",
    ]
    assert {"from": "if:true", "to": "update-traits"} in stored["edges"]
    rules = httpx.get(f"{console.api}/rules", headers={**console.admin, "x-context": "production"})
    assert any(r["flow_id"] == flow_id for r in rules.json())

    # the deployed flow runs: a purchase over 100 makes the webhook call the test's server
    buyer = f"p-{uuid.uuid4().hex[:8]}"
    track(console, buyer, "purchase", {"total": 50})  # the condition stops this one
    track(console, buyer, "purchase", {"total": 150})
    deadline = time.monotonic() + SLOW / 1000
    while not hooks.received and time.monotonic() < deadline:
        time.sleep(0.5)
    assert hooks.received, "the webhook never arrived"
    path, body = hooks.received[0]
    assert path == "/hooks/gold"
    assert orjson.loads(body) == {"total": 150}  # the payload that reached the node
    time.sleep(3)  # the purchase of 50 was sent first: its call would be here by now
    assert len(hooks.received) == 1, hooks.received


def test_restore_an_older_flow_version_and_deploy_it(console: Console, tmp_path: Path) -> None:
    staging = {**console.admin, "x-context": "staging"}
    first, second = f"one {uuid.uuid4().hex[:6]}", f"two {uuid.uuid4().hex[:6]}"
    flow = {
        "name": first,
        "nodes": [{"id": "start", "action": "start"}],
        "edges": [],
    }
    made = httpx.post(f"{console.api}/flows", headers=staging, json=flow)
    assert made.status_code == 201, made.text
    flow_id = made.json()["id"]
    changed = httpx.put(
        f"{console.api}/flows/{flow_id}",
        headers=staging,
        json={**flow, "name": second, "version": 1},
    )
    assert changed.status_code == 200, changed.text
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Flows")
        page.get_by_label("open flow").select_option(label=f"{second} (v2)")
        versions = page.get_by_role("region", name="versions")
        versions.get_by_role("button", name="Show versions").click()
        listed = versions.get_by_role("list", name="flow versions")
        expect(listed.get_by_role("listitem")).to_have_count(2)
        versions.get_by_role("button", name="restore v1").click()
        expect(page.get_by_test_id("restored")).to_contain_text("staging version 3")
        settings = page.get_by_role("complementary", name="flow settings")
        expect(settings.get_by_label("Flow name")).to_have_value(first)
        settings.get_by_role("button", name="Deploy to production").click()
        expect(page.get_by_test_id("flow-note")).to_contain_text("Deployed to production")
        versions.get_by_role("button", name="Show versions").click()
        expect(listed.get_by_role("listitem")).to_have_count(3)
        shot(page, tmp_path, "flow-versions")
    live = httpx.get(
        f"{console.api}/flows/{flow_id}", headers={**console.admin, "x-context": "production"}
    )
    assert live.json()["name"] == first


def _deployed(console: Console, kind: str, body: dict[str, object]) -> str:
    """A flow or rule made in staging through the API and deployed; its id."""
    made = httpx.post(f"{console.api}/{kind}", headers=console.admin, json=body)
    assert made.status_code == 201, made.text
    entity = str(made.json()["id"])
    deployed = httpx.post(f"{console.api}/{kind}/{entity}/deploy", headers=console.admin)
    assert deployed.status_code == 200, deployed.text
    return entity


def test_a_refused_delivery_shows_as_a_dead_letter_and_on_the_dashboard(
    console: Console, hooks: Hooks, tmp_path: Path
) -> None:
    kind, name = f"dl-{uuid.uuid4().hex[:6]}", f"gone {uuid.uuid4().hex[:6]}"
    gone = hooks.url.rsplit("/", 1)[0] + "/gone"  # the test's server answers 404 there
    flow = {
        "name": name,
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "notify", "action": "webhook", "config": {"url": gone}},
        ],
        "edges": [{"from": "start", "to": "notify"}],
    }
    flow_id = _deployed(console, "flows", flow)
    _deployed(console, "rules", {"flow_id": flow_id, "event_type": kind})
    track(console, f"p-{uuid.uuid4().hex[:8]}", kind)
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Destinations")
        expect(page.get_by_role("table", name="destinations")).to_contain_text(name)
        letters = page.get_by_role("table", name="dead letters")
        expect(letters).to_contain_text("404", timeout=SLOW)  # the screen polls every 10 s
        letters.locator("tr.clickable").first.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_label("payload")).to_contain_text(gone)
        shot(page, tmp_path, "destinations")

        go(page, "Dashboard")
        expect(page.get_by_test_id("kpi-dead-letters")).not_to_contain_text("…")
        assert int(page.get_by_test_id("kpi-dead-letters").locator("span").inner_text()) >= 1
        expect(page.get_by_role("table", name="worker lag")).to_contain_text(".outbound")
        shot(page, tmp_path, "dashboard-operations")


def test_a_flow_built_without_the_mouse_with_readable_contrast(
    console: Console, tmp_path: Path
) -> None:
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Flows")

        def press(target: Locator) -> None:
            target.focus()
            page.keyboard.press("Enter")

        press(page.get_by_role("button", name="New flow"))
        press(page.get_by_test_id("palette-if"))
        press(page.get_by_test_id("palette-webhook"))
        expect(page.get_by_test_id("node-webhook")).to_be_visible()
        panel = page.get_by_role("region", name="nodes and connections")
        for source, port, target in (("start", "payload", "if"), ("if", "true", "webhook")):
            panel.get_by_label("Selected node").select_option(source)
            panel.get_by_label("from port").select_option(port)
            panel.get_by_label("to node").select_option(target)
            press(panel.get_by_role("button", name="Connect", exact=True))
        edges = page.locator(".react-flow__edge")
        expect(edges).to_have_count(2)
        expect(panel.get_by_role("list", name="connections")).to_contain_text("if:true → webhook")
        # a cycle is not offered: webhook cannot feed if
        panel.get_by_label("Selected node").select_option("webhook")
        expect(panel.get_by_label("to node").locator("option[value=if]")).to_be_disabled()
        shot(page, tmp_path, "flow-keyboard")
        assert contrast_failures(page) == []

        panel.get_by_label("Selected node").select_option("if")
        press(panel.get_by_role("button", name="disconnect if:true → webhook"))
        expect(edges).to_have_count(1)
        panel.get_by_label("Selected node").select_option("webhook")
        press(page.get_by_role("button", name="Remove node"))
        expect(page.get_by_test_id("node-webhook")).to_have_count(0)
