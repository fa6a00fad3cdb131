"""Delivery through the real worker: PostgreSQL, Redis, a Celery worker process
(and beat) and an aiosmtpd server on 127.0.0.1. Nothing is mocked.

The worker runs with tests/support/worker.WORKER_TEST_ENV: retries back off from 0.5 s
to at most 2 s, rows "sending" for 3 s count as stuck, the sweeper has no grace
period and beat sweeps every second.
"""

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaign.models import Letter, OutboxStatus, Signature
from campaign.services.delivery import (
    confirmation_enqueue,
    letters_enqueue,
    outbox_sweep,
)
from campaign.services.signing import campaign_sign, signature_confirm
from tests.delivery.helpers import letters_in
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    OfficialFactory,
    SignatureFactory,
)
from tests.support.processes import ROOT, free_port
from tests.support.waiting import wait_until
from tests.support.worker import (
    database_url,
    wait_for_idle_broker,
)


def test_confirmed_signature_sends_one_letter_per_official(worker, smtp, broker):
    minister = OfficialFactory(
        name="Jane Doe", salutation="Dear Minister", email="jane.doe@example.org"
    )
    mayor = OfficialFactory(
        name="Sam Roe", salutation="Dear Mayor Roe", email="sam.roe@example.org"
    )
    campaign = CampaignFactory(title="Clean Air", targets=[minister, mayor])
    signature = campaign_sign(
        campaign=campaign,
        full_name="Zoë O'Brien",
        email="zoe@example.com",
        postcode="BA1 1AA",
        town="Bath",
        personal_paragraph="My daughter has asthma; the school run is the worst.",
        consent_to_send=True,
    )
    signature_confirm(token=signature.token)

    smtp.wait_for(3)  # the confirmation email, then two letters
    wait_for_idle_broker(broker)
    letters = [m for m in smtp.messages if m["To"].addresses[0].domain == "example.org"]
    assert len(smtp.messages) == 3
    assert sorted(m["To"].addresses[0].addr_spec for m in letters) == [
        "jane.doe@example.org",
        "sam.roe@example.org",
    ]
    salutations = {
        "jane.doe@example.org": "Dear Minister,",
        "sam.roe@example.org": "Dear Mayor Roe,",
    }
    for message in letters:
        to = message["To"].addresses[0].addr_spec
        sender = message["From"].addresses[0]
        assert sender.display_name == f"Zoë O'Brien via {settings.SITE_NAME}"
        assert sender.addr_spec == settings.DEFAULT_FROM_EMAIL
        reply_to = message["Reply-To"].addresses[0]
        assert (reply_to.display_name, reply_to.addr_spec) == (
            "Zoë O'Brien",
            "zoe@example.com",
        )
        assert message.envelope_rcpt == [to]
        assert message["Subject"] == "About Clean Air"
        assert message.get_content_type() == "text/plain"
        assert message.get_content_charset() == "utf-8"
        body = message.get_content()
        assert body.startswith(salutations[to])
        assert "My daughter has asthma; the school run is the worst." in body
        assert "Zoë O'Brien" in body
        letter = Letter.objects.get(official__email=to)
        assert letter.status == OutboxStatus.SENT
        assert letter.attempts == 1
        assert message["Message-ID"] == letter.message_id
        assert re.fullmatch(r"<letter-\d+\.[0-9a-f]{20}@[\w.-]+>", letter.message_id)


def test_451_twice_then_250_is_delivered_once(worker, smtp, broker):
    smtp.script("451 4.3.0 Try again later", "451 4.3.0 Try again later")
    letter = LetterFactory()
    letters_enqueue(letter_ids=[letter.pk])

    smtp.wait_for(1)
    wait_for_idle_broker(broker)
    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == (OutboxStatus.SENT, 3)
    assert smtp.attempts == 3
    assert [m["Message-ID"] for m in smtp.messages] == [letter.message_id]


def test_550_fails_with_the_reply_and_no_retry(worker, smtp, broker, staff_client):
    smtp.script("550 5.1.1 Mailbox unavailable")
    letter = LetterFactory(official__name="Nobody Home")
    letters_enqueue(letter_ids=[letter.pk])

    wait_until(letters_in(OutboxStatus.FAILED, 1), message="the letter to fail")
    wait_for_idle_broker(broker)
    letter.refresh_from_db()
    assert letter.last_error == "550 5.1.1 Mailbox unavailable"
    assert letter.attempts == 1
    assert letter.next_attempt_at is None
    assert (smtp.attempts, smtp.messages) == (1, [])

    page = staff_client.get(
        reverse("admin:campaign_letter_changelist"), {"status__exact": "failed"}
    ).content.decode()
    assert "550 5.1.1 Mailbox unavailable" in page
    assert "Nobody Home" in page


def test_exception_after_enqueueing_in_a_transaction_sends_nothing(
    worker, smtp, broker
):
    signature = SignatureFactory()  # a campaign with two officials
    with pytest.raises(RuntimeError, match="after queueing"), transaction.atomic():
        signature_confirm(token=signature.token)
        rolled_back = list(Letter.objects.values_list("pk", flat=True))
        assert len(rolled_back) == 2
        raise RuntimeError("something failed after queueing")

    assert not Letter.objects.exists()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    # Anything queued by the rolled-back transaction would reach the worker before
    # this letter; when it has been sent, the worker has seen all there was.
    marker = LetterFactory()
    letters_enqueue(letter_ids=[marker.pk])
    smtp.wait_for(1)
    wait_for_idle_broker(broker)
    marker.refresh_from_db()
    assert [m["Message-ID"] for m in smtp.messages] == [marker.message_id]
    assert not any(f"letter {pk} " in worker.log() for pk in rolled_back)


def test_confirmation_email_goes_to_the_bare_address(worker, smtp, broker):
    signature = SignatureFactory(full_name="Grace Hopper", email="grace@example.com")
    row = signature.confirmation_emails.create(subject="Please confirm", body="Zoë ✓")
    confirmation_enqueue(confirmation_id=row.pk)

    [message] = smtp.wait_for(1)
    wait_for_idle_broker(broker)
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert message["To"] == "grace@example.com"
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (
        settings.SITE_NAME,
        settings.DEFAULT_FROM_EMAIL,
    )
    assert message["Subject"] == "Please confirm"
    assert message.get_content().strip() == "Zoë ✓"
    assert message["Message-ID"] == row.message_id
    assert row.message_id.startswith(f"<confirmationemail-{row.pk}.")


def test_a_letter_queued_many_times_is_sent_once(worker, smtp, broker, settings):
    settings.DELIVERY_BATCH_SIZE = 1  # six queue messages, racing
    letter = LetterFactory()
    letters_enqueue(letter_ids=[letter.pk] * 6)  # e.g. the sweeper and a retry
    smtp.wait_for(1)
    wait_for_idle_broker(broker)
    letter.refresh_from_db()
    assert (len(smtp.messages), smtp.attempts, letter.attempts) == (1, 1, 1)


def test_sweeper_requeues_lost_and_stuck_rows_only(worker, smtp, broker, settings):
    settings.DELIVERY_SWEEP_GRACE_SECONDS = 60
    settings.DELIVERY_STUCK_AFTER_SECONDS = 600
    now = timezone.now()
    long_ago = now - timedelta(minutes=15)
    lost = LetterFactory()  # its queue message never arrived
    retry_lost = LetterFactory(next_attempt_at=now - timedelta(minutes=5), attempts=1)
    stuck = LetterFactory(status=OutboxStatus.SENDING, claimed_at=long_ago, attempts=1)
    Letter.objects.filter(pk=lost.pk).update(created_at=long_ago)
    left_alone = [
        LetterFactory(),  # fresh: its on-commit message is probably on its way
        LetterFactory(next_attempt_at=now + timedelta(minutes=5)),  # backing off
        LetterFactory(status=OutboxStatus.SENDING, claimed_at=now),  # being sent
        LetterFactory(status=OutboxStatus.FAILED),
        LetterFactory(status=OutboxStatus.CANCELLED),
    ]
    Letter.objects.filter(pk__in=[r.pk for r in left_alone]).update(
        created_at=now - timedelta(seconds=5)
    )

    counts = outbox_sweep()

    assert counts["letter"] == {"requeued": 3, "unstuck": 1}
    assert counts["confirmation"] == {"requeued": 0, "unstuck": 0}
    smtp.wait_for(3)
    wait_for_idle_broker(broker)
    expected = {lost.pk, retry_lost.pk, stuck.pk}
    assert set(Letter.objects.filter(status="sent").values_list("pk", flat=True)) == (
        expected
    )
    assert len(smtp.messages) == 3
    stuck.refresh_from_db()
    assert stuck.attempts == 2


def run_with_broker_down(code: str) -> subprocess.CompletedProcess:
    """Run `code` in a web-like process (manage.py shell) on the test database,
    whose broker is a closed port: every publish fails as if Redis were down."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",  # nobody there
        "DJANGO_ALLOWED_HOSTS": "testserver",  # django.test.Client's host
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "left pending for the sweeper" in done.stdout + done.stderr
    return done


def test_broker_down_at_commit_loses_nothing(worker, smtp, broker, settings):
    """The web process commits while Redis is unreachable: the supporter sees no
    error, the letters stay pending, and the sweeper sends them later."""
    settings.DELIVERY_SWEEP_GRACE_SECONDS = 0
    signature = SignatureFactory()  # a campaign with two officials
    done = run_with_broker_down(
        "from campaign.services.signing import signature_confirm; "
        f"signature_confirm(token={signature.token!r}); print('confirmed')"
    )
    assert "confirmed" in done.stdout
    assert set(Letter.objects.values_list("status", flat=True)) == {"pending"}
    assert smtp.messages == []

    outbox_sweep()
    smtp.wait_for(2)
    wait_for_idle_broker(broker)
    assert set(Letter.objects.values_list("status", flat=True)) == {"sent"}


def test_broker_down_while_signing_loses_nothing(worker, smtp, broker, settings):
    """The sign form posted while Redis is unreachable: the supporter is sent on
    to "check your inbox" as usual, the confirmation email waits in the outbox,
    and the sweeper has it delivered once the broker is back."""
    settings.DELIVERY_SWEEP_GRACE_SECONDS = 0
    campaign = CampaignFactory()
    form = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": "NW1 6XE",
        "consent_to_send": "on",
        "sign": "1",
    }
    url = reverse("campaign:detail", args=[campaign.slug])
    done = run_with_broker_down(
        "from django.test import Client; "
        f"r = Client().post({url!r}, {form!r}); "
        "print('answered', r.status_code, r.headers.get('Location'))"
    )
    signed = reverse("campaign:signed", args=[campaign.slug])
    assert f"answered 302 {signed}" in done.stdout
    signature = Signature.objects.get(campaign=campaign)
    assert signature.status == Signature.Status.PENDING
    confirmation = signature.confirmation_emails.get()
    assert confirmation.status == OutboxStatus.PENDING
    assert smtp.messages == []

    assert outbox_sweep()["confirmation"] == {"requeued": 1, "unstuck": 0}
    [message] = smtp.wait_for(1)
    wait_for_idle_broker(broker)
    confirmation.refresh_from_db()
    assert confirmation.status == OutboxStatus.SENT
    assert message["To"] == "ada@example.com"
    assert message["Message-ID"] == confirmation.message_id
    assert f"/confirm/{signature.token}/" in message.get_content()
