"""Input rules shared by models and forms. What counts as a line break or a
control character, and why they are refused, is letters/text.py.
"""

import re

from django.core.exceptions import ValidationError

from letters import text


def validate_single_line(value: str) -> None:
    """text.is_single_line as a Django validator: for names, titles, salutations."""
    if not text.is_single_line(value):
        raise ValidationError(text.SINGLE_LINE_MESSAGE, code="control_characters")


def validate_text_block(value: str) -> None:
    """text.is_text_block as a Django validator: for paragraphs and letters."""
    if not text.is_text_block(value):
        raise ValidationError(text.TEXT_BLOCK_MESSAGE, code="control_characters")


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


def validate_weekdays(value: str) -> None:
    """Digits 1 (Monday) to 7 (Sunday), each once, e.g. "12345"."""
    if not set(value) <= set("1234567") or len(set(value)) != len(value):
        raise ValidationError(
            "Use the digits 1 (Monday) to 7 (Sunday), each at most once, "
            "e.g. 12345 for Monday to Friday.",
            code="weekdays",
        )


def validate_delivery_hours(start, end) -> None:
    """Delivery hours (an official's, or a campaign's for area officials): both
    ends or neither, ending after they start on the same day."""
    if (start is None) != (end is None):
        raise ValidationError(
            "Give both ends of the delivery hours, or neither.", code="window_half"
        )
    if start is not None and start >= end:
        raise ValidationError(
            "Delivery hours must end after they start (on the same day).",
            code="window_order",
        )
