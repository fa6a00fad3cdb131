"""Updates through the real worker (a Celery process on Redis) to a real SMTP
server (aiosmtpd): who gets one, once, with the unsubscribe headers and their
own name; one-click unsubscribing; a worker killed mid-run; pause and resume.

The worker runs with tests/support/worker.WORKER_TEST_ENV (no rate limit, rows
"sending" for 3 s count as stuck, the sweeper every second under beat)."""

from collections import Counter

from django.test import Client

from campaign.emails import message_id
from campaign.models import UpdateEmail
from campaign.services import updates
from campaign.update_text import unsubscribe_url
from campaign.verp import verp_parse
from tests.support.waiting import wait_until
from tests.support.worker import WORKER_CONCURRENCY, wait_for_idle_broker

from .conftest import draft, supporters


def sent(update, count: int):
    return lambda: (
        UpdateEmail.objects.filter(update=update, status="sent").count() >= count
    )


def test_exactly_the_opted_in_get_it_once_and_one_click_stops_the_next(
    worker, smtp, broker, campaign, settings
):
    fans = supporters(campaign, 50)
    supporters(campaign, 20, prefix="quiet", keep_updated=False)
    update = updates.update_send(update_id=draft(campaign).pk)

    messages = smtp.wait_for(50)
    wait_until(sent(update, 50), message="all 50 recorded sent")
    wait_for_idle_broker(broker)
    assert len(smtp.messages) == 50
    by_address = {m["To"].addresses[0].addr_spec: m for m in messages}
    assert set(by_address) == {fan.email for fan in fans}
    for fan in fans:
        message = by_address[fan.email]
        url = unsubscribe_url(signature_id=fan.pk)
        assert message["List-Unsubscribe"].strip() == f"<{url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = message.get_content()
        assert body.startswith(f"Dear {fan.full_name},")
        assert "70 people signed" in body  # the count includes the quiet ones
        assert url in body  # the footer link
        kind, pk = verp_parse(message.envelope_from)
        assert kind == "u"
        assert UpdateEmail.objects.get(pk=pk).signature_id == fan.pk

    # The mail provider's one-click POST: no CSRF token, no cookie.
    leaver = fans[0]
    path = unsubscribe_url(signature_id=leaver.pk).removeprefix(settings.SITE_URL)
    response = Client(enforce_csrf_checks=True).post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    # A GET of another supporter's footer link changes nothing.
    stayer = fans[1]
    Client().get(
        unsubscribe_url(signature_id=stayer.pk).removeprefix(settings.SITE_URL)
    )

    smtp.reset()
    second = updates.update_send(update_id=draft(campaign, subject="Again").pk)
    received = smtp.wait_for(49)
    wait_until(sent(second, 49), message="the second update recorded sent")
    wait_for_idle_broker(broker)
    addresses = [m["To"].addresses[0].addr_spec for m in received]
    assert len(addresses) == 49
    assert leaver.email not in addresses
    assert stayer.email in addresses


def test_a_worker_killed_mid_run_loses_nothing(
    worker, smtp, broker, celery_beat, campaign, settings
):
    """Every supporter gets it; only the copies in flight when the worker died
    (one per worker process) may arrive twice, with the same Message-ID. Two
    updates, so that each worker process is sending one when it dies."""
    supporters(campaign, 40)
    sends = [updates.update_send(update_id=draft(campaign).pk) for _ in range(2)]
    smtp.wait_for(4)
    smtp.stall = 60  # the server keeps each message but holds back its "250"
    wait_until(
        lambda: smtp.stalled == WORKER_CONCURRENCY,
        message="every worker process to wait on the server's reply",
    )
    worker.kill()
    delivered = {m["Message-ID"] for m in smtp.messages}
    orphaned = broker.hkeys("unacked")

    smtp.stall = 0
    celery_beat.start(wait=False)
    worker.start()
    for update in sends:
        wait_until(sent(update, 40), timeout=30, message="all 2 × 40 sent")
    celery_beat.kill()
    if orphaned:
        broker.hdel("unacked", *orphaned)
        broker.zrem("unacked_index", *orphaned)
    wait_for_idle_broker(broker)

    copies = Counter(m["Message-ID"] for m in smtp.messages)
    rows = UpdateEmail.objects.filter(update__in=sends)
    assert set(copies) == {message_id(row) for row in rows}
    assert len(copies) == 80
    twice = {mid for mid, n in copies.items() if n > 1}
    assert len(twice) <= WORKER_CONCURRENCY
    assert twice <= delivered  # only what was in flight
    assert max(copies.values()) <= 2


def test_pause_holds_the_rest_and_resume_sends_them_once(
    worker, smtp, broker, campaign, settings
):
    # Paced at 20 a second: batches two seconds apart (pacing.BATCH_SPAN), so
    # some are still waiting when the first copies arrive, even on a slow day.
    # Two batches, no more: the first runs at 2 s, the second at 4 s (a third
    # would only add to the time the paused test waits for its countdown).
    settings.UPDATE_SEND_RATE_PER_MINUTE = 1200
    count = 82  # copies 0-40 due in the first 2 s, 41-81 in the next
    supporters(campaign, count)
    update = updates.update_send(update_id=draft(campaign).pk)
    smtp.wait_for(3)
    paused = updates.update_pause(update_id=update.pk)
    assert paused > 0
    wait_for_idle_broker(broker)  # the batch being sent finishes; the rest wait
    before = len(smtp.messages)
    assert before + paused == count
    assert UpdateEmail.objects.filter(update=update, status="paused").count() == paused

    settings.UPDATE_SEND_RATE_PER_MINUTE = 0  # the rest at once, from now
    updates.update_resume(update_id=update.pk)
    smtp.wait_for(count)
    wait_until(sent(update, count), message=f"all {count} sent after resuming")
    wait_for_idle_broker(broker)
    assert len(smtp.messages) == count
    assert len({m["Message-ID"] for m in smtp.messages}) == count


def test_no_copy_for_who_withdrew_was_anonymised_or_opted_out_meanwhile(
    worker, smtp, broker, campaign, settings
):
    """The rows were written when the update was sent. Withdrawing and
    anonymising cancel the supporter's waiting copies; anything else that ends
    their consent (an organiser unticking "keep updated") is caught when the
    worker renders the copy: cancelled, never sent, not counted as failed."""
    from campaign.models import Signature
    from campaign.services.anonymising import signature_anonymise, signature_withdraw

    # Two a second, in signing order: one batch, run when its last copy is due
    # (1.5 s), long after the three changes below (milliseconds each).
    settings.UPDATE_SEND_RATE_PER_MINUTE = 120
    stays, withdraws, erased, unticked = supporters(campaign, 4)
    update = updates.update_send(update_id=draft(campaign).pk)
    signature_withdraw(signature_id=withdraws.pk)
    signature_anonymise(signature_id=erased.pk)
    Signature.objects.filter(pk=unticked.pk).update(keep_updated=False)

    def settled():
        waiting = updates.update_progress(update_id=update.pk)["waiting"]
        return waiting == 0

    wait_until(settled, message="every copy sent or cancelled")
    wait_for_idle_broker(broker)
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == [stays.email]
    statuses = dict(UpdateEmail.objects.values_list("signature_id", "status"))
    assert statuses == {
        stays.pk: "sent",
        withdraws.pk: "cancelled",
        erased.pk: "cancelled",
        unticked.pk: "cancelled",
    }
    unticked_row = UpdateEmail.objects.get(signature=unticked)
    assert "no longer wants updates" in unticked_row.last_error
    progress = updates.update_progress(update_id=update.pk)
    assert (progress["sent"], progress["failed"], progress["cancelled"]) == (1, 0, 3)
