"""The text of a campaign update as one supporter gets it, and the signed
unsubscribe link it carries. Pure: no database; campaign/emails.py builds the
message from it, the admin previews with it.

The organiser's text uses the letters' safe merge language (letters/rendering.py)
with the fields of letters/fields.py UPDATE_FIELDS only.
"""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, reverse

from letters.fields import UPDATE_FIELDS, UPDATE_REFUSED
from letters.rendering import (
    RenderedLetter,
    render_valid,
    validate_subject,
    validate_template,
)

from .models import Update

FOOTER = """

--
You are getting this because you signed “{title}” on {site} and asked to hear
how it goes. To stop these updates, open this link (one click, no login):
{url}"""

# Signed, without expiry: an update a year old must still unsubscribe. The
# signature id alone is no secret; the HMAC (SECRET_KEY) makes it unforgeable.
_SIGNER = signing.Signer(salt="quillpost.updates.unsubscribe")


def unsubscribe_token(*, signature_id: int) -> str:
    return _SIGNER.sign(str(signature_id))


def unsubscribe_signature_id(*, token: str) -> int | None:
    """The signature an unsubscribe link names, or None (forged or mangled)."""
    try:
        return int(_SIGNER.unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(*, signature_id: int) -> str:
    """Absolute (SITE_URL, https in production): for the List-Unsubscribe
    header, which mail providers POST to (RFC 8058), and the footer."""
    token = unsubscribe_token(signature_id=signature_id)
    return _url_around_token(settings.SITE_URL, get_script_prefix()).format(token)


@lru_cache(maxsize=8)
def _url_around_token(site_url: str, script_prefix: str) -> str:
    # reverse() once, not per message: a fifth of building an update's email.
    # The token's characters (URL-safe base64 and ":") need no quoting.
    marker = "TOKEN"
    path = reverse("campaign:unsubscribe", args=[marker])
    return site_url + path.replace("{", "{{").replace("}", "}}").replace(marker, "{}")


@lru_cache(maxsize=64)
def _validated(subject: str, body: str) -> None:
    # Once per text per process: a batch renders one update for many
    # supporters, and validation is the larger part of rendering.
    validate_subject(subject, fields=UPDATE_FIELDS, refused=UPDATE_REFUSED)
    validate_template(body, fields=UPDATE_FIELDS, refused=UPDATE_REFUSED)


def render_update(
    *, update: Update, signer_name: str, signature_count: int | None = None
) -> RenderedLetter:
    """The update's subject and body for one supporter (TemplateError if its
    text is invalid). The count is the one recorded when it was sent, or
    `signature_count` (a preview before sending)."""
    count = update.signature_count if signature_count is None else signature_count
    _validated(update.subject, update.body)
    return render_valid(
        subject_template=update.subject,
        body_template=update.body,
        context={
            "signer.name": signer_name,
            "campaign.title": update.campaign.title,
            "campaign.signatures": f"{count or 0:,}",
        },
        fields=UPDATE_FIELDS,
    )


def with_footer(body: str, *, campaign_title: str, url: str) -> str:
    return body + FOOTER.format(title=campaign_title, site=settings.SITE_NAME, url=url)
