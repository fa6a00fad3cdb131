"""The dashboard in Chromium: served as in production (whitenoise, hashed static
names) under the site's CSP, every chart drawn, no console errors, accessible,
and usable at phone width."""

from contextlib import suppress

import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from campaign.services.tallies import campaign_tallies_refresh
from tests.dashboard.conftest import NOW
from tests.support.browser import axe_violations

CHART_IDS = [
    "daily", "hourly", "confirmation", "officials", "personal", "sources",
    "districts",
]  # fmt: skip

# True once the canvas holds a pixel that is not transparent: Chart.js drew.
DRAWN = """id => {
  const canvas = document.getElementById('chart-' + id);
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d')
    .getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) return true;
  return false;
}"""


def logged_in_context(browser, base: str, user, **options):
    client = Client()
    client.force_login(user)
    context = browser.new_context(**options)
    context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base,
    }])  # fmt: skip
    return context


def test_every_chart_renders_under_the_csp_without_console_errors(
    live_server, browser, organiser, campaign, history
):
    base = live_server.url
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
    url = base + reverse("admin:campaign_campaign_dashboard", args=[campaign.pk])
    url += "?since=2026-07-01&until=2026-07-10"

    context = logged_in_context(browser, base, organiser)
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda v: violations.append(v))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        response = page.goto(url)
        assert response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        for chart in CHART_IDS:
            page.wait_for_function(DRAWN, arg=chart)
            # The table, folded under the chart, holds the same numbers.
            assert not page.locator(f"#table-{chart}").is_visible()
        assert violations == [] and errors == []
    finally:
        context.close()


def test_the_dashboard_is_accessible_and_fits_a_phone(
    live_server, browser, organiser, campaign, history
):
    base = live_server.url
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
    url = base + reverse("admin:campaign_campaign_dashboard", args=[campaign.pk])
    url += "?since=2026-07-01&until=2026-07-10"
    # bypass_csp: axe-core is injected by the test, not served by the site.
    context = logged_in_context(browser, base, organiser, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(url)
        page.wait_for_function(DRAWN, arg="districts")
        page.locator("details.dashboard-table summary").first.click()
        summary = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in axe_violations(page)
        ]
        assert summary == []
        page.set_viewport_size({"width": 375, "height": 740})
        # Chart.js redraws at the new width on its resize observer's next turn,
        # later on a busy machine: wait (bounded) for the page to fit.
        overflow = "() => document.documentElement.scrollWidth"
        overflow += " - document.documentElement.clientWidth"
        with suppress(PlaywrightTimeoutError):  # the assertion says by how much
            page.wait_for_function(f"() => ({overflow})() <= 0", timeout=5_000)
        scroll = page.evaluate(overflow)
        assert scroll <= 0, f"{scroll}px of horizontal scrolling at 375px"
    finally:
        context.close()


def test_without_javascript_the_tables_hold_the_numbers(
    live_server, browser, organiser, campaign, history
):
    base = live_server.url
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
    url = base + reverse("admin:campaign_campaign_dashboard", args=[campaign.pk])
    context = logged_in_context(browser, base, organiser, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(url + "?since=2026-07-09&until=2026-07-09")
        # Open, and no empty chart area in their way.
        assert page.locator("#table-daily").is_visible()
        assert not page.locator("#chart-daily").is_visible()
        cells = page.locator("#table-daily tbody tr").first.locator("th, td")
        assert cells.all_text_contents()[:4] == ["2026-07-09", "3", "2", "5"]
    finally:
        context.close()
