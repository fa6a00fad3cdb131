"""Anonymising supporters: the one routine behind retention, a supporter's own
withdrawal and an organiser's erasure.

What goes: the name (becomes "Signature <id>"), the email address (its
normalised key becomes "anon-<id>", so the unique constraint holds and the person
may sign again), the postcode beyond its district, their own paragraph and edited
letter, the hash of their client address, the text of their letters and of every
email sent to them. What stays: the row, its dates, status, town, consent flags
and letter outcomes, so counts, charts and the campaign's history still add up.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from campaign import selectors
from campaign.models import (
    DELIVERED_LETTER_STATUSES,
    ConfirmationEmail,
    Letter,
    LetterStatus,
    OutboxStatus,
    Receipt,
    Signature,
    UpdateEmail,
    UpdateEmailStatus,
)
from campaign.postcodes import postcode_district_sql
from campaign.services.letter_counts import letters_update

logger = logging.getLogger(__name__)

# What an anonymised letter's body becomes: the letter was sent (its outcome and
# date stay), but its words were the supporter's.
REMOVED_LETTER_BODY = "[Removed: the supporter's data has been anonymised.]"
# Letters not on their way yet: cancelled, never sent with a removed body.
# (A letter being sent right now, SENDING, cannot be called back.)
UNSENT_LETTER_STATUSES = (
    LetterStatus.PENDING,
    LetterStatus.AWAITING_DIGEST,
    LetterStatus.HELD,
    LetterStatus.HELD_FAILING,
)


def _with_id(prefix: str):
    return Concat(Value(prefix), Cast("id", CharField()), output_field=CharField())


def scrubbed(*, signature_ids: list[int], now) -> list[tuple[QuerySet, dict]]:
    """Everything anonymisation overwrites: (rows, new values), one per table.
    THE list: an email to supporters added later (receipts, questionnaires) adds
    its table here, and every path (retention, withdrawal, erasure) scrubs it."""
    return [
        (
            Signature.objects.filter(pk__in=signature_ids),
            {
                "full_name": _with_id("Signature "),
                "email": "",
                "email_normalised": _with_id("anon-"),
                # The confirmation link dies too ("anon-" never matches a token).
                "token": _with_id("anon-"),
                "postcode": postcode_district_sql("postcode"),
                "personal_paragraph": "",
                "letter_body": "",
                "client_ip_hash": "",
                "anonymised_at": now,
            },
        ),
        (
            Letter.objects.filter(signature_id__in=signature_ids),
            {"body": REMOVED_LETTER_BODY, "last_error": "", "updated_at": now},
        ),
        (
            ConfirmationEmail.objects.filter(signature_id__in=signature_ids),
            {"body": "", "last_error": "", "updated_at": now},
        ),
        (
            Receipt.objects.filter(signature_id__in=signature_ids),
            {"body": "", "last_error": "", "updated_at": now},
        ),
    ]


def _unsent_cancel(*, signature_ids: list[int], now) -> int:
    """Cancel what has not left yet: letters and emails to the supporter."""
    letters = letters_update(
        letters=Letter.objects.filter(
            signature_id__in=signature_ids, status__in=UNSENT_LETTER_STATUSES
        ),
        status=LetterStatus.CANCELLED,
        updated_at=now,
    )
    for emails in (ConfirmationEmail, Receipt):
        emails.objects.filter(
            signature_id__in=signature_ids, status=OutboxStatus.PENDING
        ).update(status=OutboxStatus.CANCELLED, updated_at=now)
    UpdateEmail.objects.filter(
        signature_id__in=signature_ids,
        status__in=[UpdateEmailStatus.PENDING, UpdateEmailStatus.PAUSED],
    ).update(status=UpdateEmailStatus.CANCELLED, updated_at=now)
    return letters


def _letters_lock(*, signature_ids: list[int]) -> None:
    """Lock the supporters' letters before their signatures. Recording a letter
    sent (letter_counts.counted_sql) locks the letter, then its signature for
    the counts; taking them in the same order here means a withdrawal and a
    worker recording one of its letters wait for each other, never deadlock."""
    locked = Letter.objects.select_for_update().filter(signature_id__in=signature_ids)
    list(locked.order_by("pk").values_list("pk", flat=True))


def signatures_anonymise(*, signature_ids: list[int]) -> int:
    """Anonymise these signatures, in one transaction; returns how many were
    anonymised now. Idempotent: anonymised ones are skipped; rows another
    transaction holds are skipped too (the next run takes them), so this never
    waits on a supporter confirming."""
    now = timezone.now()
    with transaction.atomic():
        _letters_lock(signature_ids=signature_ids)
        ids = list(
            Signature.objects.select_for_update(skip_locked=True)
            .filter(pk__in=signature_ids, anonymised_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if ids:
            _unsent_cancel(signature_ids=ids, now=now)
            for rows, values in scrubbed(signature_ids=ids, now=now):
                rows.update(**values)
    return len(ids)


def signature_anonymise(*, signature_id: int) -> bool:
    return signatures_anonymise(signature_ids=[signature_id]) == 1


@dataclass
class Withdrawal:
    signature: Signature
    # Letters that had already left: they cannot be called back.
    letters_sent: list[Letter] = field(default_factory=list)
    letters_cancelled: int = 0


def signature_withdraw(*, signature_id: int) -> Withdrawal:
    """The supporter removes their signature: anonymised at once, unsent letters
    cancelled, no longer counted. Idempotent (a second press changes nothing)."""
    now = timezone.now()
    with transaction.atomic():
        _letters_lock(signature_ids=[signature_id])
        signature = Signature.objects.select_for_update().get(pk=signature_id)
        counted = signature.status == Signature.Status.CONFIRMED
        cancelled = _unsent_cancel(signature_ids=[signature.pk], now=now)
        Signature.objects.filter(pk=signature.pk).update(
            status=Signature.Status.WITHDRAWN
        )
        if signature.anonymised_at is None:
            for rows, values in scrubbed(signature_ids=[signature.pk], now=now):
                rows.update(**values)
        campaign_id = signature.campaign_id
        if counted:
            transaction.on_commit(
                lambda: selectors.signature_count_decrement(campaign_id=campaign_id),
                robust=True,
            )
    signature.refresh_from_db()
    sent = list(
        Letter.objects.filter(
            signature_id=signature.pk,
            status__in=[*DELIVERED_LETTER_STATUSES, LetterStatus.SENDING],
        )
        .select_related("official")
        .order_by("official__name")
    )
    logger.info(
        "signature %s withdrawn (letters cancelled: %s)",
        *(signature.pk, cancelled),
        extra={"signature_id": signature.pk, "letters_cancelled": cancelled},
    )
    return Withdrawal(
        signature=signature, letters_sent=sent, letters_cancelled=cancelled
    )
