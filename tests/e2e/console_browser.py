"""The console (``/ui/`` of ``headwater api``) in Debian's headless Chromium, driven by
Playwright through ``executable_path`` (no downloaded browser), against a real
``headwater up`` stack with an admin made by ``headwater init --admin-email``."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from headwater.console.web_ui import UI_DIR
from tests.e2e.conftest import UpStack, headwater_command

PASSWORD = "console e2e password, long enough"
ADMIN = "console-admin@example.com"
VIEWER = "console-viewer@example.com"
TMS_KEY = "console e2e tms key, 32 characters or more"
SLOW = 90_000  # ms: collector -> Kafka -> worker -> search, on a busy machine


@dataclass
class Console:
    api: str
    collector: str
    source_id: str
    admin: dict[str, str]  # the admin's auth header, for setting up through the API


def need_built_console() -> None:
    if not (UI_DIR / "index.html").is_file():
        pytest.skip("the console is not built: cd console-ui && npm ci && npm run build")


def own_prefixes() -> dict[str, str]:
    """Topic and index prefixes and a worker id of one stack's own: stacks of other
    test runs on the same shared engines then neither read its records nor join its
    consumer groups (a webhook request one worker writes must not reach another's)."""
    mark = uuid.uuid4().hex[:8]
    return {
        "HEADWATER_TOPIC_PREFIX": f"ui{mark}",
        "HEADWATER_INDEX_PREFIX": f"ui{mark}",
        "HEADWATER_WORKER_ID": f"ui-{mark}",
    }


def console_on(stack: UpStack, settings: dict[str, str] | None = None) -> Console:
    """The stack's tenant with an admin (via ``headwater init --admin-email``, as an
    operator does) and a marketer (a read-only role) made through the API. ``settings``:
    the HEADWATER_* variables the stack was started with (its prefixes)."""
    info = stack.info
    headwater_command(
        info,
        "init",
        "--admin-email",
        ADMIN,
        settings={
            **(settings or {}),
            "HEADWATER_DATA_DIR": str(stack.data_dir),
            "HEADWATER_ADMIN_PASSWORD": PASSWORD,
        },
    )
    api = info["api"]
    admin = _token(api, ADMIN)
    made = httpx.post(
        f"{api}/users",
        headers=admin,
        json={"email": VIEWER, "role": "marketer", "password": PASSWORD},
    )
    assert made.status_code in (201, 409), made.text
    return Console(api, info["collector"], info["source_id"], admin)


def _token(api: str, email: str) -> dict[str, str]:
    answer = httpx.post(f"{api}/user/token", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


@contextmanager
def browser_page() -> Iterator[Page]:
    """A 1280x800 page in headless Chromium; page errors fail the test."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert errors == [], errors
        finally:
            browser.close()


def log_in(page: Page, console: Console, email: str) -> None:
    page.goto(f"{console.api}/ui/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for(timeout=15_000)


def go(page: Page, screen: str) -> None:
    """Open a screen from the header's navigation, and wait until it is the current one.

    Without the wait, a locator on the next line can still see the screen being left.
    """
    link = page.get_by_role("navigation", name="screens").get_by_role("link", name=screen)
    link.click()
    expect(link).to_have_attribute("aria-current", "page")


def shot(page: Page, where: Path, name: str) -> Path:
    path = where / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Hooks:
    """What a loopback HTTP server received: (path, body) per request."""

    url: str
    received: list[tuple[str, bytes]] = field(default_factory=list)


@contextmanager
def loopback_hooks() -> Iterator[Hooks]:
    """An HTTP server on 127.0.0.1 that answers 200 to every POST and keeps it, except
    on a path ending in ``/gone``: 404, not kept."""
    hooks = Hooks("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.path.endswith("/gone"):  # a destination that refuses: a dead letter
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            hooks.received.append((self.path, body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hooks.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/gold"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()


_CONTRAST_JS = "\n".join(  # a function for page.evaluate: without its leading comments
    line
    for line in (Path(__file__).parent / "contrast.js").read_text().splitlines()
    if not line.startswith("//")
)


def contrast_failures(page: Page) -> list[str]:
    """Texts on the page below WCAG AA contrast (4.5:1, 3:1 for large text)."""
    found: list[str] = page.evaluate(_CONTRAST_JS)
    return found


def track(
    console: Console, profile: str, kind: str, properties: dict[str, object] | None = None
) -> None:
    """One event of ``kind`` for ``profile`` through the collector, answered 200."""
    answer = httpx.post(
        f"{console.collector}/track",
        json={
            "source": {"id": console.source_id},
            "profile": {"id": profile},
            "events": [{"type": kind, "properties": properties or {"from": "console test"}}],
        },
    )
    assert answer.status_code == 200, answer.text
