"""Response rates from supporters' answers: per official and per campaign in
admin, and "N supporters report a reply" on the public campaign page once N
reaches PUBLIC_REPLY_MINIMUM."""

import lxml.html
import pytest
from django.urls import reverse

from campaign.models import LetterStatus, Questionnaire
from campaign.replies import PUBLIC_REPLY_MINIMUM, replies_reported
from campaign.selectors import campaign_targets
from campaign.services.questionnaires import (
    questionnaire_answer,
    questionnaires_send_due,
)
from tests.factories import CampaignFactory, OfficialFactory
from tests.replies.conftest import delivered

pytestmark = pytest.mark.django_db


def _answers(campaign, official, *, yes: int, no: int, unanswered: int = 0) -> None:
    """Supporters whose letters to `official` were asked about, and answered."""
    letters = [delivered(campaign, [official])[0] for _ in range(yes + no + unanswered)]
    questionnaires_send_due()
    rows = Questionnaire.objects.filter(letter__in=letters).order_by("pk")
    for n, questionnaire in enumerate(rows[: yes + no]):
        questionnaire_answer(questionnaire_id=questionnaire.pk, replied=n < yes)


@pytest.fixture
def answered(questionnaire_settings):
    alex = OfficialFactory(name="Alex Morgan")
    sam = OfficialFactory(name="Sam Okafor")
    campaign = CampaignFactory(title="Clean Air Now", targets=[alex, sam])
    _answers(campaign, alex, yes=5, no=1)
    for _ in range(2):  # delivered in a digest: counted, never asked
        delivered(campaign, [alex], status=LetterStatus.DIGESTED)
    _answers(campaign, sam, yes=1, no=1, unanswered=1)
    other = CampaignFactory(title="Save the Library", targets=[alex])
    _answers(other, alex, yes=0, no=1)
    return campaign, other, alex, sam


def _rate_rows(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    tree = lxml.html.fromstring(response.content)
    [table] = tree.xpath("//div[contains(@class, 'field-response_rates')]//table")
    return {
        row[0].text_content(): [cell.text_content() for cell in row[1:]]
        for row in table.xpath(".//tbody/tr")
    }


def test_campaign_admin_shows_each_officials_rate(staff_client, answered):
    campaign, _, _, _ = answered
    page = staff_client.get(
        reverse("admin:campaign_campaign_change", args=[campaign.pk])
    )
    # delivered, answers received, "yes", response rate
    assert _rate_rows(page) == {
        "Alex Morgan": ["8", "6", "5", "83%"],
        "Sam Okafor": ["3", "2", "1", "50%"],
        "All": ["11", "8", "6", "75%"],
    }


def test_official_admin_shows_each_campaigns_rate(staff_client, answered):
    _, _, alex, _ = answered
    page = staff_client.get(reverse("admin:campaign_official_change", args=[alex.pk]))
    assert _rate_rows(page) == {
        "Clean Air Now": ["8", "6", "5", "83%"],
        "Save the Library": ["1", "1", "0", "0%"],
        "All": ["9", "7", "5", "71%"],
    }


def test_questionnaires_are_listed_read_only_in_admin(staff_client, answered):
    url = reverse("admin:campaign_questionnaire_changelist")
    replied = staff_client.get(url, {"replied__exact": "1"})
    assert replied.status_code == 200
    assert replied.context["cl"].result_count == 6
    assert (
        staff_client.get(reverse("admin:campaign_questionnaire_add")).status_code == 403
    )


def test_public_page_names_officials_from_the_minimum_up(
    client, answered, django_assert_num_queries
):
    campaign, other, alex, _ = answered
    targets = campaign_targets(campaign=campaign)
    with django_assert_num_queries(1):
        reported = replies_reported(campaign_id=campaign.pk, targets=targets)
    assert reported == [(alex, PUBLIC_REPLY_MINIMUM)]

    page = client.get(reverse("campaign:detail", args=[campaign.slug]))
    text = " ".join(page.content.decode().split())
    assert "5 supporters report a reply from Alex Morgan" in text
    assert "report a reply from Sam Okafor" not in text  # one is not enough

    # Four "yes" answers: nothing at all is said.
    _answers(other, alex, yes=PUBLIC_REPLY_MINIMUM - 1, no=0)
    page = client.get(reverse("campaign:detail", args=[other.slug]))
    assert "report a reply" not in page.content.decode()
