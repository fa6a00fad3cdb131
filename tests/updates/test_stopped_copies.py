"""A copy being sent when its update is paused or cancelled can come back
"pending": a 4xx retry, a batch released unattempted, the sweeper freeing it
from a dead worker. Queued again, it is not sent: the claim pauses it with its
update (resume sends it, once) or cancels it. The steps run in this process
against PostgreSQL and the real SMTP server; resuming goes through the worker.
"""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaign.emails import message_id
from campaign.models import Update, UpdateEmail
from campaign.services import updates
from campaign.services.delivery import Outcome, outbox_sweep, update_emails_send
from campaign.services.delivery.outbox import Claim, claim, record_failure, release
from campaign.services.delivery.policy import classify
from campaign.services.delivery.registry import UPDATES
from tests.support.waiting import wait_until
from tests.support.worker import wait_for_idle_broker

from .conftest import draft, supporters

pytestmark = pytest.mark.django_db(transaction=True)


def in_flight(campaign) -> Claim:
    """An update being sent whose three copies a worker has just claimed.
    The rows are written directly: nothing is published, so the session's
    worker (if any) never sees them until a step below queues them."""
    update = draft(campaign)
    Update.objects.filter(pk=update.pk).update(
        status=Update.Status.SENDING, sent_at=timezone.now()
    )
    copies = UpdateEmail.objects.bulk_create(
        UpdateEmail(update=update, signature=fan, next_attempt_at=timezone.now())
        for fan in supporters(campaign, 3)
    )
    ids = [copy.pk for copy in copies]
    taken = claim(UPDATES, ids)
    assert taken.ids == ids
    return taken


def back_to_pending(taken, settings) -> None:
    """Each copy returns to pending another way: the server's 4xx, released
    unattempted (connection lost, out of time), freed by the sweeper."""
    retried, released, stuck = taken.ids
    reply = classify(smtplib.SMTPDataError(451, b"4.3.0 Try again later"))
    outcome = record_failure(
        UPDATES, retried, taken.refs[retried], taken.claimed_at, reply
    )
    assert outcome.outcome == Outcome.RETRY
    release(UPDATES, [released], taken.claimed_at)
    assert UpdateEmail.objects.get(pk=stuck).status == "sending"
    later = timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS + 1)
    with time_machine.travel(timezone.now() + later, tick=False):
        assert outbox_sweep()["update email"]["unstuck"] == 1
    statuses = UpdateEmail.objects.filter(pk__in=taken.ids).values_list("status")
    assert set(statuses) == {("pending",)}


def send_later(ids: list[int]) -> set[Outcome]:
    """The queued copies, once every backoff is over (in this process's clock
    only: for the session's worker they are not due yet)."""
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        results = update_emails_send(update_email_ids=ids).results
    return {result.outcome for result in results.values()}


def stopped_while_in_flight(campaign, settings, smtp, stop) -> tuple[list[int], int]:
    """Three copies in flight, their update stopped (`stop`: pause or cancel,
    which finds none waiting), each copy back to pending and queued again:
    none is sent. Returns the copies' ids and the update's."""
    taken = in_flight(campaign)
    update_id = UpdateEmail.objects.get(pk=taken.ids[0]).update_id
    assert stop(update_id=update_id) == 0
    back_to_pending(taken, settings)
    assert send_later(taken.ids) == {Outcome.SKIPPED}
    assert smtp.messages == []
    return taken.ids, update_id


def test_a_copy_back_from_sending_after_pause_is_paused_and_resume_sends_it_once(
    worker, smtp, broker, campaign, settings
):
    ids, update_id = stopped_while_in_flight(
        campaign, settings, smtp, updates.update_pause
    )
    copies = UpdateEmail.objects.filter(pk__in=ids)
    assert set(copies.values_list("status", flat=True)) == {"paused"}
    assert updates.update_progress(update_id=update_id)["waiting"] == 3

    assert updates.update_resume(update_id=update_id) == 3
    smtp.wait_for(3)
    wait_until(
        lambda: copies.filter(status="sent").count() == 3,
        message="the three copies recorded sent after resuming",
    )
    wait_for_idle_broker(broker)
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(
        message_id(copy) for copy in copies
    )


def test_a_copy_back_from_sending_after_cancel_is_cancelled(smtp, campaign, settings):
    ids, update_id = stopped_while_in_flight(
        campaign, settings, smtp, updates.update_cancel
    )
    progress = updates.update_progress(update_id=update_id)
    assert (progress["cancelled"], progress["waiting"], progress["sent"]) == (3, 0, 0)
    # Queued once more (a duplicate message, the sweeper): still nothing.
    assert send_later(ids) == {Outcome.SKIPPED}
    assert smtp.messages == []
