"""The nudge beside the letter preview: how many words are the supporter's own
and what that means for each official's delivery mode. In Chromium as they type
(the live preview), and without JavaScript after "Preview my letter"."""

import re

import lxml.html
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaign.models import Campaign, DeliveryMode, Letter
from campaign.services.signing import campaign_sign, signature_confirm
from tests.factories import CampaignFactory, LetterTemplateFactory, OfficialFactory
from tests.pages.sign_form import form_data
from tests.support.browser import axe_violations, preview_refreshed

MIN_WORDS = 25
# 33 words, as letters/own_words.py counts them: comfortably over 25.
THIRTY_WORDS = (
    "I have used the library on Elm Street every week since I was six years old, "
    "and my children learn to read there now; closing it would take that from "
    "every family nearby."
)


def _campaign(**kwargs) -> Campaign:
    campaign = CampaignFactory(
        title="Save the Library",
        targets=[
            OfficialFactory(name="Alex Morgan", position="Prime Minister"),
            OfficialFactory(name="Sam Okafor", position="Home Secretary"),
        ],
        **kwargs,
    )
    modes = {
        "Alex Morgan": DeliveryMode.PERSONAL_AND_DIGEST,
        "Sam Okafor": DeliveryMode.DIGEST_ONLY,
    }
    for link in campaign.target_links.select_related("official"):
        link.delivery_mode = modes[link.official.name]
        link.save(update_fields=["delivery_mode"])
    return campaign


def _nudge(response) -> str:
    assert response.status_code == 200
    found = lxml.html.fromstring(response.content).xpath("//*[@id='own-words']")
    return " ".join(found[0].text_content().split()) if found else ""


@pytest.fixture
def min_words(settings):
    settings.PERSONAL_LETTER_MIN_WORDS = MIN_WORDS


# --- without JavaScript: the page, and the "Preview my letter" POST -----------


@pytest.mark.django_db
def test_preview_post_says_what_own_words_change(client, min_words):
    campaign = _campaign()
    url = reverse("campaign:detail", args=[campaign.slug])

    before = _nudge(client.get(url))
    assert "Words of your own in your letter: 0" in before
    assert (
        "Add about 25 more words of your own and your letter is sent to Alex Morgan "
        "on its own; otherwise it is included in the daily digest Alex Morgan "
        "receives about this campaign." in before
    )
    assert "Sam Okafor receives one daily digest" in before

    ten_words = " ".join(THIRTY_WORDS.split()[:10])
    preview = {**form_data(personal_paragraph=ten_words), "preview": "1"}
    del preview["sign"]
    some = _nudge(client.post(url, preview))
    assert "Words of your own in your letter: 10" in some
    assert "Add about 15 more words of your own" in some

    preview["personal_paragraph"] = THIRTY_WORDS
    enough = _nudge(client.post(url, preview))
    assert "Words of your own in your letter: 33" in enough
    assert "Enough words of your own: your letter is sent to Alex Morgan" in enough
    assert "Add about" not in enough
    assert "Sam Okafor receives one daily digest" in enough


@pytest.mark.django_db
def test_the_nudge_counts_what_signing_counts(client, min_words):
    campaign = _campaign(signers_may_edit=True)
    paragraph = "Libraries taught me to read, and my mother before me."
    edited = campaign.letter_template.body_template.replace(
        "Please act.", "Please act before the council meets in June."
    )
    data = form_data(personal_paragraph=paragraph, letter_body=edited)
    url = reverse("campaign:detail", args=[campaign.slug])
    shown = _nudge(client.post(url, {**data, "preview": "1"}))
    words = int(re.search(r"in your letter: (\d+)", shown).group(1))

    del data["sign"]
    signature = campaign_sign(
        campaign=campaign,
        **{k: v for k, v in data.items() if k != "consent_to_send"},
        consent_to_send=True,
    )
    signature_confirm(token=signature.token)
    letter = Letter.objects.get(official__name="Alex Morgan")
    assert letter.own_words == words == 16  # 10 of the paragraph, 6 edited in


@pytest.mark.django_db
def test_no_nudge_where_nothing_can_be_written(client, min_words):
    fixed = LetterTemplateFactory(
        body_template="{{ official.salutation }},\n\nPlease act.\n\n{{ signer.name }}\n"
    )
    campaign = _campaign(letter_template=fixed)
    page = client.get(reverse("campaign:detail", args=[campaign.slug]))
    assert "Please act." in page.content.decode()
    assert _nudge(page) == ""

    closed = _campaign(status=Campaign.Status.CLOSED)
    assert _nudge(client.get(reverse("campaign:detail", args=[closed.slug]))) == ""


# --- in Chromium, as the supporter types --------------------------------------


@pytest.fixture
def live_campaign(transactional_db, live_server, min_words):
    campaign = _campaign()
    return f"{live_server.url}/campaigns/{campaign.slug}/"


def test_typing_own_words_changes_the_message_live(page, live_campaign):
    page.goto(live_campaign)
    nudge = page.locator("#own-words")
    expect(nudge).to_have_attribute("aria-live", "polite")
    expect(nudge).to_contain_text(
        "Add about 25 more words of your own and your letter is sent to Alex Morgan"
    )
    # Mark the live region: it must be updated in place, not replaced, for a
    # screen reader to announce the change.
    page.evaluate("document.getElementById('own-words').dataset.kept = 'yes'")

    with preview_refreshed(page):
        page.get_by_label("Full name").fill("Ada Lovelace")
        page.get_by_label("Your own paragraph (optional)").fill(
            " ".join(THIRTY_WORDS.split()[:10])
        )
    expect(nudge).to_contain_text("Add about 15 more words of your own")

    with preview_refreshed(page):
        page.get_by_label("Your own paragraph (optional)").fill(THIRTY_WORDS)
    expect(nudge).to_contain_text(
        "Enough words of your own: your letter is sent to Alex Morgan on its own."
    )
    expect(nudge).to_contain_text("Sam Okafor receives one daily digest")
    expect(nudge).to_have_attribute("data-kept", "yes")
    expect(page.locator("#letter-preview details").first).to_contain_text("Elm Street")
    violations = axe_violations(page)
    assert [v["id"] for v in violations] == []
