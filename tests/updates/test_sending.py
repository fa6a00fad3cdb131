"""Who an update goes to, the rows written for it (one INSERT … SELECT), pacing,
pause, resume, cancel and progress; `manage.py send_update`. In-process, on
PostgreSQL; delivery through the worker is test_update_delivery.py."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaign.models import Signature, Update, UpdateEmail
from campaign.services import updates
from campaign.services.updates.pacing import QUEUE_AHEAD, batches
from tests.factories import CampaignFactory, LetterFactory

from .conftest import draft, supporters

pytestmark = pytest.mark.django_db


def test_the_audience_is_confirmed_opted_in_supporters_still_reachable(campaign):
    wanted = supporters(campaign, 3)
    supporters(campaign, 2, prefix="quiet", keep_updated=False)
    supporters(campaign, 1, prefix="pending", status=Signature.Status.PENDING)
    supporters(campaign, 1, prefix="gone", status=Signature.Status.WITHDRAWN)
    now = timezone.now()
    supporters(campaign, 1, prefix="anon", anonymised_at=now)
    supporters(campaign, 1, prefix="unsub", updates_unsubscribed_at=now)
    supporters(campaign, 1, prefix="bounced", updates_bounced_at=now)
    supporters(CampaignFactory(), 2, prefix="elsewhere")
    update = draft(campaign)
    audience = updates.update_audience(update=update)
    assert set(audience.values_list("pk", flat=True)) == {s.pk for s in wanted}


def test_filters_by_signing_date_and_official(campaign):
    early, late = supporters(campaign, 2)
    Signature.objects.filter(pk=early.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    official = campaign.targets.first()
    LetterFactory(signature=late, official=official)
    today = timezone.localdate()
    cases = {
        "signed_before": (today - timedelta(days=5), {early.pk}),
        "signed_after": (today - timedelta(days=5), {late.pk}),
        "wrote_to": (official, {late.pk}),
    }
    for field, (value, expected) in cases.items():
        update = draft(campaign, **{field: value})
        assert {
            *updates.update_audience(update=update).values_list("pk", flat=True)
        } == (expected), field


def test_sending_writes_every_row_in_one_statement(
    campaign, django_assert_num_queries, django_capture_on_commit_callbacks
):
    fans = supporters(campaign, 300)
    supporters(campaign, 5, prefix="quiet", keep_updated=False)
    update = draft(campaign)
    # Savepoint, take the draft, load it, count, INSERT … SELECT, save, release:
    # the same seven statements for 300 rows as for 100,000.
    with (
        django_capture_on_commit_callbacks() as callbacks,
        django_assert_num_queries(7),
    ):
        sent = updates.update_send(update_id=update.pk)
    assert len(callbacks) == 1  # the pacing task, after commit
    assert sent.recipients == 300
    assert sent.signature_count == 305
    rows = UpdateEmail.objects.filter(update=update)
    assert set(rows.values_list("signature_id", flat=True)) == {s.pk for s in fans}
    assert set(rows.values_list("status", flat=True)) == {"pending"}


def test_an_update_is_sent_once_however_often_send_is_pressed(campaign):
    supporters(campaign, 4)
    update = draft(campaign)
    updates.update_send(update_id=update.pk)
    with pytest.raises(updates.UpdateNotSendable, match="cannot be sent twice"):
        updates.update_send(update_id=update.pk)
    assert UpdateEmail.objects.filter(update=update).count() == 4


def test_invalid_text_sends_nothing_and_stays_a_draft(campaign):
    supporters(campaign, 2)
    update = draft(campaign)
    # Edited outside the admin's validation (the shell, SQL).
    Update.objects.filter(pk=update.pk).update(body="Dear {{ official.name }}")
    with pytest.raises(ValidationError):
        updates.update_send(update_id=update.pk)
    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT
    assert not UpdateEmail.objects.exists()


def test_copies_are_paced_at_the_configured_rate(campaign, settings):
    settings.UPDATE_SEND_RATE_PER_MINUTE = 120  # one every half second
    supporters(campaign, 5)
    update = updates.update_send(update_id=draft(campaign).pk)
    due = list(
        UpdateEmail.objects.filter(update=update)
        .order_by("pk")
        .values_list("next_attempt_at", flat=True)
    )
    gaps = {(b - a).total_seconds() for a, b in zip(due, due[1:], strict=False)}
    assert gaps == {0.5}
    assert due[0] == update.sent_at


def test_the_pacer_hands_out_each_copy_once_as_it_falls_due(
    campaign, settings, django_capture_on_commit_callbacks
):
    settings.UPDATE_SEND_RATE_PER_MINUTE = 60  # 3 minutes ahead: 180 copies
    supporters(campaign, 400)
    with (
        time_machine.travel(timezone.now(), tick=False) as clock,
        django_capture_on_commit_callbacks(),  # leave the worker out of it
    ):
        update = updates.update_send(update_id=draft(campaign).pk)
        assert updates.update_enqueue_due(update_id=update.pk) == 181
        assert updates.update_enqueue_due(update_id=update.pk) == 0
        clock.shift(QUEUE_AHEAD)
        assert updates.update_enqueue_due(update_id=update.pk) == 180
        updates.update_pause(update_id=update.pk)
        assert updates.updates_enqueue_due() == {}


def test_batches_run_when_their_last_copy_is_due():
    now = timezone.now()
    every_half_second = [(pk, now + timedelta(seconds=pk / 2)) for pk in range(1, 13)]
    assert batches(every_half_second, now=now, size=100) == [
        (2.5, [1, 2, 3, 4, 5]),  # at most BATCH_SPAN (2 s) of the schedule
        (5.0, [6, 7, 8, 9, 10]),
        (6.0, [11, 12]),
    ]
    all_at_once = [(pk, now) for pk in range(1, 26)]
    assert [ids for _, ids in batches(all_at_once, now=now, size=10)] == [
        list(range(1, 11)),
        list(range(11, 21)),
        list(range(21, 26)),
    ]


def test_pause_resume_cancel_and_progress(campaign, django_capture_on_commit_callbacks):
    supporters(campaign, 10)
    with django_capture_on_commit_callbacks():
        update = updates.update_send(update_id=draft(campaign).pk)
    rows = UpdateEmail.objects.filter(update=update).order_by("pk")
    UpdateEmail.objects.filter(pk__in=[r.pk for r in rows[:3]]).update(status="sent")
    UpdateEmail.objects.filter(pk=rows[3].pk).update(status="failed")

    assert updates.update_pause(update_id=update.pk) == 6
    assert updates.update_progress(update_id=update.pk) == {
        "sent": 3,
        "failed": 1,
        "waiting": 6,
        "cancelled": 0,
        "bounced": 0,
    }
    with pytest.raises(updates.UpdateNotSendable):
        updates.update_pause(update_id=update.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert updates.update_resume(update_id=update.pk) == 6
    assert len(callbacks) == 1
    assert set(rows.filter(status="pending").values_list("update_id", flat=True)) == {
        update.pk
    }
    assert updates.update_cancel(update_id=update.pk) == 6
    progress = updates.update_progress(update_id=update.pk)
    assert (progress["waiting"], progress["cancelled"], progress["sent"]) == (0, 6, 3)
    with pytest.raises(updates.UpdateNotSendable):
        updates.update_resume(update_id=update.pk)


def test_the_command_asks_with_n_first(campaign, tmp_path, monkeypatch):
    supporters(campaign, 7)
    body = tmp_path / "body.txt"
    body.write_text("Dear {{ signer.name }},\n\nWe won.\n", encoding="utf-8")
    asked = []
    monkeypatch.setattr("builtins.input", lambda q: asked.append(q) or "n")
    out = io.StringIO()
    args = [campaign.slug, "--subject", "We won", "--body-file", str(body)]
    call_command("send_update", *args, stdout=out)
    assert "to 7 supporters?" in asked[0]
    assert "Not sent" in out.getvalue()
    assert not UpdateEmail.objects.exists()

    call_command("send_update", *args, "--yes", stdout=out)
    assert "queued for 7 supporters" in out.getvalue()
    assert UpdateEmail.objects.count() == 7


def test_the_command_refuses_bad_input_with_a_message(campaign, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Dear {{ official.name }}", encoding="utf-8")
    with pytest.raises(CommandError, match="not to officials"):
        call_command(
            "send_update", campaign.slug, "--subject", "Hi", "--body-file", str(body)
        )
    with pytest.raises(CommandError, match="single line"):
        call_command(
            "send_update",
            *(campaign.slug, "--subject", "Hi\nBcc: x@example.net"),
            *("--body-file", str(body), "--yes"),
        )
    with pytest.raises(CommandError, match="No campaign"):
        call_command("send_update", "nope", "--subject", "Hi", "--body-file", str(body))
    assert not Update.objects.exists()
