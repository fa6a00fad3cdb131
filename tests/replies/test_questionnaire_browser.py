"""The answer page in Chromium: a person presses a button, and the page is
accessible (axe-core)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaign.models import Questionnaire
from campaign.services.questionnaires import (
    questionnaire_token,
    questionnaires_send_due,
)
from tests.factories import CampaignFactory, OfficialFactory
from tests.replies.conftest import delivered
from tests.support.browser import axe_violations


@pytest.fixture
def answer_url(transactional_db, live_server, questionnaire_settings):
    official = OfficialFactory(name="Alex Morgan", position="Prime Minister")
    campaign = CampaignFactory(title="Clean Air Now", targets=[official])
    delivered(campaign, [official], sent_at=timezone.now() - timedelta(days=20))
    questionnaires_send_due()
    token = questionnaire_token(Questionnaire.objects.get().pk)
    return live_server.url + reverse("campaign:questionnaire", args=[token])


def test_a_person_answers_with_a_button(page, answer_url):
    page.goto(answer_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Did Alex Morgan reply?")
    assert [v["id"] for v in axe_violations(page)] == []
    assert Questionnaire.objects.get().replied is None

    page.get_by_role("button", name="Yes, Alex Morgan replied").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Thank you: you told us Alex Morgan replied."
    )
    assert [v["id"] for v in axe_violations(page)] == []
    assert Questionnaire.objects.get().replied is True
