"""Campaigns, the officials they write to, signatures and the outbox of emails.

Nothing important happens in save() or signals: writes live in campaign/services/.
"""

from .areas import Area, AreaTargeting, PostcodeArea, PostcodeDataset
from .campaigns import Campaign, CampaignTarget, DeliveryMode, Official
from .handin import HandinPack
from .outbox import (
    DELIVERED_LETTER_STATUSES,
    UNSETTLED_LETTER_STATUSES,
    ConfirmationEmail,
    Digest,
    Letter,
    LetterStatus,
    OutboxMessage,
    OutboxStatus,
    outbox_indexes,
)
from .privacy import ConsentText, ErasureRecord
from .questionnaires import Questionnaire
from .receipts import Receipt, ReceiptKind
from .signatures import Signature, _new_token
from .tallies import LetterTally, SignatureTally, TallyRefresh
from .updates import Update, UpdateEmail, UpdateEmailStatus

__all__ = [
    "Area",
    "AreaTargeting",
    "PostcodeArea",
    "PostcodeDataset",
    "DELIVERED_LETTER_STATUSES",
    "Campaign",
    "CampaignTarget",
    "ConfirmationEmail",
    "ConsentText",
    "DeliveryMode",
    "Digest",
    "ErasureRecord",
    "HandinPack",
    "Letter",
    "LetterStatus",
    "LetterTally",
    "Official",
    "Receipt",
    "ReceiptKind",
    "OutboxMessage",
    "OutboxStatus",
    "Questionnaire",
    "Signature",
    "SignatureTally",
    "TallyRefresh",
    "UNSETTLED_LETTER_STATUSES",
    "Update",
    "UpdateEmail",
    "UpdateEmailStatus",
    "_new_token",  # named by migration 0001
    "outbox_indexes",
]
