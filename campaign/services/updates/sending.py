"""Sending an update: one outbox row per supporter, written by PostgreSQL in one
INSERT … SELECT (no Python loop, no text: the worker renders each copy when it
sends it); pause, resume, cancel, and the progress the admin shows."""

import logging
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from campaign.models import Signature, Update, UpdateEmail, UpdateEmailStatus

from .audience import update_audience

logger = logging.getLogger(__name__)

_WAITING = (
    UpdateEmailStatus.PENDING,
    UpdateEmailStatus.SENDING,
    UpdateEmailStatus.PAUSED,
)


class UpdateNotSendable(Exception):
    """Refused with a message for the organiser (sent already, cancelled, …)."""


def send_interval() -> float:
    """Seconds between two copies at UPDATE_SEND_RATE_PER_MINUTE (0: no limit)."""
    rate = settings.UPDATE_SEND_RATE_PER_MINUTE
    return 60.0 / rate if rate > 0 else 0.0


# Each copy is due at its own moment, paced from the start: the worker never
# sends one early (the claim takes only due rows), so the rate holds however
# many workers run. Rows are numbered in id order, which is signing order.
_INSERT = """
    INSERT INTO {table} (
        update_id, signature_id, status, attempts, last_error, message_id,
        bounce_code, bounce_diagnostic, next_attempt_at, created_at, updated_at
    )
    SELECT %s, audience.id, %s, 0, '', '', '', '',
        %s::timestamptz
            + (row_number() OVER (ORDER BY audience.id) - 1)
            * %s * interval '1 second',
        %s, %s
    FROM ({audience}) AS audience (id)
    ON CONFLICT DO NOTHING
"""


def _insert_rows(update: Update, start) -> int:
    # The audience's SQL as the ORM compiles it: the rule is written once.
    audience, audience_params = (
        update_audience(update=update).values("pk").query.sql_with_params()
    )
    sql = _INSERT.replace("{table}", UpdateEmail._meta.db_table)
    sql = sql.replace("{audience}", audience)
    params = [update.pk, UpdateEmailStatus.PENDING, start, send_interval()]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start, start, *audience_params])
        return cursor.rowcount


def update_send(*, update_id: int, user_id: int | None = None) -> Update:
    """Queue the draft update `update_id` for its audience, once: a second call
    (a double click, two organisers, the command run twice) is refused with
    UpdateNotSendable, because only a draft can start sending and the first
    call took it out of draft in the same transaction. Raises ValidationError
    for invalid text (nothing is written). The worker is handed the first rows
    after commit (pacing.py)."""
    from campaign.tasks import update_pace_task

    now = timezone.now()
    with transaction.atomic():
        # A conditional UPDATE is the lock: a concurrent second call waits for
        # this transaction, then finds no draft.
        taken = Update.objects.filter(pk=update_id, status=Update.Status.DRAFT).update(
            status=Update.Status.SENDING, sent_at=now, sent_by_id=user_id
        )
        if not taken:
            raise UpdateNotSendable(
                "This update has already been sent (or cancelled): "
                "it cannot be sent twice. Write a new update instead."
            )
        update = Update.objects.select_related("campaign").get(pk=update_id)
        update.clean()  # ValidationError rolls the whole send back
        update.signature_count = Signature.objects.filter(
            campaign_id=update.campaign_id, status=Signature.Status.CONFIRMED
        ).count()
        update.recipients = _insert_rows(update, now)
        update.save(update_fields=["signature_count", "recipients"])
        transaction.on_commit(lambda: update_pace_task.delay(update_id), robust=True)
    logger.info("update %s queued for %d supporters", update_id, update.recipients)
    return update


def update_pause(*, update_id: int) -> int:
    """Stop handing out copies: the waiting ones are paused (the copies being
    sent at this moment finish). Returns how many were paused."""
    with transaction.atomic():
        if not Update.objects.filter(pk=update_id, status=Update.Status.SENDING).update(
            status=Update.Status.PAUSED
        ):
            raise UpdateNotSendable("Only an update being sent can be paused.")
        return UpdateEmail.objects.filter(
            update_id=update_id, status=UpdateEmailStatus.PENDING
        ).update(status=UpdateEmailStatus.PAUSED, updated_at=timezone.now())


# Resuming paces the paused rows again from now, in id order, like the start.
_RESUME = """
    UPDATE {table} AS email SET status = %s, updated_at = %s,
        next_attempt_at = %s::timestamptz + (paused.n - 1) * %s * interval '1 second'
    FROM (
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM {table}
        WHERE update_id = %s AND status = %s
    ) AS paused
    WHERE email.id = paused.id
"""


def update_resume(*, update_id: int) -> int:
    """Carry on from where it was paused. Returns how many copies wait."""
    from campaign.tasks import update_pace_task

    now = timezone.now()
    with transaction.atomic():
        if not Update.objects.filter(pk=update_id, status=Update.Status.PAUSED).update(
            status=Update.Status.SENDING, queued_until=None
        ):
            raise UpdateNotSendable("Only a paused update can be resumed.")
        sql = _RESUME.replace("{table}", UpdateEmail._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [UpdateEmailStatus.PENDING, now, now, send_interval()]
                + [update_id, UpdateEmailStatus.PAUSED],
            )
            resumed = cursor.rowcount
        transaction.on_commit(lambda: update_pace_task.delay(update_id), robust=True)
    return resumed


def update_cancel(*, update_id: int) -> int:
    """Never send the copies still waiting (a draft is simply never sent).
    Returns how many copies were cancelled."""
    with transaction.atomic():
        if not Update.objects.filter(
            pk=update_id,
            status__in=[
                Update.Status.DRAFT,
                Update.Status.SENDING,
                Update.Status.PAUSED,
            ],
        ).update(status=Update.Status.CANCELLED):
            raise UpdateNotSendable("This update is already cancelled.")
        return UpdateEmail.objects.filter(
            update_id=update_id,
            status__in=[UpdateEmailStatus.PENDING, UpdateEmailStatus.PAUSED],
        ).update(status=UpdateEmailStatus.CANCELLED, updated_at=timezone.now())


def update_progress(*, update_id: int) -> dict[str, int]:
    """sent / failed / waiting (pending, being sent or paused) / cancelled /
    bounced, in one grouped query (the progress index)."""
    counts = Counter(
        dict(
            UpdateEmail.objects.filter(update_id=update_id)
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
    )
    return {
        "sent": counts[UpdateEmailStatus.SENT],
        "failed": counts[UpdateEmailStatus.FAILED],
        "waiting": sum(counts[status] for status in _WAITING),
        "cancelled": counts[UpdateEmailStatus.CANCELLED],
        "bounced": counts[UpdateEmailStatus.BOUNCED],
    }
