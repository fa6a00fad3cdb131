"""Emails to a supporter (confirmations, reminders to confirm, "did they
reply?" questionnaires): one outbox row each, handed to the worker on commit.

They share the ConfirmationEmail outbox: the row is any email to the supporter
who signed, sent from the site to their bare address (campaign/emails.py)."""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from campaign import privacy
from campaign.models import ConfirmationEmail, Signature
from campaign.services import delivery

# The "remove my signature" link names the signature's id, which a first signing
# has only after its INSERT; its email is rendered before the transaction opens
# (signing.py), so the link is put in when the row is written. (The emails with
# a slot carry no supporter-typed text, which could otherwise contain it.)
WITHDRAW_SLOT = "[remove-my-signature-link]"


def supporter_email_build(
    *, signature: Signature, template: str, context: dict
) -> ConfirmationEmail:
    """The outbox row, unsaved: emails/<template>_subject.txt and _body.txt
    rendered. Links in `context` are built by the caller, in the web process or
    the command: the worker only sends the stored text. Rendering needs no
    transaction (signing renders before it opens one).

    Every email to a supporter carries the "remove my signature" link
    (`withdraw_url`) and the privacy page (`privacy_url`): added here, so no
    template can be given an email without them."""
    context = {
        **context,
        "withdraw_url": (
            privacy.withdraw_url(signature_id=signature.pk)
            if signature.pk
            else WITHDRAW_SLOT
        ),
        "privacy_url": settings.SITE_URL + reverse("campaign:privacy"),
    }
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    return ConfirmationEmail(
        signature=signature,
        # One line whatever the template's whitespace: it becomes a header.
        subject=" ".join(subject.split())[:255],
        body=render_to_string(f"emails/{template}_body.txt", context).strip() + "\n",
    )


def supporter_email_write(row: ConfirmationEmail) -> ConfirmationEmail:
    """Write a built row and enqueue it after commit. Call inside the
    transaction that decided to send it."""
    if WITHDRAW_SLOT in row.body:
        link = privacy.withdraw_url(signature_id=row.signature.pk)
        row.body = row.body.replace(WITHDRAW_SLOT, link)
    row.save(force_insert=True)
    # robust: the row is committed; if the broker is down, the sweeper re-queues
    # it, and the caller (a supporter's request) must not fail for it.
    transaction.on_commit(
        lambda: delivery.confirmation_enqueue(confirmation_id=row.pk), robust=True
    )
    return row


def supporter_email_queue(
    *, signature: Signature, template: str, context: dict
) -> ConfirmationEmail:
    """Build, write and enqueue (after commit) one email to the supporter."""
    row = supporter_email_build(signature=signature, template=template, context=context)
    return supporter_email_write(row)
