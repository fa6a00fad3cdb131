"""A pack's admin page in Chromium, served as in production (whitenoise, the
site's CSP): the progress moves and the download link appears without a reload;
without JavaScript the page still shows where the build is, with a link to
refresh it."""

from django.test import Client
from django.urls import reverse

from campaign.models import HandinPack
from campaign.services.handin import handin_pack_enqueue
from tests.dashboard.test_dashboard_browser import logged_in_context
from tests.factories import CampaignFactory, StaffUserFactory, bulk_signatures


def test_progress_and_the_download_link_appear_without_reloading(
    live_server, browser, worker
):
    site = live_server.url
    organiser = StaffUserFactory(username="packer", is_superuser=True)
    campaign = CampaignFactory()
    bulk_signatures(campaign, 300, status="confirmed")
    # Queued but not yet handed to the worker: the page opens before the build.
    pack = HandinPack.objects.create(campaign=campaign, built_by=organiser)
    url = site + reverse("admin:campaign_handinpack_change", args=[pack.pk])

    context = logged_in_context(browser, site, organiser)
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda v: violations.append(v))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    assert page.locator("[data-progress-text]").inner_text() == "Queued: 0%"
    download = page.locator("[data-progress-download]")
    assert download.is_hidden()
    page.evaluate("window.samePage = true")

    handin_pack_enqueue(pack_id=pack.pk)
    download.wait_for(state="visible")
    assert page.evaluate("window.samePage") is True  # no reload happened
    assert page.locator("progress").get_attribute("value") == "100"
    assert page.locator("[data-progress-text]").inner_text() == (
        "Ready to download: 100% (300 of 300 rows)"
    )
    assert download.get_attribute("href") == reverse(
        "campaign:handin_download", args=[pack.pk]
    )
    assert page.locator("[data-progress-refresh]").is_hidden()
    assert violations == []
    context.close()

    # Without JavaScript the page is plain HTML: the state as it is, and a link
    # that reloads the page.
    client = Client()
    client.force_login(organiser)
    HandinPack.objects.filter(pk=pack.pk).update(
        status="building", rows_total=300, rows_done=150
    )
    html = client.get(url.removeprefix(site)).content.decode()
    assert "Building: 50% (150 of 300 rows)" in html
    assert f'<a href="{url.removeprefix(site)}" data-progress-refresh>' in html
