"""Emails to a supporter (confirmations, reminders to confirm, "did they
reply?" questionnaires): one outbox row each, handed to the worker on commit.

They share the ConfirmationEmail outbox: the row is any email to the supporter
who signed, sent from the site to their bare address (campaign/emails.py)."""

from django.db import transaction
from django.template.loader import render_to_string

from campaign.models import ConfirmationEmail, Signature
from campaign.services import delivery


def supporter_email_queue(
    *, signature: Signature, template: str, context: dict
) -> ConfirmationEmail:
    """Render emails/<template>_subject.txt and _body.txt, write the outbox row
    and enqueue it after commit. Call inside the transaction that decided to
    send it. Links in `context` are built here, in the web process or the
    command: the worker only sends the stored text."""
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    row = ConfirmationEmail.objects.create(
        signature=signature,
        # One line whatever the template's whitespace: it becomes a header.
        subject=" ".join(subject.split())[:255],
        body=render_to_string(f"emails/{template}_body.txt", context).strip() + "\n",
    )
    # robust: the row is committed; if the broker is down, the sweeper re-queues
    # it, and the caller (a supporter's request) must not fail for it.
    transaction.on_commit(
        lambda: delivery.confirmation_enqueue(confirmation_id=row.pk), robust=True
    )
    return row
