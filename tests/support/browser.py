"""Headless Chromium (Debian's /usr/bin/chromium) through Playwright, once per
session, and axe-core for accessibility checks."""

import pytest
from django.test.testcases import LiveServerThread

from tests.support.processes import ROOT

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
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


@pytest.fixture
def whitenoise_server(transactional_db, settings):
    """A live server whose static files come from whitenoise and STATIC_ROOT, as in
    production. (pytest-django's live_server serves them from the finders, which
    know no hashed names: every stylesheet and script would be a 404.)"""
    thread = LiveServerThread("localhost", static_handler=lambda app: app)
    thread.daemon = True
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()
