"""Input rules shared by models and forms.

Control characters are refused because names and salutations end up in email
headers and in CSV cells; a CR/LF there is a header injection waiting to happen.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

_LINE_BREAKS = {"\r", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"}


def _control_chars(value: str, *, allow: str = "") -> set[str]:
    return {
        ch
        for ch in value
        if ch not in allow and (ch in _LINE_BREAKS or unicodedata.category(ch) == "Cc")
    }


def validate_single_line(value: str) -> None:
    """No line breaks or other control characters (tabs included)."""
    if _control_chars(value):
        raise ValidationError(
            "This must be a single line without line breaks or control characters.",
            code="control_characters",
        )


def validate_text_block(value: str) -> None:
    """Multi-line text: line breaks and tabs are fine, other control characters not."""
    if _control_chars(value, allow="\r\n\t"):
        raise ValidationError(
            "This contains control characters; please remove them.",
            code="control_characters",
        )


_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def normalise_email(email: str) -> str:
    """The form we compare addresses in, so one person signs a campaign once.

    Case and surrounding spaces never matter; a "+tag" is dropped for every domain
    (most providers deliver tagged mail to the same inbox); Gmail also ignores dots.
    """
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


_POSTCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,14}$")


def validate_postcode(value: str) -> None:
    if not _POSTCODE_RE.match(value.strip()):
        raise ValidationError(
            "Enter a postcode of letters, digits, spaces or hyphens (2 to 15).",
            code="postcode",
        )
