"""The console's screens in a real browser against real processes: log in, see a
collected event on the dashboard and in its profile's timeline, create a source and send
with its write key, see a segment's live count, a viewer who cannot edit, API keys, event
types, tenants, and the whole console by keyboard with readable contrast. Each test saves
screenshots in its tmp dir."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.console_browser import (
    ADMIN,
    PASSWORD,
    SLOW,
    TMS_KEY,
    VIEWER,
    Console,
    browser_page,
    contrast_failures,
    go,
    log_in,
    shot,
    track,
)

pytestmark = pytest.mark.e2e


def test_event_shows_on_the_dashboard_and_in_the_profile_timeline(
    console: Console, tmp_path: Path
) -> None:
    profile, kind = f"p-{uuid.uuid4().hex[:8]}", f"console-{uuid.uuid4().hex[:6]}"
    track(console, profile, kind)
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
    track(console, profile, "segment-check")
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
    track(console, profile, "viewer-check")
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
            track(console, f"p-{kind}", kind, {"note": "no total"})
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


def test_keyboard_only_and_readable_contrast(console: Console, tmp_path: Path) -> None:
    track(console, f"p-{uuid.uuid4().hex[:8]}", "keyboard-check")
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
