"""Officials whose address keeps bouncing: after FAILING_AFTER_BOUNCES permanent
bounces in a row their address is flagged "failing" and their letters are held
(LetterStatus.HELD_FAILING) instead of being sent into the void; an organiser
corrects the address and clears the flag, which releases the held letters.

Signing reads the flag when it writes letters (routing.letter_status_for); a
letter confirmed in the instant the flag is set is missed, and bounces once more.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaign.models import (
    AreaTargeting,
    CampaignTarget,
    Digest,
    Letter,
    LetterStatus,
    Official,
    OutboxStatus,
)
from campaign.services.letter_counts import letters_update
from campaign.services.routing import letter_status_for

logger = logging.getLogger(__name__)

FAILING_AFTER_BOUNCES = 3

# Letters not on their way yet: held while the address fails. A letter already
# in a digest being sent, or being sent itself, is left to finish.
_HOLDABLE = Q(status=LetterStatus.PENDING) | Q(
    status=LetterStatus.AWAITING_DIGEST, digest__isnull=True
)


def _latest_sends(official_id: int) -> list[tuple[datetime, str]]:
    """(sent_at, status) of the official's last few emails: letters sent on
    their own (they have a Message-ID; digest-carried ones do not) and digests."""
    n, sent = FAILING_AFTER_BOUNCES, (OutboxStatus.SENT, OutboxStatus.BOUNCED)
    letters = Letter.objects.filter(
        official_id=official_id, status__in=sent, sent_at__isnull=False
    ).exclude(message_id="")
    digests = Digest.objects.filter(
        official_id=official_id, status__in=sent, sent_at__isnull=False
    )
    found = [
        *letters.order_by("-sent_at").values_list("sent_at", "status")[:n],
        *digests.order_by("-sent_at").values_list("sent_at", "status")[:n],
    ]
    return sorted(found, reverse=True)[:n]


def official_failing_check(*, official_id: int) -> bool:
    """Flag the official if their last FAILING_AFTER_BOUNCES emails all bounced
    ("in a row": by when they were sent), and hold their unsent letters. Call
    in the transaction that records a bounce. Returns whether it flagged now."""
    latest = _latest_sends(official_id)
    if len(latest) < FAILING_AFTER_BOUNCES or any(
        status != OutboxStatus.BOUNCED for _, status in latest
    ):
        return False
    flagged = Official.objects.filter(
        pk=official_id, failing_since__isnull=True
    ).update(failing_since=timezone.now())
    if not flagged:
        return False
    # New letters are held at creation (signing reads failing_since); these are
    # the ones written before.
    held = letters_update(
        letters=Letter.objects.filter(_HOLDABLE, official_id=official_id),
        status=LetterStatus.HELD_FAILING,
    )
    logger.warning(
        "official %s flagged failing after %d bounces in a row; %d letters held",
        *(official_id, FAILING_AFTER_BOUNCES, held),
        extra={"official_id": official_id},
    )
    return True


def officials_failing_clear(*, official_ids: list[int]) -> tuple[int, int]:
    """Clear the flag and release the held letters, each routed as a new letter
    would be now (its target's delivery mode); those going on their own are
    queued after commit. Returns (officials cleared, letters released)."""
    from campaign.services import delivery  # delivery imports models only

    with transaction.atomic():
        cleared = Official.objects.filter(
            pk__in=official_ids, failing_since__isnull=False
        ).update(failing_since=None)
        held = list(
            Letter.objects.select_for_update()
            .filter(official_id__in=official_ids, status=LetterStatus.HELD_FAILING)
            .values_list("pk", "signature__campaign_id", "official_id", "own_words")
        )
        modes = dict(
            (((campaign, official), mode))
            for campaign, official, mode in CampaignTarget.objects.filter(
                official_id__in=official_ids
            ).values_list("campaign_id", "official_id", "delivery_mode")
        )
        # A supporter's representative (no target row): the campaign's setting.
        area_modes = dict(
            AreaTargeting.objects.filter(
                campaign_id__in={campaign_id for _, campaign_id, _, _ in held}
            ).values_list("campaign_id", "delivery_mode")
        )
        moves: dict[str, list[int]] = {}
        for pk, campaign_id, official_id, own_words in held:
            mode = modes.get((campaign_id, official_id)) or area_modes.get(campaign_id)
            # No longer a target: it was written to them, so it goes on its own.
            status = (
                letter_status_for(mode=mode, own_words=own_words)
                if mode
                else LetterStatus.PENDING
            )
            moves.setdefault(status, []).append(pk)
        for status, ids in moves.items():
            letters_update(letters=Letter.objects.filter(pk__in=ids), status=status)
        to_send = moves.get(LetterStatus.PENDING, [])
        if to_send:
            transaction.on_commit(
                lambda: delivery.letters_enqueue(letter_ids=to_send), robust=True
            )
    logger.info(
        "officials %s: failing flag cleared, %d letters released",
        *(official_ids, len(held)),
    )
    return cleared, len(held)
