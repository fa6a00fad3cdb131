"""Headless Chromium through Playwright, once per session, and axe-core for
accessibility checks. CHROMIUM_PATH names the browser (default: Debian's
/usr/bin/chromium; e.g. a Chrome or Chromium elsewhere on macOS or Fedora)."""

import contextlib
import os
from pathlib import Path

import pytest
from django.test.testcases import LiveServerThread

from tests.support.processes import ROOT

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM_PATH,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
            ],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    # bypass_csp lets the test inject axe-core; the site's own pages never need it.
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core in the page; return violations of the given impact levels."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in impacts]


@contextlib.contextmanager
def preview_refreshed(page, selector: str = "#letter-preview"):
    """Wait, after the block, for the live preview's refresh the block's typing
    started: static/js/site.js sets the preview's `data-updated` once the new
    preview is in place. Checked every animation frame, it is seen as it lands;
    expect()'s own polling backs off to a second between looks, and a preview
    comes 300 ms (the typing pause) plus a request after the last keystroke.
    The test's expect() still decides what the preview must say."""
    before = page.locator(selector).get_attribute("data-updated")
    yield
    page.wait_for_function(
        "([selector, before]) =>"
        " document.querySelector(selector).getAttribute('data-updated') !== before",
        arg=[selector, before],
    )


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server (one for the session; a test that uses it gets
    `transactional_db`), serving static files as production does: whitenoise,
    from STATIC_ROOT. (pytest-django's own serves them from the finders, which
    know no hashed names: every stylesheet and script would be a 404.)"""
    from django.conf import settings
    from pytest_django.live_server_helper import LiveServer

    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        pytest.fail(f"No collectstatic in {settings.STATIC_ROOT}: run `make test`.")
    server = LiveServer("localhost", start=False)
    server.thread = LiveServerThread(
        "localhost", static_handler=lambda app: app, connections_override={}
    )
    server.thread.daemon = True
    server.start()
    yield server
    server.stop()
