"""Campaigns, the officials they write to, signatures and the outbox of emails.

Nothing important happens in save() or signals: writes live in campaign/services/.
"""

from .campaigns import Campaign, CampaignTarget, DeliveryMode, Official
from .outbox import (
    DELIVERED_LETTER_STATUSES,
    ConfirmationEmail,
    Digest,
    Letter,
    LetterStatus,
    OutboxMessage,
    OutboxStatus,
    outbox_indexes,
)
from .questionnaires import Questionnaire
from .signatures import Signature, _new_token
from .tallies import LetterTally, SignatureTally, TallyRefresh

__all__ = [
    "DELIVERED_LETTER_STATUSES",
    "Campaign",
    "CampaignTarget",
    "ConfirmationEmail",
    "DeliveryMode",
    "Digest",
    "Letter",
    "LetterStatus",
    "LetterTally",
    "Official",
    "OutboxMessage",
    "OutboxStatus",
    "Questionnaire",
    "Signature",
    "SignatureTally",
    "TallyRefresh",
    "_new_token",  # named by migration 0001
    "outbox_indexes",
]
