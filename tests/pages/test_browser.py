"""The supporter's journey in headless Chromium against the live server, with the
real worker sending through the SMTP sink: sign, read the email, confirm.

Confirmation links start with settings.SITE_URL as the web process has it (here
the live server's thread, inside this test process), stored on the outbox row; the
worker renders the email with it. So pointing SITE_URL at the live server, with
the `settings` fixture, is all the emailed link needs to work.

Each test waits for every email it caused, so nothing it queued can arrive during
another test that counts messages.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from campaign.demo import DEMO_SLUG
from campaign.models import Campaign, Signature
from tests.factories import SignatureFactory
from tests.support.browser import axe_violations, preview_refreshed

LINK_RE = re.compile(r"http://[^\s/]+/confirm/[\w-]+/")


@pytest.fixture
def demo(transactional_db, settings, live_server):
    settings.SITE_URL = live_server.url
    call_command("load_demo", verbosity=0)
    campaign = Campaign.objects.get(slug=DEMO_SLUG)
    SignatureFactory.create_batch(2, campaign=campaign, status="confirmed")
    return campaign


def assert_accessible(page, where: str) -> None:
    violations = axe_violations(page)
    summary = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    ]
    assert summary == [], f"axe on the {where}"


def assert_fits_a_phone(page) -> None:
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 740})
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth"
        " - document.documentElement.clientWidth"
    )
    page.set_viewport_size(size)
    assert overflow <= 0, f"{overflow}px of horizontal scrolling at 375px"


def shown_count(page) -> int:
    return int(page.locator(".signature-count").first.get_attribute("data-count"))


def heading(page):
    return page.get_by_role("heading", level=1)


def fill_the_form(page, *, name: str, email: str, paragraph: str) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Postcode").fill("NW1 6XE")
    page.get_by_label("Town (optional)").fill("Marylebone")
    page.get_by_label("Your own paragraph (optional)").fill(paragraph)


def confirm_from_email(page, message, live_server) -> None:
    link = LINK_RE.search(message.get_content())
    assert link, message.get_content()
    assert link.group(0).startswith(live_server.url + "/confirm/")
    page.goto(link.group(0))
    expect(heading(page)).to_have_text("Confirm your signature")


def test_supporter_signs_confirms_and_is_thanked(
    demo, live_server, page, smtp, celery_worker_proc
):
    page.goto(live_server.url + "/")
    expect(heading(page)).to_be_visible()
    assert_accessible(page, "home page")

    page.get_by_role("link", name=demo.title).click()
    expect(heading(page)).to_have_text(demo.title)
    before = shown_count(page)
    assert before == 2
    assert_accessible(page, "campaign page")
    assert_fits_a_phone(page)

    page.get_by_role("button", name="Sign the letter").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Enter your full name.")
    assert_accessible(page, "campaign page with errors")

    # Over PERSONAL_LETTER_MIN_WORDS own words: the demo's officials get this
    # letter as an email of its own, not in the daily digest.
    paragraph = (
        "My grandfather was a refugee here; keep this country safe. He taught me "
        "that a country which lets murderers walk free on its streets invites the "
        "next crime, and I believe him."
    )
    with preview_refreshed(page):
        fill_the_form(
            page, name="Ada Lovelace", email="ada@example.com", paragraph=paragraph
        )
    first_letter = page.locator("#letter-preview details").first
    # The live preview, rendered by the server as the form changes.
    expect(first_letter).to_contain_text("Ada Lovelace")
    expect(first_letter).to_contain_text(paragraph)
    expect(first_letter).to_contain_text("Dear Prime Minister,")
    expect(page.locator("#letter-preview")).not_to_contain_text("[your name]")
    assert_accessible(page, "campaign page with a preview")
    assert_fits_a_phone(page)

    page.get_by_label("I agree that my name and letter are sent").check()
    page.get_by_role("button", name="Sign the letter").click()
    expect(heading(page)).to_have_text("Check your inbox")

    [confirmation] = smtp.wait_for(1)
    assert confirmation.envelope_rcpt == ["ada@example.com"]
    confirm_from_email(page, confirmation, live_server)
    assert Signature.objects.get(email="ada@example.com").status == "pending"
    assert_accessible(page, "confirm page")

    page.get_by_role("button", name="Confirm and send my letter").click()
    expect(heading(page)).to_have_text("Thank you, Ada Lovelace")
    assert shown_count(page) == before + 1
    assert_accessible(page, "thank-you page")
    assert_fits_a_phone(page)

    letters = smtp.wait_for(1 + demo.targets.count())[1:]
    assert {m.envelope_rcpt[0] for m in letters} == {
        "prime.minister@example.org",
        "home.secretary@example.org",
    }
    assert all(paragraph in m.get_content() for m in letters)


def test_signing_works_without_javascript(
    demo, live_server, browser, smtp, celery_worker_proc
):
    context = browser.new_context(java_script_enabled=False, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/campaigns/{demo.slug}/")
        fill_the_form(
            page,
            name="Grace Hopper",
            email="grace@example.com",
            paragraph="No JS. I signed this without any script running in my "
            "browser, and I expect my letter to reach both ministers all the same, "
            "on its own, today.",
        )
        page.get_by_role("button", name="Preview my letter").click()
        # The server re-rendered the page, with the form kept and the letter drafted.
        assert page.url.endswith("#letter-preview")
        expect(page.locator("#error-summary")).to_have_count(0)
        expect(page.get_by_label("Full name")).to_have_value("Grace Hopper")
        first_letter = page.locator("#letter-preview details").first
        expect(first_letter).to_contain_text("Grace Hopper")
        expect(first_letter).to_contain_text("No JS.")

        page.get_by_label("I agree that my name and letter are sent").check()
        page.get_by_role("button", name="Sign the letter").click()
        expect(heading(page)).to_have_text("Check your inbox")

        [confirmation] = smtp.wait_for(1)
        confirm_from_email(page, confirmation, live_server)
        page.get_by_role("button", name="Confirm and send my letter").click()
        expect(heading(page)).to_have_text("Thank you, Grace Hopper")
        assert shown_count(page) == 3
        smtp.wait_for(1 + demo.targets.count())
    finally:
        context.close()
