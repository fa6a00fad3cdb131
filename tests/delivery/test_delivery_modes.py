"""Delivery modes: each letter's own words measured, and routed per target."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from campaign.models import CampaignTarget, DeliveryMode, Letter, LetterStatus
from campaign.services.routing import letter_status_for, target_letters_reroute
from campaign.services.signing import campaign_sign, signature_confirm
from letters.own_words import own_word_count
from tests.factories import CampaignFactory, OfficialFactory

STANDARD = (
    "Dear Minister,\n\nPlease act now.\n\nYours sincerely,\n\nAda Lovelace\nLeeds"
)
FORTY_WORDS = " ".join(f"word{n}" for n in range(40))


def test_own_words_count_what_the_supporter_added_or_rewrote():
    assert own_word_count(letter=STANDARD, standard=STANDARD) == 0
    added = STANDARD.replace("act now.", "act now.\n\nMy own three words.")
    assert own_word_count(letter=added, standard=STANDARD) == 4
    rewritten = STANDARD.replace("Please act now.", "Kindly do something today.")
    assert own_word_count(letter=rewritten, standard=STANDARD) == 4
    # Deleting the template's words adds none of the supporter's own.
    assert (
        own_word_count(letter=STANDARD.replace("Please ", ""), standard=STANDARD) == 0
    )


def test_own_words_ignore_punctuation_and_case():
    shouted = STANDARD.replace("Please act now.", "PLEASE act NOW!!!!!!!!")
    assert own_word_count(letter=shouted, standard=STANDARD) == 0


@pytest.mark.parametrize(
    ("mode", "own_words", "status"),
    [
        (DeliveryMode.EVERY_LETTER, 0, LetterStatus.PENDING),
        (DeliveryMode.PERSONAL_AND_DIGEST, 25, LetterStatus.PENDING),
        (DeliveryMode.PERSONAL_AND_DIGEST, 24, LetterStatus.AWAITING_DIGEST),
        (DeliveryMode.DIGEST_ONLY, 400, LetterStatus.AWAITING_DIGEST),
        (DeliveryMode.HAND_IN, 400, LetterStatus.HELD),
    ],
)
def test_routing_by_mode_and_own_words(settings, mode, own_words, status):
    settings.PERSONAL_LETTER_MIN_WORDS = 25
    assert letter_status_for(mode=mode, own_words=own_words) == status


def _campaign_with_modes(*modes):
    officials = [OfficialFactory() for _ in modes]
    campaign = CampaignFactory(targets=officials)
    for official, mode in zip(officials, modes, strict=True):
        CampaignTarget.objects.filter(campaign=campaign, official=official).update(
            delivery_mode=mode
        )
    return campaign, officials


def _sign_and_confirm(campaign, *, paragraph="", email="ada@example.com"):
    signature = campaign_sign(
        campaign=campaign,
        full_name="Ada Lovelace",
        email=email,
        postcode="NW1 6XE",
        town="Marylebone",
        personal_paragraph=paragraph,
        consent_to_send=True,
    )
    return signature_confirm(token=signature.token)


@pytest.mark.django_db
def test_confirmed_letters_are_routed_per_official_and_store_their_own_words(
    django_capture_on_commit_callbacks,
):
    campaign, (every, personal, digest, hand_in) = _campaign_with_modes(
        DeliveryMode.EVERY_LETTER,
        DeliveryMode.PERSONAL_AND_DIGEST,
        DeliveryMode.DIGEST_ONLY,
        DeliveryMode.HAND_IN,
    )
    with django_capture_on_commit_callbacks():  # eager delivery is not the point
        plain = _sign_and_confirm(campaign, paragraph="Short.", email="a@example.com")
        own = _sign_and_confirm(campaign, paragraph=FORTY_WORDS, email="b@example.com")

    def statuses(signature):
        return dict(signature.letters.values_list("official_id", "status"))

    assert statuses(plain) == {
        every.pk: LetterStatus.PENDING,
        personal.pk: LetterStatus.AWAITING_DIGEST,
        digest.pk: LetterStatus.AWAITING_DIGEST,
        hand_in.pk: LetterStatus.HELD,
    }
    assert statuses(own)[personal.pk] == LetterStatus.PENDING
    assert statuses(own)[digest.pk] == LetterStatus.AWAITING_DIGEST
    assert set(own.letters.values_list("own_words", flat=True)) == {40}
    assert set(plain.letters.values_list("own_words", flat=True)) == {1}


@pytest.mark.django_db
def test_name_town_and_postcode_are_never_own_words(django_capture_on_commit_callbacks):
    campaign, _ = _campaign_with_modes(DeliveryMode.PERSONAL_AND_DIGEST)
    with django_capture_on_commit_callbacks():
        signature = _sign_and_confirm(campaign)
    letter = signature.letters.get()
    assert "Ada Lovelace" in letter.body and "Marylebone" in letter.body
    assert (letter.own_words, letter.status) == (0, LetterStatus.AWAITING_DIGEST)


@pytest.mark.django_db
def test_only_letters_that_go_alone_are_queued(django_capture_on_commit_callbacks):
    campaign, _ = _campaign_with_modes(
        DeliveryMode.PERSONAL_AND_DIGEST, DeliveryMode.HAND_IN
    )
    with django_capture_on_commit_callbacks():
        signature = campaign_sign(
            campaign=campaign,
            full_name="Ada Lovelace",
            email="ada@example.com",
            postcode="NW1 6XE",
            consent_to_send=True,
        )
    with django_capture_on_commit_callbacks() as callbacks:
        signature_confirm(token=signature.token)
    # The count increment only: no letter was handed to the worker.
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_changed_mode_reroutes_unsent_letters_only(
    django_capture_on_commit_callbacks,
):
    campaign, (official,) = _campaign_with_modes(DeliveryMode.DIGEST_ONLY)
    with django_capture_on_commit_callbacks():
        waiting = _sign_and_confirm(campaign, email="a@example.com").letters.get()
        sent = _sign_and_confirm(campaign, email="b@example.com").letters.get()
    Letter.objects.filter(pk=sent.pk).update(status=LetterStatus.DIGESTED)

    target = CampaignTarget.objects.get(campaign=campaign, official=official)
    target.delivery_mode = DeliveryMode.HAND_IN
    target.save()
    assert target_letters_reroute(target=target) == []
    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert (waiting.status, sent.status) == (LetterStatus.HELD, LetterStatus.DIGESTED)

    target.delivery_mode = DeliveryMode.EVERY_LETTER
    target.save()
    with django_capture_on_commit_callbacks() as callbacks:
        assert target_letters_reroute(target=target) == [waiting.pk]
    assert len(callbacks) == 1  # the re-routed letter is queued after commit
    waiting.refresh_from_db()
    assert waiting.status == LetterStatus.PENDING


@pytest.mark.django_db
def test_admin_inline_sets_the_mode_and_reroutes(staff_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # nothing may be sent here
    campaign, (official,) = _campaign_with_modes(DeliveryMode.DIGEST_ONLY)
    target = CampaignTarget.objects.get(campaign=campaign)
    page = staff_client.get(
        reverse("admin:campaign_campaign_change", args=[campaign.pk])
    )
    assert "Hand-in only (no email)" in page.content.decode()
    assert "deliver the letters in person" in page.content.decode()
    form = {
        "slug": campaign.slug,
        "title": campaign.title,
        "summary": campaign.summary,
        "status": campaign.status,
        "signature_goal": campaign.signature_goal,
        "letter_template": campaign.letter_template_id,
        "target_links-TOTAL_FORMS": "1",
        "target_links-INITIAL_FORMS": "1",
        "target_links-MIN_NUM_FORMS": "0",
        "target_links-MAX_NUM_FORMS": "1000",
        "target_links-0-id": target.pk,
        "target_links-0-campaign": campaign.pk,
        "target_links-0-official": official.pk,
        "target_links-0-delivery_mode": DeliveryMode.HAND_IN,
        "area_targeting-TOTAL_FORMS": "0",
        "area_targeting-INITIAL_FORMS": "0",
        "area_targeting-MIN_NUM_FORMS": "0",
        "area_targeting-MAX_NUM_FORMS": "1",
    }
    response = staff_client.post(
        reverse("admin:campaign_campaign_change", args=[campaign.pk]), form
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.delivery_mode == DeliveryMode.HAND_IN


@pytest.mark.django_db
def test_campaign_page_says_how_each_letter_travels(client, settings):
    settings.PERSONAL_LETTER_MIN_WORDS = 25
    campaign, _ = _campaign_with_modes(
        DeliveryMode.PERSONAL_AND_DIGEST, DeliveryMode.HAND_IN
    )
    page = client.get(reverse("campaign:detail", args=[campaign.slug]))
    text = " ".join(page.content.decode().split())
    assert "With at least 25 words of your own" in text
    assert "it is not emailed" in text


@pytest.mark.django_db(transaction=True)
def test_existing_targets_are_migrated_to_every_letter():
    executor = MigrationExecutor(connection)
    executor.migrate([("campaign", "0002_outbox_indexes")])
    old = executor.loader.project_state([("campaign", "0002_outbox_indexes")]).apps
    template = old.get_model("letters", "LetterTemplate").objects.create(
        name="t", subject_template="s", body_template="{{ signer.name }}"
    )
    official = old.get_model("campaign", "Official").objects.create(
        name="O", position="P", salutation="Dear O", email="o@example.org"
    )
    campaign = old.get_model("campaign", "Campaign").objects.create(
        slug="old", title="Old", summary="s", letter_template=template
    )
    campaign.targets.add(official)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(CampaignTarget.objects.values_list("delivery_mode", flat=True)) == [
        DeliveryMode.EVERY_LETTER
    ]
    assert CampaignFactory().target_links.first().delivery_mode == "every"
