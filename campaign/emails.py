"""Build the emails the site sends from outbox rows. Pure: a row (with its
related objects loaded) in, a Django EmailMessage out; no database access, no
sending. campaign/services/delivery/outbox.py claims, sends and records.
"""

from email.utils import formataddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.utils.crypto import salted_hmac

from campaign import update_text
from campaign.models import (
    ConfirmationEmail,
    Digest,
    Letter,
    OutboxMessage,
    Receipt,
    UpdateEmail,
)
from campaign.models.updates import wants_updates
from campaign.validators import validate_single_line
from campaign.verp import verp_address


class UnsendableMessage(Exception):
    """The row cannot become a well-formed email; retrying will not change that."""


class NoLongerWanted(UnsendableMessage):
    """The recipient no longer wants it (unsubscribed, withdrew, was anonymised,
    bounced): the row is cancelled, not failed."""


def message_id(row: OutboxMessage) -> str:
    """`<letter-42.9f…@quillpost.example.org>`: the same on every attempt, so a
    receiving server can drop the copy a crash may cause; unique per row and
    unguessable across sites (keyed with SECRET_KEY, salted with created_at)."""
    label = row._meta.model_name
    digest = salted_hmac(
        "quillpost.delivery.message-id",
        f"{label}:{row.pk}:{row.created_at.isoformat()}",
    ).hexdigest()[:20]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2]
    return f"<{label}-{row.pk}.{digest}@{domain}>"


def _single_line(value: str, what: str) -> str:
    # Names are refused at signing already; this is the last line of defence
    # before a header, and it fails the row instead of crashing the worker.
    try:
        validate_single_line(value)
    except ValidationError:
        raise UnsendableMessage(
            f"{what} contains line breaks or control characters; not sent."
        ) from None
    return value


def letter_message(letter: Letter) -> EmailMessage:
    """From the site in the supporter's name ("Ada Lovelace via Quillpost");
    replies go to the supporter. Never the supporter's own address as From:
    that is spoofing, and fails SPF/DMARC at the official's server."""
    signature, official = letter.signature, letter.official
    name = _single_line(signature.full_name, "The supporter's name")
    return _to_official(
        kind="l",
        row=letter,
        subject=_single_line(letter.subject, "The subject"),
        body=letter.body,
        # formataddr quotes specials (commas, quotes) and RFC 2047-encodes
        # non-ASCII, so "Zoë O'Brien, Jr." arrives as typed.
        from_header=formataddr(
            (f"{name} via {settings.SITE_NAME}", settings.DEFAULT_FROM_EMAIL)
        ),
        to=[
            formataddr(
                (_single_line(official.name, "The official's name"), official.email)
            )
        ],
        reply_to=[formataddr((name, signature.email))],
        headers=_campaign_headers(signature.campaign),
    )


def confirmation_message(row: ConfirmationEmail) -> EmailMessage:
    # To: the bare address: the name was typed by whoever filled in the form.
    return EmailMessage(
        subject=_single_line(row.subject, "The subject"),
        body=row.body,
        from_email=formataddr((settings.SITE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[row.signature.email],
    )


def digest_message(row: Digest) -> EmailMessage:
    """From the site; replies go to the campaign's organiser, never a supporter
    (a digest speaks for many)."""
    official = row.official
    return _to_official(
        kind="d",
        row=row,
        subject=_single_line(row.subject, "The subject"),
        body=row.body,
        from_header=formataddr((settings.SITE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[
            formataddr(
                (_single_line(official.name, "The official's name"), official.email)
            )
        ],
        reply_to=[row.campaign.reply_to_email],
        headers=_campaign_headers(row.campaign),
    )


def receipt_message(row: Receipt) -> EmailMessage:
    # Like the confirmation email: from the site, to the bare address.
    return EmailMessage(
        subject=_single_line(row.subject, "The subject"),
        body=row.body,
        from_email=formataddr((settings.SITE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[row.signature.email],
    )


def update_message(row: UpdateEmail) -> EmailMessage:
    """A campaign update, rendered now for its supporter (the row holds no
    text). From the site, replies to the organiser, to the bare address (like
    the confirmation email), with RFC 8058 one-click unsubscribe and a VERP
    envelope sender, so a permanent bounce stops further updates."""
    signature, update = row.signature, row.update
    if not wants_updates(signature):
        raise NoLongerWanted("The supporter no longer wants updates; not sent.")
    rendered = update_text.render_update(
        update=update, signer_name=_single_line(signature.full_name, "The name")
    )
    url = update_text.unsubscribe_url(signature_id=signature.pk)
    campaign = update.campaign
    return EmailMessage(
        subject=_single_line(rendered.subject, "The subject"),
        body=update_text.with_footer(
            rendered.body, campaign_title=campaign.title, url=url
        ),
        from_email=verp_address(kind="u", pk=row.pk),
        to=[signature.email],
        reply_to=[campaign.reply_to_email],
        headers={
            "From": formataddr((settings.SITE_NAME, settings.DEFAULT_FROM_EMAIL)),
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            **_campaign_headers(campaign),
        },
    )


def _to_official(
    *, kind: str, row: OutboxMessage, from_header: str, headers: dict, **fields
) -> EmailMessage:
    """The one place an email to an official gets its envelope: the envelope
    sender (Django's from_email, what SMTP's MAIL FROM carries and where bounces
    go) is the row's VERP address (campaign/verp.py); the From header stays the
    site's. docs/deploy.md, "Bounces and receipts": SPF must cover BOUNCE_DOMAIN."""
    return EmailMessage(
        from_email=verp_address(kind=kind, pk=row.pk),
        headers={**headers, "From": from_header},
        **fields,
    )


def _campaign_headers(campaign) -> dict[str, str]:
    # One value per campaign on every letter and digest, so an office can file a
    # campaign's mail into one folder with a single rule. Slugs are [-a-z0-9_].
    return {"X-Campaign": campaign.slug}
