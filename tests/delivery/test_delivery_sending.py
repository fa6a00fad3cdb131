"""The sending service in this process, against the real SMTP server and
PostgreSQL: headers, bad input, failures, the throttle and racing claims.

Sending refuses to run inside a transaction, so these tests use transactional_db.
"""

import threading
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaign import emails
from campaign.models import (
    ConfirmationEmail,
    Digest,
    Letter,
    Official,
    OutboxMessage,
    OutboxStatus,
    Receipt,
    Update,
    UpdateEmail,
)
from campaign.services.delivery import (
    THROTTLE_SLACK,
    Outcome,
    letter_send,
    outbox_sweep,
)
from campaign.services.delivery.registry import OUTBOXES
from campaign.tasks import letters_send_task
from config.celery import app as celery_app
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    OfficialFactory,
    SignatureFactory,
    bulk_signatures,
)
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_display_names_arrive_as_typed_and_never_as_the_sender(smtp, settings):
    names = [
        "Zoë Ørsted 李小龍",  # RFC 2047-encoded on the wire
        'Smith, Jane "JJ"',  # specials: quoted
        "Ada <ada@evil.example>",  # looks like an address: stays a name
    ]
    letters = [
        LetterFactory(signature__full_name=name, signature__email=f"s{i}@example.com")
        for i, name in enumerate(names)
    ]

    for letter in letters:
        assert letter_send(letter_id=letter.pk).outcome == Outcome.SENT

    for name, letter, message in zip(names, letters, smtp.messages, strict=True):
        [sender] = message["From"].addresses
        assert sender.display_name == f"{name} via {settings.SITE_NAME}"
        assert sender.addr_spec == settings.DEFAULT_FROM_EMAIL
        [reply_to] = message["Reply-To"].addresses
        assert (reply_to.display_name, reply_to.addr_spec) == (
            name,
            letter.signature.email,
        )
        assert message.envelope_rcpt == [letter.official.email]
        assert message["Message-ID"] == emails.message_id(letter)


def test_control_characters_fail_the_row_and_never_reach_a_header(smtp):
    # The factory skips validation, as a row written before a validator existed
    # (or by a bug) would.
    letters = [
        LetterFactory(signature__full_name="Eve\r\nBcc: victim@example.com"),
        LetterFactory(signature__full_name="Eve\u2028Bcc: victim@example.com"),
        LetterFactory(signature__full_name="Eve\x1b[2J"),  # a terminal escape
        LetterFactory(subject="Hello\r\nBcc: victim@example.com"),
    ]

    outcomes = {letter_send(letter_id=letter.pk).outcome for letter in letters}

    assert outcomes == {Outcome.FAILED}
    for letter in letters:
        letter.refresh_from_db()
        assert letter.status == OutboxStatus.FAILED
        assert "line breaks or control characters" in letter.last_error
    assert (smtp.attempts, smtp.messages) == (0, [])


def test_refused_connection_is_retried_with_backoff(smtp, settings):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.DELIVERY_RETRY_BASE_SECONDS = 30
    letter = LetterFactory()

    result = letter_send(letter_id=letter.pk)

    letter.refresh_from_db()
    assert result.outcome == Outcome.RETRY
    assert 15 <= result.retry_in <= 30  # the first wait, with jitter
    assert letter.status == OutboxStatus.PENDING
    assert letter.attempts == 1
    assert letter.last_error.startswith("ConnectionRefusedError")
    wait = (letter.next_attempt_at - timezone.now()).total_seconds()
    assert 10 < wait <= 30
    # Not due yet: a duplicate queue message does nothing.
    assert letter_send(letter_id=letter.pk).outcome == Outcome.SKIPPED


def test_transient_failures_give_up_after_the_budget(smtp, settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    settings.DELIVERY_RETRY_MAX_SECONDS = 1
    settings.DELIVERY_GIVE_UP_AFTER_HOURS = 3 / 3600  # three 1-second waits
    smtp.script(*["451 4.7.1 Greylisted"] * 3)
    letter = LetterFactory()

    outcomes = []
    for _ in range(3):
        outcomes.append(letter_send(letter_id=letter.pk).outcome)
        Letter.objects.filter(pk=letter.pk).update(next_attempt_at=None)  # due now

    letter.refresh_from_db()
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    assert letter.status == OutboxStatus.FAILED
    assert letter.last_error == "Gave up after 3 attempts. 451 4.7.1 Greylisted"
    assert smtp.attempts == 3


def test_sent_cancelled_and_missing_rows_are_not_sent(smtp, caplog):
    letter = LetterFactory()
    cancelled = LetterFactory(status=OutboxStatus.CANCELLED)

    assert letter_send(letter_id=letter.pk).outcome == Outcome.SENT
    assert letter_send(letter_id=letter.pk).outcome == Outcome.SKIPPED
    assert letter_send(letter_id=cancelled.pk).outcome == Outcome.SKIPPED
    assert letter_send(letter_id=10**9).outcome == Outcome.MISSING

    assert len(smtp.messages) == 1
    assert f"letter {10**9} no longer exists" in caplog.text


def test_sending_inside_a_transaction_is_refused(smtp):
    letter = LetterFactory()
    with (
        pytest.raises(RuntimeError, match="outside any transaction"),
        transaction.atomic(),
    ):
        letter_send(letter_id=letter.pk)
    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == (OutboxStatus.PENDING, 0)


def test_two_workers_racing_on_one_row_send_it_once(smtp):
    letter = LetterFactory()
    smtp.delay = 0.2  # the winner is still sending when the loser tries
    start = threading.Barrier(2)
    outcomes = []

    def worker():
        start.wait()
        try:
            outcomes.append(letter_send(letter_id=letter.pk).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [Outcome.SENT, Outcome.SKIPPED]
    assert len(smtp.messages) == 1


def test_throttle_holds_letters_over_the_hourly_cap(smtp, settings):
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 2
    busy, other = OfficialFactory(), OfficialFactory()
    first, second, third = LetterFactory.create_batch(3, official=busy)
    elsewhere = LetterFactory(official=other)

    outcomes = [letter_send(letter_id=x.pk) for x in (first, second, third, elsewhere)]

    assert [r.outcome for r in outcomes] == ["sent", "sent", "throttled", "sent"]
    first.refresh_from_db()
    third.refresh_from_db()
    assert (third.status, third.attempts) == (OutboxStatus.PENDING, 0)
    assert third.next_attempt_at == first.sent_at + timedelta(hours=1)
    assert 3590 < outcomes[2].retry_in <= 3600
    assert len(smtp.messages) == 3

    # An hour later the first letter's slot is free again.
    earlier = timezone.now() - timedelta(hours=1, minutes=1)
    Letter.objects.filter(pk=first.pk).update(sent_at=earlier)
    Letter.objects.filter(pk=third.pk).update(next_attempt_at=timezone.now())
    assert letter_send(letter_id=third.pk).outcome == Outcome.SENT


def test_a_freed_slot_goes_to_the_letter_first_in_line(smtp, settings):
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 2
    official = OfficialFactory()
    sent, ahead, behind = LetterFactory.create_batch(3, official=official)
    assert letter_send(letter_id=sent.pk).outcome == Outcome.SENT

    # One slot is free: the letter behind may not take it from the one ahead.
    assert letter_send(letter_id=behind.pk).outcome == Outcome.THROTTLED
    assert letter_send(letter_id=ahead.pk).outcome == Outcome.SENT
    sent.refresh_from_db()
    behind.refresh_from_db()
    assert behind.next_attempt_at == sent.sent_at + timedelta(hours=1)
    assert len(smtp.messages) == 2


def _travel_to(moment: datetime) -> None:
    """Make `moment` now, for the throttle: move every letter's times back."""
    shift = moment - timezone.now()
    Letter.objects.update(
        sent_at=F("sent_at") - shift, next_attempt_at=F("next_attempt_at") - shift
    )


def test_each_free_slot_wakes_one_waiting_letter(smtp, settings):
    """Letters over the cap get a slot each, not all the same one: when a slot
    frees, one letter is due, and it goes without being throttled again."""
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 2
    official = OfficialFactory()
    letters = LetterFactory.create_batch(6, official=official)

    outcomes = [letter_send(letter_id=letter.pk).outcome for letter in letters]

    assert outcomes == [Outcome.SENT] * 2 + [Outcome.THROTTLED] * 4
    first, second, *waiting = Letter.objects.order_by("pk")
    hour = timedelta(hours=1)
    # The two slots free an hour after the two sends, then again an hour later.
    assert [letter.next_attempt_at for letter in waiting] == [
        first.sent_at + hour,
        second.sent_at + hour,
        first.sent_at + 2 * hour + THROTTLE_SLACK,
        second.sent_at + 2 * hour + THROTTLE_SLACK,
    ]

    for letter in waiting:
        letter.refresh_from_db()
        _travel_to(letter.next_attempt_at)
        due = Letter.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        assert list(due) == [letter]
        assert letter_send(letter_id=letter.pk).outcome == Outcome.SENT
    assert len(smtp.messages) == 6


def test_a_long_line_never_gets_a_countdown_past_the_bound(smtp, settings):
    """However long an official's line, no countdown passes the bound (why:
    countdown() in campaign/services/delivery/policy.py). A letter whose slot is
    further off keeps its slot (next_attempt_at) but gets no countdown, and the
    sweeper queues it once it is due."""
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = cap = 60
    bound = settings.DELIVERY_COUNTDOWN_MAX_SECONDS
    official = OfficialFactory()
    campaign = CampaignFactory(targets=[official])
    signatures = bulk_signatures(campaign, cap + 500)
    now = timezone.now()
    letter = {"official": official, "subject": "A subject", "body": "A body"}
    Letter.objects.bulk_create(
        [  # a full hour: one sent each minute
            Letter(
                **letter,
                signature=signature,
                status=OutboxStatus.SENT,
                sent_at=now - timedelta(minutes=cap - 1 - n),
            )
            for n, signature in enumerate(signatures[:cap])
        ]
        + [Letter(**letter, signature=signature) for signature in signatures[cap:]]
    )
    line = list(Letter.objects.filter(status=OutboxStatus.PENDING).order_by("pk"))
    assert len(line) == 500

    # The ends of the first hour's wave, the start of the next, the end of the line.
    places = (0, cap - 1, cap, 499)
    results = [letter_send(letter_id=line[place].pk) for place in places]

    assert {r.outcome for r in results} == {Outcome.THROTTLED}
    assert [r.retry_in is not None for r in results] == [True, True, False, False]
    assert all(r.retry_in <= bound for r in results if r.retry_in is not None)
    assert bound < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    first, last_of_hour, next_hour, end = (line[p] for p in places)
    for row in (first, last_of_hour, next_hour, end):
        row.refresh_from_db()
    # The slots themselves are unchanged: the line's end is 8 hours on.
    assert end.next_attempt_at - now > timedelta(hours=8)
    assert first.next_attempt_at < last_of_hour.next_attempt_at
    assert last_of_hour.next_attempt_at < next_hour.next_attempt_at

    # Past its slot (and the sweeper's grace), the sweeper queues the letter
    # that got no countdown, with those before it; the line's end waits. Rolled
    # back: the queue messages go nowhere (no worker in this module).
    grace = timedelta(seconds=settings.DELIVERY_SWEEP_GRACE_SECONDS + 1)
    _travel_to(next_hour.next_attempt_at + grace)
    with transaction.atomic():
        counts = outbox_sweep()
        transaction.set_rollback(True)
    assert counts["letter"] == {"requeued": 3, "unstuck": 0}
    assert smtp.messages == []


def test_rows_not_due_are_skipped_without_waiting_for_the_officials_lock(smtp):
    """A duplicate queue message for a letter already sent (or backing off) must
    not queue behind another worker holding the official's throttle lock."""
    official = OfficialFactory()
    sent = LetterFactory(official=official, status=OutboxStatus.SENT)
    later = LetterFactory(
        official=official, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    locked, release = threading.Event(), threading.Event()

    def claimer_holding_the_lock():  # its own thread, so its own connection
        try:
            with transaction.atomic():
                Official.objects.select_for_update().get(pk=official.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=claimer_holding_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # fail, don't hang
        assert letter_send(letter_id=sent.pk).outcome == Outcome.SKIPPED
        assert letter_send(letter_id=later.pk).outcome == Outcome.SKIPPED
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert smtp.messages == []


def test_letters_being_sent_count_against_the_cap(smtp, settings):
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 1
    official = OfficialFactory()
    LetterFactory(official=official, status=OutboxStatus.SENDING)
    waiting = LetterFactory(official=official)

    result = letter_send(letter_id=waiting.pk)

    assert result.outcome == Outcome.THROTTLED
    assert smtp.messages == []


def test_a_throttled_task_in_eager_mode_does_not_loop(smtp, settings):
    """No broker (the quick start): tasks run in-process, where a retry would run
    at once, recursively; the row waits for the sweeper instead."""
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 1
    official = OfficialFactory()
    LetterFactory(official=official, status=OutboxStatus.SENT, sent_at=timezone.now())
    waiting = LetterFactory(official=official)

    assert letters_send_task.apply(args=[[waiting.pk]]).get() == {"throttled": 1}
    waiting.refresh_from_db()
    assert waiting.status == OutboxStatus.PENDING


# A pending row of each outbox model.
OUTBOX_ROWS = {
    Letter: LetterFactory,
    ConfirmationEmail: lambda: ConfirmationEmail.objects.create(
        signature=SignatureFactory(), subject="Please confirm", body="A body"
    ),
    Digest: lambda: Digest.objects.create(
        campaign=CampaignFactory(),
        official=OfficialFactory(),
        subject="3 new supporters",
        body="A body",
        new_signatures=3,
    ),
    Receipt: lambda: Receipt.objects.create(
        signature=SignatureFactory(), kind="receipt", subject="Receipt", body="B"
    ),
    UpdateEmail: lambda: UpdateEmail.objects.create(
        update=Update.objects.create(
            campaign=CampaignFactory(),
            subject="News",
            body="Dear {{ signer.name }}",
            status=Update.Status.SENDING,
            signature_count=1,
        ),
        signature=SignatureFactory(status="confirmed", keep_updated=True),
    ),
}


def test_each_outbox_model_is_sent_by_its_own_registered_task(smtp):
    """The registry holds the task objects themselves: a task renamed or removed
    fails here (or at import), not after commit inside a swallowed on_commit
    callback; a task paired with the wrong model sends nothing here."""
    models = {m for m in apps.get_models() if issubclass(m, OutboxMessage)}
    assert {outbox.model for outbox in OUTBOXES} == set(OUTBOX_ROWS) == models
    rows = []
    for outbox in OUTBOXES:
        # The worker runs a queue message by the name it was published under.
        assert outbox.task.name in celery_app.tasks
        row = OUTBOX_ROWS[outbox.model]()
        assert outbox.task.apply(args=[[row.pk]]).get() == {"sent": 1}
        row.refresh_from_db()
        assert row.status == OutboxStatus.SENT
        rows.append(row)
    assert [m["Message-ID"] for m in smtp.messages] == [r.message_id for r in rows]
