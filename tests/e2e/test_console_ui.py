"""The console's main tasks in a real browser against real processes: log in, see a
collected event on the dashboard and in its profile's timeline, create a source and send
with its write key, see a segment's live count, and a viewer who cannot edit. Each test
saves screenshots in its tmp dir."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import UpStack, run_up
from tests.e2e.console_browser import (
    ADMIN,
    PASSWORD,
    VIEWER,
    Console,
    Hooks,
    browser_page,
    console_on,
    contrast_failures,
    go,
    log_in,
    loopback_hooks,
    need_built_console,
    own_prefixes,
    shot,
)
from tests.support.services import Endpoints

pytestmark = pytest.mark.e2e

TMS_KEY = "console e2e tms key, 32 characters or more"
PREFIXES = own_prefixes()
SLOW = 90_000  # ms: collector -> Kafka -> worker -> search, on a busy machine


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    with loopback_hooks() as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    endpoints: Endpoints, hooks: Hooks, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UpStack]:
    need_built_console()
    external = not endpoints.standins
    port = hooks.url.split(":")[2].split("/")[0]
    settings = {
        **PREFIXES,
        "HEADWATER_OUTBOUND_ALLOW": f'["127.0.0.1:{port}"]',  # only the test's server
        "HEADWATER_TMS_KEY": TMS_KEY,
    }
    with run_up(
        tmp_path_factory.mktemp("console"), endpoints if external else None, settings=settings
    ) as up:
        yield up


@pytest.fixture(scope="module")
def console(stack: UpStack) -> Console:
    return console_on(stack, PREFIXES)


def _track(
    console: Console, profile: str, kind: str, properties: dict[str, object] | None = None
) -> None:
    answer = httpx.post(
        f"{console.collector}/track",
        json={
            "source": {"id": console.source_id},
            "profile": {"id": profile},
            "events": [{"type": kind, "properties": properties or {"from": "console test"}}],
        },
    )
    assert answer.status_code == 200, answer.text


def test_event_shows_on_the_dashboard_and_in_the_profile_timeline(
    console: Console, tmp_path: Path
) -> None:
    profile, kind = f"p-{uuid.uuid4().hex[:8]}", f"console-{uuid.uuid4().hex[:6]}"
    _track(console, profile, kind)
    with browser_page() as page:
        log_in(page, console, ADMIN)
        expect(page.get_by_role("radio", name="production")).to_have_attribute(
            "aria-checked", "true"
        )
        by_type = page.get_by_role("table", name="events by type")
        expect(by_type).to_contain_text(kind, timeout=SLOW)  # the page polls every 10 s
        shot(page, tmp_path, "dashboard")

        go(page, "Profiles")
        page.get_by_label("Condition").fill(f'profile.id = "{profile}"')
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name=profile).click()
        timeline = page.get_by_role("list", name="timeline")
        expect(timeline).to_contain_text(kind, timeout=SLOW)
        expect(timeline).to_contain_text("Session")
        shot(page, tmp_path, "profile")

        go(page, "Profiles")  # a wrong condition: where, why
        page.get_by_label("Condition").fill("profile.stats.visits >=")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_test_id("condition-error")).to_contain_text("column 24")
        shot(page, tmp_path, "profiles-error")


def test_create_a_source_and_send_with_its_write_key(console: Console, tmp_path: Path) -> None:
    name, kind = f"Shop {uuid.uuid4().hex[:6]}", f"sdk-{uuid.uuid4().hex[:6]}"
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Sources")
        page.get_by_role("textbox", name="New source").fill(name)
        page.get_by_role("button", name="Create source").click()
        key = page.get_by_test_id("write-key").inner_text(timeout=15_000).strip()
        assert re.fullmatch(r"hw_[0-9a-f]{32}", key), key
        expect(page.get_by_test_id("snippet")).to_contain_text(key)  # analytics.js snippet
        shot(page, tmp_path, "source-created")

        # a Segment-compatible call with the new write key (HTTP Basic, key as user)
        auth = base64.b64encode(f"{key}:".encode()).decode()
        sent = httpx.post(
            f"{console.collector}/v1/track",
            headers={"authorization": f"Basic {auth}"},
            json={"userId": f"u-{kind}", "event": kind, "properties": {"plan": "pro"}},
        )
        assert sent.status_code == 200, sent.text

        go(page, "Events")
        page.get_by_label("type", exact=True).fill(kind)
        page.get_by_role("button", name="Filter").click()
        events = page.get_by_role("table", name="events")
        for _ in range(30):  # until the worker has stored it
            if kind in events.inner_text():
                break
            page.wait_for_timeout(3000)
            page.get_by_role("button", name="Filter").click()
        expect(events).to_contain_text(kind)
        events.get_by_text(kind).click()  # the detail: the event as JSON
        expect(page.locator("pre.json")).to_contain_text('"plan": "pro"')
        shot(page, tmp_path, "events")


def test_segment_editor_counts_members_live(console: Console, tmp_path: Path) -> None:
    profile = f"p-{uuid.uuid4().hex[:8]}"
    _track(console, profile, "segment-check")
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Segments")
        page.get_by_label("Name").fill(f"only {profile}")
        condition = page.get_by_label("Condition")
        condition.fill(f'profile.id = "{profile}" and profile.stats.events >= 1')
        count = page.get_by_test_id("live-count")
        for _ in range(30):  # until the worker has written the profile
            if count.count() and count.inner_text() == "1":
                break
            page.wait_for_timeout(3000)
            condition.press("End")
            condition.type(" ")
        expect(count).to_have_text("1")
        expect(page.get_by_role("status").filter(has_text=profile)).to_be_visible()
        shot(page, tmp_path, "segment-live-count")
        page.get_by_role("button", name="Save segment").click()
        expect(page.get_by_role("table", name="segments")).to_contain_text(f"only {profile}")
        shot(page, tmp_path, "segments")


def test_a_viewer_cannot_edit(console: Console, tmp_path: Path) -> None:
    profile = f"p-{uuid.uuid4().hex[:8]}"
    _track(console, profile, "viewer-check")
    with browser_page() as page:
        log_in(page, console, VIEWER)
        page.get_by_label("user menu").click()
        expect(page.get_by_test_id("role")).to_have_text("marketer")
        go(page, "Sources")
        expect(page.get_by_test_id("read-only")).to_be_visible()
        expect(page.get_by_role("button", name="Create source")).to_have_count(0)
        expect(page.get_by_role("button", name="rotate")).to_have_count(0)
        expect(page.get_by_role("checkbox").first).to_be_disabled()
        shot(page, tmp_path, "viewer-sources")
        go(page, "Segments")
        expect(page.get_by_role("button", name="Save segment")).to_have_count(0)
        page.goto(f"{console.api}/ui/profiles/{profile}")
        expect(page.get_by_role("table", name="stats")).to_be_visible(timeout=SLOW)
        expect(page.get_by_role("button", name="Forget")).to_have_count(0)
        shot(page, tmp_path, "viewer-profile")
    # the API is the gate, whatever a page shows
    viewer = httpx.post(
        f"{console.api}/user/token", data={"username": VIEWER, "password": PASSWORD}
    )
    token = {"authorization": f"Bearer {viewer.json()['access_token']}"}
    refused = httpx.post(f"{console.api}/sources", headers=token, json={"name": "x"})
    assert refused.status_code == 403


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
    _track(console, buyer, "purchase", {"total": 50})  # the condition stops this one
    _track(console, buyer, "purchase", {"total": 150})
    deadline = time.monotonic() + SLOW / 1000
    while not hooks.received and time.monotonic() < deadline:
        time.sleep(0.5)
    assert hooks.received, "the webhook never arrived"
    path, body = hooks.received[0]
    assert path == "/hooks/gold"
    assert orjson.loads(body) == {"total": 150}  # the payload that reached the node
    time.sleep(3)  # the purchase of 50 was sent first: its call would be here by now
    assert len(hooks.received) == 1, hooks.received


def test_an_admin_issues_an_api_key_that_works(console: Console, tmp_path: Path) -> None:
    name = f"export {uuid.uuid4().hex[:6]}"
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Access")
        expect(page.get_by_role("table", name="users")).to_contain_text(VIEWER)
        keys = page.get_by_role("region", name="API keys")
        keys.get_by_label("Name").fill(name)
        keys.get_by_label("new key's role").select_option("marketer")
        keys.get_by_role("button", name="Create key").click()
        key = page.get_by_test_id("api-key").inner_text(timeout=15_000).strip()
        expect(page.get_by_role("table", name="API keys")).to_contain_text(name)
        shot(page, tmp_path, "access")
    assert httpx.get(f"{console.api}/events", headers={"x-api-key": key}).status_code == 200


def test_an_event_type_makes_events_invalid_and_the_filter_finds_them(
    console: Console, tmp_path: Path
) -> None:
    kind = f"order-{uuid.uuid4().hex[:6]}"
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Data settings")
        types = page.get_by_role("region", name="Event types")  # forms from the API's schemas
        types.get_by_label("event_type *").fill(kind)
        types.get_by_label("json_schema").fill('{"type": "object", "required": ["total"]}')
        types.get_by_role("button", name="Create").click()
        expect(types.get_by_role("table")).to_contain_text(kind)
        mappings = page.get_by_role("region", name="Mappings")
        mappings.get_by_label("event_type *").fill(kind)
        mappings.get_by_role("button", name="Add to fields").click()
        mappings.get_by_label("fields 1 source").fill("properties.total")
        expect(mappings.get_by_role("alert")).to_contain_text("row 1: target: required")
        mappings.get_by_label("fields 1 target").fill("traits.last_total")
        mappings.get_by_role("button", name="Create").click()
        expect(mappings.get_by_role("table", name="Mappings list")).to_contain_text(kind)
        merge = page.get_by_role("region", name="Merge settings")
        expect(merge).to_contain_text("the built-in defaults apply")
        merge.get_by_role("button", name="Save merge settings").click()  # the defaults, saved
        expect(merge).to_contain_text("Version 1")
        shot(page, tmp_path, "data-settings")

        go(page, "Events")
        page.get_by_label("type", exact=True).fill(kind)
        page.get_by_label("validity").select_option("invalid")
        events = page.get_by_role("table", name="events")
        for _ in range(30):  # until the worker has the event type, then the event stored
            _track(console, f"p-{kind}", kind, {"note": "no total"})
            page.wait_for_timeout(3000)
            page.get_by_role("button", name="Filter").click()
            page.wait_for_timeout(500)
            if kind in events.inner_text():
                break
        expect(events).to_contain_text("invalid")
        events.get_by_text(kind).first.click()
        expect(page.locator("tr.detail ul.error")).to_contain_text("total")
        shot(page, tmp_path, "events-invalid")
        page.get_by_label("validity").select_option("valid")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("0 found")).to_be_visible()


def test_the_operator_lists_and_creates_tenants(console: Console, tmp_path: Path) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    with browser_page() as page:
        log_in(page, console, ADMIN)
        go(page, "Tenants")
        page.get_by_label("TMS key").fill("wrong key, wrong key, wrong key, wrong")
        page.get_by_role("button", name="Open").click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.get_by_label("TMS key").fill(TMS_KEY)
        page.get_by_role("button", name="Open").click()
        listed = page.get_by_role("table", name="tenants")
        expect(listed).to_contain_text("default")
        form = page.get_by_role("form", name="new tenant")
        form.get_by_label("id").fill(tenant)
        form.get_by_label("name").fill("Second shop")
        form.get_by_label("admin email").fill(f"admin@{tenant}.example")
        form.get_by_label("admin password").fill(PASSWORD)
        form.get_by_role("button", name="Create tenant").click()
        expect(listed).to_contain_text(tenant, timeout=30_000)
        page.get_by_role("button", name=f"suspend {tenant}").click()
        page.get_by_role("button", name=f"Yes, suspend {tenant}").click()  # asked first
        expect(listed.get_by_role("row").filter(has_text=tenant)).to_contain_text("suspended")
        shot(page, tmp_path, "tenants")


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


def test_keyboard_only_and_readable_contrast(console: Console, tmp_path: Path) -> None:
    _track(console, f"p-{uuid.uuid4().hex[:8]}", "keyboard-check")
    with browser_page() as page:
        page.goto(f"{console.api}/ui/")
        page.get_by_label("Email").focus()  # the first field of the page
        page.keyboard.type(ADMIN)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Dashboard").wait_for(timeout=15_000)

        def tab_to(name: str) -> None:
            for _ in range(60):
                page.keyboard.press("Tab")
                focused = page.evaluate(
                    "() => (document.activeElement.getAttribute('aria-label') || "
                    "document.activeElement.textContent || '').trim()"
                )
                if focused == name:
                    return
            raise AssertionError(f"Tab never reached {name!r}")

        tab_to("Events")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/ui/events$"))
        expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
        tab_to("Filter")
        page.keyboard.press("Enter")
        rows = page.get_by_role("table", name="events").locator("tr.clickable")
        expect(rows.first).to_be_visible(timeout=SLOW)
        rows.first.focus()
        page.keyboard.press("Enter")
        expect(page.locator("pre.json")).to_be_visible()

        failures = {}
        for screen in ("Dashboard", "Profiles", "Events", "Sources", "Segments", "Destinations"):
            go(page, screen)
            page.wait_for_timeout(1500)
            failures[screen] = contrast_failures(page)
        go(page, "Data settings")
        page.get_by_role("region", name="Merge settings").wait_for()
        failures["Data settings"] = contrast_failures(page)
        shot(page, tmp_path, "contrast")
    assert {screen: found for screen, found in failures.items() if found} == {}


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
    _track(console, f"p-{uuid.uuid4().hex[:8]}", kind)
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
