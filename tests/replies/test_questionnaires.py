"""The "did they reply?" questionnaire: asked once, REPLY_QUESTIONNAIRE_AFTER_DAYS
after a letter reached its official on its own; reminded once a week later;
answered by POST only, from a signed link. The clock is moved, never waited for."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from campaign.models import ConfirmationEmail, LetterStatus, Questionnaire
from campaign.services.questionnaires import (
    questionnaire_token,
    questionnaires_send_due,
)
from campaign.tasks import questionnaires_send_task
from config.celery import app
from tests.factories import CampaignFactory, OfficialFactory
from tests.replies.conftest import AFTER_DAYS, delivered

# Read at import, as tests/delivery/test_celery_config.py does: when the app is
# first configured inside a test (a task sent under the `settings` fixture), the
# schedule read back afterwards lacks the on_after_finalize entries.
BEAT_SCHEDULE = app.conf.beat_schedule
LINK_RE = re.compile(r"http://testserver/replies/[^\s/]+/")


def _campaign():
    return CampaignFactory(
        title="Clean Air Now",
        targets=[
            OfficialFactory(name="Alex Morgan", position="Prime Minister"),
            OfficialFactory(name="Sam Okafor", position="Home Secretary"),
        ],
    )


def _emails() -> list[ConfirmationEmail]:
    return list(ConfirmationEmail.objects.order_by("pk"))


@pytest.mark.django_db
def test_asked_only_once_due_and_only_about_letters_sent_on_their_own(
    questionnaire_settings, django_capture_on_commit_callbacks
):
    campaign = _campaign()
    alex, sam = campaign.targets.order_by("name")
    sent_at = timezone.now() - timedelta(days=60)
    letters = delivered(campaign, [alex, sam], sent_at=sent_at)
    # Listed in a digest, still waiting, or failed: never asked about.
    delivered(campaign, [alex], sent_at=sent_at, status=LetterStatus.DIGESTED)
    delivered(campaign, [alex], sent_at=None, status=LetterStatus.PENDING)
    delivered(campaign, [sam], sent_at=sent_at, status=LetterStatus.FAILED)

    with time_machine.travel(sent_at + timedelta(days=AFTER_DAYS, minutes=-1)):
        assert questionnaires_send_due().asked == 0
    assert not Questionnaire.objects.exists()

    with time_machine.travel(sent_at + timedelta(days=AFTER_DAYS, hours=1)):
        with django_capture_on_commit_callbacks() as callbacks:
            run = questionnaires_send_due()
        again = questionnaires_send_due()
    assert (run.asked, run.reminded, run.emails) == (2, 0, 1)
    assert (again.asked, again.reminded, again.emails) == (0, 0, 0)
    assert len(callbacks) == 1  # the email is handed to the worker on commit
    rows = Questionnaire.objects.order_by("official__name")
    assert [q.letter for q in rows] == letters
    assert {q.campaign for q in rows} == {campaign}
    assert all(q.reminded_at is None and q.answered_at is None for q in rows)

    [email] = _emails()
    assert email.signature == letters[0].signature
    assert email.subject == "Did they reply? Clean Air Now"
    assert "Did Alex Morgan (Prime Minister) reply?" in email.body
    assert "Did Sam Okafor (Home Secretary) reply?" in email.body
    assert len(LINK_RE.findall(email.body)) == 2


@pytest.mark.django_db
def test_exactly_one_reminder_a_week_later_and_none_once_answered(
    questionnaire_settings, client
):
    campaign = _campaign()
    alex, sam = campaign.targets.order_by("name")
    sent_at = timezone.now() - timedelta(days=40)
    delivered(campaign, [alex], sent_at=sent_at)
    [answered_letter] = delivered(campaign, [sam], sent_at=sent_at)
    asked_at = sent_at + timedelta(days=AFTER_DAYS)
    with time_machine.travel(asked_at):
        assert questionnaires_send_due().asked == 2
    answered = Questionnaire.objects.get(letter=answered_letter)
    client.post(
        reverse("campaign:questionnaire", args=[questionnaire_token(answered.pk)]),
        {"answer": "no"},
    )

    with time_machine.travel(asked_at + timedelta(days=7, minutes=-1)):
        assert questionnaires_send_due().reminded == 0
    with time_machine.travel(asked_at + timedelta(days=7, minutes=1)):
        first = questionnaires_send_due()
    with time_machine.travel(asked_at + timedelta(days=21)):
        later = questionnaires_send_due()
    assert (first.reminded, first.emails) == (1, 1)
    assert (later.asked, later.reminded, later.emails) == (0, 0, 0)

    reminder = _emails()[-1]
    assert reminder.subject == "Reminder: did Alex Morgan reply? Clean Air Now"
    assert "Did Alex Morgan (Prime Minister) reply?" in reminder.body
    assert "Sam Okafor" not in reminder.body
    assert len(_emails()) == 3  # two first asks, one reminder
    unanswered = Questionnaire.objects.get(official=alex)
    assert unanswered.reminded_at == asked_at + timedelta(days=7, minutes=1)
    assert Questionnaire.objects.get(pk=answered.pk).reminded_at is None


@pytest.mark.django_db
def test_zero_days_turns_the_questionnaire_off(questionnaire_settings):
    questionnaire_settings.REPLY_QUESTIONNAIRE_AFTER_DAYS = 0
    campaign = _campaign()
    delivered(campaign, campaign.targets.all(), sent_at=timezone.now() - timedelta(30))
    call_command("send_questionnaires", verbosity=0)
    assert not Questionnaire.objects.exists()
    assert not ConfirmationEmail.objects.exists()


@pytest.mark.django_db
def test_letters_from_long_before_the_feature_are_not_dug_up(questionnaire_settings):
    campaign = _campaign()
    delivered(campaign, campaign.targets.all(), sent_at=timezone.now() - timedelta(400))
    assert questionnaires_send_due().asked == 0


# --- the link: GET shows, POST records ----------------------------------------


@pytest.fixture
def asked(questionnaire_settings):
    campaign = _campaign()
    alex = campaign.targets.get(name="Alex Morgan")
    delivered(campaign, [alex], sent_at=timezone.now() - timedelta(days=20))
    questionnaires_send_due()
    questionnaire = Questionnaire.objects.get()
    url = reverse(
        "campaign:questionnaire", args=[questionnaire_token(questionnaire.pk)]
    )
    return questionnaire, url


@pytest.mark.django_db
def test_get_shows_buttons_and_records_nothing(client, asked):
    questionnaire, url = asked
    for method in (client.get, client.head, client.get):
        response = method(url)
        assert response.status_code == 200
    page = response.content.decode()
    assert "Did Alex Morgan reply?" in page
    assert 'name="answer" value="yes"' in page
    assert 'name="answer" value="no"' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    questionnaire.refresh_from_db()
    assert (questionnaire.replied, questionnaire.answered_at) == (None, None)


@pytest.mark.django_db
def test_post_records_the_answer_and_may_change_it(client, asked):
    questionnaire, url = asked
    response = client.post(url, {"answer": "yes"})
    assert response.status_code == 200
    assert (
        "you told us Alex Morgan <strong>replied</strong>" in response.content.decode()
    )
    questionnaire.refresh_from_db()
    assert questionnaire.replied is True
    first_answer = questionnaire.answered_at
    assert first_answer is not None

    client.post(url, {"answer": "yes"})  # the same again: nothing changes
    questionnaire.refresh_from_db()
    assert questionnaire.answered_at == first_answer

    client.post(url, {"answer": "no"})  # the supporter corrects themself
    questionnaire.refresh_from_db()
    assert questionnaire.replied is False


@pytest.mark.django_db
def test_post_without_a_valid_answer_records_nothing(client, asked):
    questionnaire, url = asked
    response = client.post(url, {"answer": "maybe"})
    assert response.status_code == 400
    assert "Press “Yes” or “No” to answer." in response.content.decode()
    questionnaire.refresh_from_db()
    assert questionnaire.replied is None


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_or_altered_tokens_are_refused(client, asked, method):
    questionnaire, _ = asked
    real = questionnaire_token(questionnaire.pk)
    forged = [
        signing.Signer(key="not-our-secret", salt="quillpost.questionnaire").sign(
            str(questionnaire.pk)
        ),
        f"{questionnaire.pk + 1}:{real.partition(':')[2]}",  # another id, same sig
        real[:-3],  # cut short
        "garbage",
        questionnaire_token(questionnaire.pk + 1000),  # signed, but no such row
    ]
    for token in forged:
        url = reverse("campaign:questionnaire", args=[token])
        response = getattr(client, method)(url, {"answer": "yes"})
        assert response.status_code == 404, token
        assert "We don't recognise this link" in response.content.decode()
    questionnaire.refresh_from_db()
    assert questionnaire.replied is None


# --- through the real worker and SMTP server ------------------------------------


def test_the_email_arrives_and_its_link_answers(worker, smtp, questionnaire_settings):
    from django.test import Client

    campaign = _campaign()
    [letter] = delivered(
        campaign,
        [campaign.targets.get(name="Sam Okafor")],
        sent_at=timezone.now() - timedelta(days=AFTER_DAYS + 1),
        email="ada@example.com",
    )
    call_command("send_questionnaires", verbosity=0)
    call_command("send_questionnaires", verbosity=0)  # idempotent

    [message] = smtp.wait_for(count=1)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Did Sam Okafor reply? Clean Air Now"
    assert message.get_content_type() == "text/plain"
    [link] = LINK_RE.findall(message.get_content())
    path = link.removeprefix("http://testserver")

    client = Client()
    assert client.get(path).status_code == 200
    assert Questionnaire.objects.get().replied is None
    assert client.post(path, {"answer": "yes"}).status_code == 200
    questionnaire = Questionnaire.objects.get()
    assert (questionnaire.letter, questionnaire.replied) == (letter, True)
    assert len(smtp.messages) == 1


def test_beat_asks_daily_by_a_task_that_exists():
    entry = BEAT_SCHEDULE["daily-questionnaires"]
    # Beat publishes by name: a misspelt one would be scheduled and never run.
    assert app.tasks[entry["task"]].run is questionnaires_send_task.run
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({10}, {30})


def test_the_beat_task_asks_through_the_worker(worker, smtp, questionnaire_settings):
    campaign = _campaign()
    delivered(
        campaign,
        campaign.targets.all(),
        sent_at=timezone.now() - timedelta(days=AFTER_DAYS + 1),
    )
    # The worker runs with the default delay, which is AFTER_DAYS.
    questionnaires_send_task.delay()
    [message] = smtp.wait_for(count=1)
    assert message["Subject"] == "Did they reply? Clean Air Now"
    assert Questionnaire.objects.count() == 2
