"""Rows the bounce tests start from."""

from django.utils import timezone

from campaign.emails import message_id
from campaign.models import OutboxStatus
from campaign.verp import verp_address
from tests.factories import LetterFactory


def sent_letter(**fields):
    """A letter recorded sent (as the worker leaves it), and its VERP address."""
    letter = LetterFactory(status=OutboxStatus.SENT, sent_at=timezone.now(), **fields)
    letter.message_id = message_id(letter)
    letter.save(update_fields=["message_id"])
    return letter, verp_address(kind="l", pk=letter.pk)
