"""Supporters' privacy: the consent wording in force, the hash kept instead of a
client address, and the signed "remove my signature" link. Reads only; the
writes are in campaign/services/privacy.py and campaign/services/anonymising.py.
"""

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.crypto import salted_hmac

from .models import ConsentText

# Version 1, recorded the first time anyone signs on a new site: the wording the
# sign form had before consent wordings were versioned.
DEFAULT_CONSENT_TEXT = (
    "I agree that my name and letter are sent to the officials named above."
)
_CONSENT_KEY = "privacy:consent-text:current"
# The wording changes rarely (a new version in the admin forgets this key), so
# the sign form and the sign service read it from the cache, not the database.
_CONSENT_CACHE_SECONDS = 3600


def consent_text_current() -> ConsentText:
    """The newest consent wording: what the sign form shows and what a new
    signature records. One cache read; the database only on a miss."""
    consent = cache.get(_CONSENT_KEY)
    if consent is None:
        consent = ConsentText.objects.order_by("-version").first()
        if consent is None:
            consent = _consent_text_first()
        cache.set(_CONSENT_KEY, consent, _CONSENT_CACHE_SECONDS)
    return consent


def _consent_text_first() -> ConsentText:
    try:
        with transaction.atomic():  # a savepoint: two first signings may race
            return ConsentText.objects.create(version=1, text=DEFAULT_CONSENT_TEXT)
    except IntegrityError:
        return ConsentText.objects.get(version=1)


def consent_text_forget() -> None:
    cache.delete(_CONSENT_KEY)


def client_ip_hash(ip: str) -> str:
    """A keyed hash of a client address: equal addresses give equal hashes (so
    organisers can see many signatures from one machine), but without
    SECRET_KEY nobody can test guesses against it, and the address itself is
    never stored."""
    if not ip:
        return ""
    return salted_hmac(
        "quillpost.privacy.client-ip", ip, algorithm="sha256"
    ).hexdigest()


# --- the "remove my signature" link ---------------------------------------------

# No expiry: a supporter may withdraw at any time, open campaign or closed.
_WITHDRAW_SIGNER = signing.Signer(salt="quillpost.privacy.withdraw")


def withdraw_token(*, signature_id: int) -> str:
    return _WITHDRAW_SIGNER.sign(str(signature_id))


def withdraw_signature_id(*, token: str) -> int | None:
    """The signature a withdrawal link names, or None for a forged or mangled one."""
    try:
        return int(_WITHDRAW_SIGNER.unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def withdraw_url(*, signature_id: int, site_url: str = "") -> str:
    """Absolute, for emails: every email to a supporter carries it. `site_url`:
    the site's address the email was asked for at (default SITE_URL)."""
    token = withdraw_token(signature_id=signature_id)
    return (site_url or settings.SITE_URL) + reverse("campaign:withdraw", args=[token])
