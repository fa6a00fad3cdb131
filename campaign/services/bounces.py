"""Recording a bounce against the outbox row its VERP address names
(campaign/bounce_reports.py reads the bounce; `manage.py process_bounce` runs both).

- permanent (5.x.x): the row becomes "bounced", with the code and the server's
  words, and is never retried; for a digest, so do the letters it carried; for
  a campaign update, that address gets no further updates (services/updates/). Then
  the official may be flagged failing (services/failing.py), and a supporter who
  already had their receipt gets a follow-up (services/receipts.py).
- temporary (4.x.x): the row is pending again, due BOUNCE_RETRY_AFTER later (the
  sweeper queues it then); a digest's letters wait for it again. Past the
  attempt budget (policy.max_attempts) it fails for good instead.
A bounce for a row in any other state (already bounced: the same report twice)
changes nothing.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from campaign.bounce_reports import Bounce
from campaign.models import Digest, Letter, LetterStatus, OutboxStatus, UpdateEmail
from campaign.services.delivery.policy import max_attempts
from campaign.services.digests import digest_record_failed
from campaign.services.failing import official_failing_check
from campaign.services.letter_counts import letters_update, outbox_rows_update
from campaign.services.receipts import receipt_follow_ups_queue
from campaign.services.updates import update_email_bounced

logger = logging.getLogger(__name__)

# A mailbox that is full or a server that is struggling rarely recovers within
# minutes; the normal backoff would only bounce again.
BOUNCE_RETRY_AFTER = timedelta(hours=2)

MODELS = {"l": Letter, "d": Digest, "u": UpdateEmail}


def outbox_bounce_record(*, bounce: Bounce) -> str:
    """Apply `bounce` to its row; returns what happened, for the log line."""
    model = MODELS[bounce.kind]
    label = model._meta.model_name
    now = timezone.now()
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=bounce.pk).first()
        if row is None:
            return f"ignored: {label} {bounce.pk} no longer exists"
        after_retry = row.status == OutboxStatus.PENDING and row.bounced_at
        if not (row.status == OutboxStatus.SENT or (bounce.permanent and after_retry)):
            return f"ignored: {label} {row.pk} is {row.status}"
        ours = model.objects.filter(pk=row.pk)
        seen = {
            "bounce_code": bounce.code,
            "bounce_diagnostic": bounce.diagnostic,
            "bounced_at": now,
            "updated_at": now,
        }
        if bounce.permanent:
            # Through outbox_rows_update: a letter's status moves its counts.
            outbox_rows_update(rows=ours, status=OutboxStatus.BOUNCED, **seen)
            if model is UpdateEmail:  # a supporter's address: no more updates
                stopped = update_email_bounced(update_email=row)
                return f"{label} {row.pk} bounced ({bounce.code}); stopped {stopped}"
            letter_ids = _letters_bounced(row, bounce, now)
            flagged = official_failing_check(official_id=row.official_id)
            follow_ups = receipt_follow_ups_queue(letter_ids=letter_ids)
            return (
                f"{label} {row.pk} bounced ({bounce.code}); letters {len(letter_ids)}"
                f", follow-ups {len(follow_ups)}"
                + (f"; official {row.official_id} flagged failing" if flagged else "")
            )
        error = f"Bounced for now ({bounce.code}): {bounce.diagnostic}"
        # The same attempt budget as SMTP failures: a mailbox full for days is
        # given up on, not retried every two hours forever.
        gave_up = row.attempts >= max_attempts()
        if gave_up:
            error = f"Gave up after {row.attempts} attempts. {error}"
            outbox_rows_update(
                rows=ours, status=OutboxStatus.FAILED, last_error=error, **seen
            )
        else:
            retry_at = now + BOUNCE_RETRY_AFTER
            outbox_rows_update(
                rows=ours,
                status=OutboxStatus.PENDING,
                next_attempt_at=retry_at,
                last_error=error,
                **seen,
            )
        if model is Digest:
            # Not delivered after all: the letters it carried wait for it again
            # (they become "digested" once more when it is sent), or, if it is
            # given up on, for the next digest.
            letters_update(
                letters=Letter.objects.filter(
                    digest_id=row.pk, status=LetterStatus.DIGESTED
                ),
                status=LetterStatus.AWAITING_DIGEST,
                sent_at=None,
            )
            if gave_up:
                digest_record_failed(digest_id=row.pk)
    if gave_up:
        return f"{label} {row.pk} failed: gave up after {row.attempts} attempts"
    return f"{label} {row.pk} to be retried after {retry_at:%Y-%m-%d %H:%M}"


def _letters_bounced(row, bounce: Bounce, now) -> list[int]:
    """The supporters' letters the bounced row was: itself, or a digest's."""
    if isinstance(row, Letter):
        return [row.pk]
    carried = Letter.objects.filter(digest_id=row.pk, status=LetterStatus.DIGESTED)
    ids = list(carried.values_list("pk", flat=True))
    letters_update(
        letters=Letter.objects.filter(pk__in=ids),
        status=LetterStatus.BOUNCED,
        bounce_code=bounce.code,
        bounce_diagnostic=bounce.diagnostic,
        bounced_at=now,
        updated_at=now,
    )
    return ids
