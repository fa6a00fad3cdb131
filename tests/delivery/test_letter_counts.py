"""Each signature's letter counts (letters_delivered, letters_failed: the CSV
export's last two columns) follow its letters through every path that changes a
letter's status (campaign/services/letter_counts.py). Each check compares every
signature's kept counts with a count of its letters, then names the expected
pair for the signature at hand."""

import importlib
import pkgutil
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaign import migrations
from campaign.bounce_reports import Bounce
from campaign.models import (
    DELIVERED_LETTER_STATUSES,
    CampaignTarget,
    DeliveryMode,
    Letter,
    LetterStatus,
    Signature,
)
from campaign.services import anonymising, digests, failing, routing
from campaign.services.bounces import outbox_bounce_record
from campaign.services.delivery import (
    letters_send,
    outbox_cancel,
    outbox_retry,
    outbox_sweep,
)
from campaign.services.delivery.outbox import record_sent
from campaign.services.delivery.policy import max_attempts
from campaign.services.delivery.registry import DIGESTS, LETTERS
from campaign.services.letter_counts import letters_update, signatures_letters_recount
from campaign.services.signing import signature_confirm
from tests.bounces.helpers import sent_letter
from tests.factories import LetterFactory, OfficialFactory, SignatureFactory
from tests.support.waiting import wait_until

SENDING, SENT = LetterStatus.SENDING, LetterStatus.SENT


def counted() -> dict[int, tuple[int, int]]:
    """Every signature's (delivered, failed), counted from its letters now."""
    rows = Signature.objects.annotate(
        d=Count("letters", filter=Q(letters__status__in=DELIVERED_LETTER_STATUSES)),
        f=Count("letters", filter=Q(letters__status=LetterStatus.FAILED)),
    ).values_list("pk", "d", "f")
    return {pk: (d, f) for pk, d, f in rows}


def kept() -> dict[int, tuple[int, int]]:
    rows = Signature.objects.values_list("pk", "letters_delivered", "letters_failed")
    return {pk: (d, f) for pk, d, f in rows}


def counts(signature: Signature) -> tuple[int, int]:
    """`signature`'s kept counts, once every signature's match its letters."""
    assert kept() == counted()
    return kept()[signature.pk]


def letters_of(signature: Signature, *statuses: str) -> list[Letter]:
    """One letter per status, each to an official of its own."""
    return [LetterFactory(signature=signature, status=status) for status in statuses]


@pytest.mark.django_db
def test_confirming_writes_letters_counted_as_neither(campaign):
    signature = SignatureFactory(campaign=campaign, status="pending")
    signature_confirm(token=signature.token)
    assert signature.letters.count() == 2
    assert counts(signature) == (0, 0)


@pytest.mark.django_db(transaction=True)  # sending refuses to run in a transaction
def test_sending_failing_retrying_and_cancelling(smtp):
    signature = SignatureFactory()
    ok, refused, later = letters_of(signature, "pending", "pending", "pending")
    smtp.script("250 OK", "550 5.1.1 No such user", "451 4.3.0 Try later")
    letters_send(letter_ids=[ok.pk, refused.pk, later.pk])
    assert counts(signature) == (1, 1)

    smtp.script("550 5.1.1 No such user")
    assert outbox_retry(model=Letter, ids=[refused.pk]) == 1
    # The retry is published on commit: the session's worker, when one runs, may
    # take the letter first; either way it ends refused again.
    letters_send(letter_ids=[refused.pk])
    wait_until(
        lambda: Letter.objects.get(pk=refused.pk).status == LetterStatus.FAILED,
        15,
        "the retried letter to be refused again",
    )
    assert counts(signature) == (1, 1)
    assert outbox_cancel(model=Letter, ids=[refused.pk, later.pk]) == 2
    assert counts(signature) == (1, 0)


@pytest.mark.django_db
def test_the_sweeper_gives_up_on_a_letter_that_keeps_killing_its_worker(settings):
    signature = SignatureFactory()
    (stuck,) = letters_of(signature, SENDING)
    long_ago = timezone.now() - timedelta(
        seconds=settings.DELIVERY_STUCK_AFTER_SECONDS + 60
    )
    Letter.objects.filter(pk=stuck.pk).update(
        attempts=max_attempts(), claimed_at=long_ago
    )
    outbox_sweep()
    assert Letter.objects.get(pk=stuck.pk).status == LetterStatus.FAILED
    assert counts(signature) == (0, 1)


@pytest.mark.django_db
def test_a_digest_delivers_its_letters_and_its_bounces_take_them_back(campaign):
    target = campaign.target_links.first()
    CampaignTarget.objects.filter(pk=target.pk).update(
        delivery_mode=DeliveryMode.DIGEST_ONLY
    )
    signature = SignatureFactory(campaign=campaign, status="confirmed")
    LetterFactory(
        signature=signature,
        official=target.official,
        status=LetterStatus.AWAITING_DIGEST,
    )
    digest_id = digests.digest_create(target=target)
    record_sent(DIGESTS, digest_id, "<d1@example.org>")
    assert counts(signature) == (1, 0)

    outbox_bounce_record(bounce=Bounce("d", digest_id, "4.2.2", "Mailbox full"))
    assert counts(signature) == (0, 0)  # waiting for the digest again
    record_sent(DIGESTS, digest_id, "<d1@example.org>")
    assert counts(signature) == (1, 0)
    outbox_bounce_record(bounce=Bounce("d", digest_id, "5.1.1", "No such user"))
    assert signature.letters.get().status == LetterStatus.BOUNCED
    assert counts(signature) == (0, 0)


@pytest.mark.django_db
def test_a_letters_bounces_and_the_official_flagged_failing():
    official = OfficialFactory()
    signature = SignatureFactory()
    bounced, _ = sent_letter(signature=signature)
    outbox_bounce_record(bounce=Bounce("l", bounced.pk, "5.1.1", "No such user"))
    assert counts(signature) == (0, 0)

    retried, _ = sent_letter(signature=signature)
    outbox_bounce_record(bounce=Bounce("l", retried.pk, "4.2.2", "Mailbox full"))
    assert counts(signature) == (0, 0)  # pending again
    record_sent(LETTERS, retried.pk, "<l1@example.org>")
    assert counts(signature) == (1, 0)
    Letter.objects.filter(pk=retried.pk).update(attempts=max_attempts())
    outbox_bounce_record(bounce=Bounce("l", retried.pk, "4.2.2", "Mailbox full"))
    assert counts(signature) == (0, 1)  # given up on

    # Three bounces in a row (others' letters) flag the official and hold this
    # signature's letter waiting for them; clearing the flag releases it.
    waiting = LetterFactory(official=official, signature=signature)
    for _ in range(3):
        letter, _ = sent_letter(official=official)
        outbox_bounce_record(bounce=Bounce("l", letter.pk, "5.1.1", "No such user"))
    assert Letter.objects.get(pk=waiting.pk).status == LetterStatus.HELD_FAILING
    failing.officials_failing_clear(official_ids=[official.pk])
    assert Letter.objects.get(pk=waiting.pk).status == LetterStatus.PENDING
    assert counts(signature) == (0, 1)


@pytest.mark.django_db
def test_rerouting_moves_only_letters_counted_as_neither(campaign):
    target = campaign.target_links.first()
    signature = SignatureFactory(campaign=campaign, status="confirmed")
    LetterFactory(signature=signature, official=target.official)
    sent_letter(signature=signature)
    target.delivery_mode = DeliveryMode.DIGEST_ONLY
    routing.target_letters_reroute(target=target)
    assert signature.letters.filter(status=LetterStatus.AWAITING_DIGEST).count() == 1
    assert counts(signature) == (1, 0)


@pytest.mark.django_db
def test_withdrawal_cancels_unsent_letters_and_keeps_the_outcomes(campaign):
    signature = SignatureFactory(campaign=campaign, status="confirmed")
    letters_of(signature, SENT, LetterStatus.FAILED, "pending", "awaiting_digest")
    assert counts(signature) == (1, 1)
    withdrawal = anonymising.signature_withdraw(signature_id=signature.pk)
    assert withdrawal.letters_cancelled == 2
    assert counts(signature) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_letters_of_one_signature_recorded_at_once_both_count():
    """The second statement waits for the first's transaction on the signature
    row, then adds to the count as it is then: no update is lost."""
    signature = SignatureFactory()
    first, second = letters_of(signature, SENDING, SENDING)
    holding, release = threading.Event(), threading.Event()

    def in_thread(work):
        def run():
            try:
                work()
            finally:
                connections.close_all()  # this thread's connection

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def first_in_a_long_transaction():
        with transaction.atomic():
            letters_update(letters=Letter.objects.filter(pk=first.pk), status=SENT)
            holding.set()
            release.wait(10)

    one = in_thread(first_in_a_long_transaction)
    assert holding.wait(10)
    two = in_thread(
        lambda: letters_update(letters=Letter.objects.filter(pk=second.pk), status=SENT)
    )
    wait_until(lambda: _waiting_on_a_lock() == 1, 10, "the second to wait")
    release.set()
    one.join(10)
    two.join(10)
    assert counts(signature) == (2, 0)


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_migration_backfill_and_the_recount_agree_with_the_kept_counts():
    for statuses in (
        (SENT, "digested", "failed"),
        ("bounced", "pending"),
        ("failed", "failed", "cancelled", "held"),
    ):
        letters_of(SignatureFactory(), *statuses)
    maintained = kept()
    assert set(maintained.values()) == {(2, 1), (0, 0), (0, 2)}

    # The migration that added the counts, whatever its number.
    [name] = [
        m.name
        for m in pkgutil.iter_modules(migrations.__path__)
        if m.name.endswith("_letter_counts") and m.name[:4] > "0007"
    ]
    backfill = importlib.import_module(f"campaign.migrations.{name}")
    Signature.objects.update(letters_delivered=0, letters_failed=0)
    with connection.cursor() as cursor:
        cursor.execute(backfill.BACKFILL)
    assert kept() == maintained

    Signature.objects.update(letters_delivered=7, letters_failed=7)
    # A filter through the letters names a signature once per letter it matches:
    # each is still counted once.
    with_failures = Signature.objects.filter(letters__status="failed")
    assert signatures_letters_recount(signatures=with_failures) == 2
    assert signatures_letters_recount(signatures=Signature.objects.all()) == 1
    assert kept() == maintained
    assert signatures_letters_recount(signatures=Signature.objects.all()) == 0
