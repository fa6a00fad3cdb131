"""The demo campaign by postcode in headless Chromium: the supporter sees whom
they write to once their postcode is typed (JavaScript's live preview) or after
"Preview my letter" (without JavaScript), picks their area where a sector spans
two, and a postcode that finds no one keeps the form and signs nothing."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from campaign import demo_areas
from campaign.models import Signature
from tests.pages.test_browser import assert_accessible
from tests.support.browser import preview_refreshed


@pytest.fixture
def quillford(transactional_db, settings, live_server):
    settings.SITE_URL = live_server.url
    settings.STORAGES = {  # plain static names, as tests/pages/test_browser.py says
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    call_command("load_demo", verbosity=0)
    return f"{live_server.url}/campaigns/{demo_areas.SLUG}/"


def fill(page, *, postcode: str, email: str) -> None:
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_label("I agree that my name and letter are sent").check()


def test_the_live_preview_finds_the_representative_and_offers_a_choice(
    quillford, page, smtp, celery_worker_proc
):
    page.goto(quillford)
    preview = page.locator("#letter-preview")
    expect(preview).to_contain_text("Enter your postcode and the letter is addressed")
    with preview_refreshed(page):
        fill(page, postcode="qp1 1aa", email="ada@example.com")
    expect(preview).to_contain_text("You are writing to Robin Ashby")
    expect(preview).to_contain_text("Dear Councillor Ashby")

    with preview_refreshed(page):
        page.get_by_label("Postcode").fill("QP3 1ZZ")  # East and West share QP3 1
    expect(preview).to_contain_text("Which is yours?")
    assert_accessible(page, "campaign page with the area choice")
    with preview_refreshed(page):
        page.get_by_label("Quillford West (Grace Mensah)").check()
    expect(preview).to_contain_text("You are writing to Grace Mensah")
    page.get_by_role("button", name="Sign the letter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert Signature.objects.get().representative.name == "Grace Mensah"
    smtp.wait_for(1)  # the confirmation, so nothing arrives in a later test


def test_without_javascript_preview_and_refusal_keep_the_form(
    quillford, browser, smtp, celery_worker_proc
):
    context = browser.new_context(java_script_enabled=False, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(quillford)
        fill(page, postcode="ZZ9 9ZZ", email="grace@example.com")
        page.get_by_role("button", name="Sign the letter").click()
        expect(page.locator("#error-summary")).to_contain_text(
            "We can't find this postcode"
        )
        expect(page.get_by_label("Email address")).to_have_value("grace@example.com")
        assert not Signature.objects.exists()

        page.get_by_label("Postcode").fill("QP2 4BD")
        page.get_by_role("button", name="Preview my letter").click()
        preview = page.locator("#letter-preview")
        expect(preview).to_contain_text("You are writing to Priya Natarajan")
        expect(preview).to_contain_text("Dear Councillor Natarajan")

        page.get_by_label("Postcode").fill("QP3 1ZZ")
        page.get_by_role("button", name="Preview my letter").click()
        page.get_by_label("Quillford East (Tomasz Wolski)").check()
        page.get_by_role("button", name="Preview my letter").click()
        expect(preview).to_contain_text("You are writing to Tomasz Wolski")
        page.get_by_label("I agree that my name and letter are sent").check()
        page.get_by_role("button", name="Sign the letter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        assert Signature.objects.get().representative.name == "Tomasz Wolski"
        smtp.wait_for(1)
    finally:
        context.close()
