"""Emails to a supporter (confirmations, reminders to confirm, "did they
reply?" questionnaires): one outbox row each, handed to the worker on commit.

They share the ConfirmationEmail outbox: the row is any email to the supporter
who signed, sent from the site to their bare address (campaign/emails.py). A
signing's emails store only their template and are rendered when sent (the
sign POST's share of the work); the others store their text."""

from functools import partial

from django.db import transaction

from campaign import emails
from campaign.models import ConfirmationEmail, Signature
from campaign.services import delivery


def supporter_email_build(
    *, signature: Signature, template: str, context: dict
) -> ConfirmationEmail:
    """The outbox row, unsaved, with its text rendered now. Links in `context`
    are built by the caller, in the web process or the command: the worker only
    sends the stored text."""
    subject, body = emails.supporter_email_text(
        signature=signature, template=template, context=context
    )
    return ConfirmationEmail(signature=signature, subject=subject, body=body)


def supporter_email_write(row: ConfirmationEmail) -> ConfirmationEmail:
    """Write a built row and enqueue it after commit. Call inside the
    transaction that decided to send it."""
    row.save(force_insert=True)
    supporter_email_enqueue(confirmation_id=row.pk)
    return row


def supporter_email_enqueue(*, confirmation_id: int, coalesce: bool = False) -> None:
    """Hand the row to the worker once the transaction that wrote it commits.
    `coalesce`: with the others of this process's publishing window (a first
    signing's email: delivery/coalescing.py), not at once. robust: the row is
    committed; if the broker is down, the sweeper re-queues it, and the caller
    (a supporter's request) must not fail for it."""
    publish = (
        partial(delivery.confirmations_publish, confirmation_ids=[confirmation_id])
        if coalesce
        else partial(delivery.confirmation_enqueue, confirmation_id=confirmation_id)
    )
    transaction.on_commit(publish, robust=True)


def supporter_email_queue(
    *, signature: Signature, template: str, context: dict
) -> ConfirmationEmail:
    """Build, write and enqueue (after commit) one email to the supporter."""
    row = supporter_email_build(signature=signature, template=template, context=context)
    return supporter_email_write(row)
