"""Pages served on loopback and run in headless Chromium: one runs
``@segment/analytics-next`` from the npm registry with its settings inline and its API
host pointed at the collector (the browser fetches nothing from the internet); one speaks
Tracardi's tracker protocol to ``/track`` as the browser tracker does."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from headwater.commands.embedded import free_port

PACKAGE = "@segment/analytics-next@1.84.3"
NPM_CACHE = Path.home() / ".cache" / "headwater-tests" / "npm"

ANALYTICS_NEXT_PAGE = """<!doctype html>
<html><head><title>Headwater browser test</title></head><body>
<script src="/analytics-next/bundles/index.js"></script>
<script>
(async () => {
  const setup = %(setup)s;
  try {
    const [analytics] = await window.AnalyticsNext.AnalyticsBrowser.load(
      {
        writeKey: setup.writeKey,
        cdnURL: location.origin,
        cdnSettings: {integrations: {"Segment.io": {
          apiKey: setup.writeKey, apiHost: setup.apiHost, protocol: "http"}}},
      },
      {disableClientPersistence: true},
    );
    analytics.setAnonymousId(setup.anonymousId);
    await analytics.page("Docs", "Pricing", {plan_shown: "pro"});
    await analytics.track("Plan Chosen", {plan: "pro"});
    await analytics.identify(setup.userId, {email: setup.email});
    document.body.setAttribute("data-done", "yes");
  } catch (error) {
    document.body.setAttribute("data-error", String(error));
  }
})();
</script></body></html>
"""


# What the browser tracker does: POST /track with its context and an x-timestamp header
# (so CORS preflights it), store the profile id it gets back, send it on the next visit.
TRACKER_PAGE = """<!doctype html>
<html><head><title>Headwater tracker test</title></head><body>
<script>
(async () => {
  const setup = %(setup)s;
  async function send(events) {
    const body = {
      source: {id: setup.sourceId},
      session: {id: localStorage.getItem("tracardi-session-id")},
      profile: {id: localStorage.getItem("tracardi-profile-id")},
      context: {page: {url: location.href, title: document.title},
                browser: {local: {browser: {userAgent: navigator.userAgent}}}},
      events: events,
    };
    const answer = await fetch(setup.collector + "/track", {
      method: "POST",
      headers: {"Content-Type": "application/json", "x-timestamp": String(Date.now() / 1000)},
      body: JSON.stringify(body),
    });
    if (answer.status !== 200) throw new Error("status " + answer.status);
    const data = await answer.json();
    localStorage.setItem("tracardi-profile-id", data.profile.id);
    localStorage.setItem("tracardi-session-id", data.session.id);
    return data;
  }
  try {
    const first = await send([{type: "page-view", properties: {title: document.title}}]);
    const again = await send([{type: "add-to-cart", properties: {sku: "SKU-1"}}]);
    document.body.setAttribute("data-profile", first.profile.id);
    document.body.setAttribute("data-profile-again", again.profile.id);
    document.body.setAttribute("data-done", "yes");
  } catch (error) {
    document.body.setAttribute("data-error", String(error));
  }
})();
</script></body></html>
"""


def analytics_next_bundle() -> Path:
    """The package's browser bundle, installed from the npm registry once per machine."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    bundle = NPM_CACHE / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
    if not (bundle / "index.js").exists():
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_CACHE), PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm install {PACKAGE} failed: {done.stderr[-300:]}")
    return bundle


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def served_page(root: Path, page: str, setup: dict[str, str]) -> Iterator[str]:
    """``page`` (with ``setup`` filled in) on a free loopback port, with the
    analytics-next bundle when the page loads it; yields the page's URL."""
    if page is ANALYTICS_NEXT_PAGE:
        shutil.copytree(analytics_next_bundle(), root / "analytics-next" / "bundles")
    (root / "page.html").write_text(page % {"setup": json.dumps(setup)})
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/page.html"
    finally:
        server.shutdown()
        server.server_close()


def run_in_chromium(url: str) -> str:
    """Load ``url`` in headless Chromium (Debian's package, driven by Playwright through
    ``executable_path``; no downloaded browser) until the page marks itself done
    (``data-done``); returns the page's final DOM."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu"],  # tests run as root in CI containers
        )
        try:
            page = browser.new_page()
            page.goto(url)
            # on a timeout the caller's assertion shows the DOM as it is
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_selector("[data-done]", state="attached", timeout=60_000)
            return page.content()
        finally:
            browser.close()
