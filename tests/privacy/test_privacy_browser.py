"""The privacy page and the "remove my signature" page in Chromium: reachable
from the footer, a person presses the button, and both are accessible (axe-core)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaign import privacy
from campaign.models import Signature
from tests.factories import CampaignFactory, SignatureFactory
from tests.support.browser import axe_violations


@pytest.fixture
def site(transactional_db, settings, live_server):
    settings.SITE_OPERATOR_NAME = "Clean Air Campaigns Ltd"
    return live_server.url


def test_the_footer_leads_to_the_privacy_page(page, site):
    page.goto(site + "/")
    page.get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How we use your details")
    expect(page.locator("main")).to_contain_text("run by Clean Air Campaigns Ltd")
    assert [v["id"] for v in axe_violations(page)] == []


def test_a_person_removes_their_signature_with_the_button(page, site):
    signature = SignatureFactory(
        campaign=CampaignFactory(title="Clean Air Now"), status="confirmed"
    )
    token = privacy.withdraw_token(signature_id=signature.pk)

    page.goto(site + reverse("campaign:withdraw", args=[token]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove your signature")
    assert [v["id"] for v in axe_violations(page)] == []
    assert Signature.objects.get(pk=signature.pk).status == "confirmed"

    page.get_by_role("button", name="Remove my signature").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your signature has been removed"
    )
    assert [v["id"] for v in axe_violations(page)] == []
    assert Signature.objects.get(pk=signature.pk).status == "withdrawn"
