"""Which way each letter reaches its official: an email of its own, the daily
digest, or the organiser's hand-in. The one place the delivery modes are
interpreted; signing (new letters) and the admin (a changed mode) both route here.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from campaign.models import (
    AreaTargeting,
    CampaignTarget,
    DeliveryMode,
    Letter,
    LetterStatus,
)
from campaign.services.letter_counts import letters_update

logger = logging.getLogger(__name__)

# Letters a changed mode may still move: not sent, not being sent, not yet in a
# digest. A letter already on its way or delivered is never re-routed.
_UNSENT = (LetterStatus.PENDING, LetterStatus.AWAITING_DIGEST, LetterStatus.HELD)


def is_personal(*, own_words: int) -> bool:
    return own_words >= settings.PERSONAL_LETTER_MIN_WORDS


def letter_status_for(
    *, mode: str, own_words: int, failing: bool = False
) -> LetterStatus:
    """The status a new (or re-routed) letter starts in under `mode`; held, not
    emailed, while the official's address is failing (services/failing.py)."""
    if mode == DeliveryMode.HAND_IN:
        return LetterStatus.HELD
    if failing:
        return LetterStatus.HELD_FAILING
    if mode == DeliveryMode.DIGEST_ONLY:
        return LetterStatus.AWAITING_DIGEST
    if mode == DeliveryMode.PERSONAL_AND_DIGEST and not is_personal(
        own_words=own_words
    ):
        return LetterStatus.AWAITING_DIGEST
    return LetterStatus.PENDING


def target_letters_reroute(*, target: CampaignTarget) -> list[int]:
    """Apply `target`'s (changed) delivery mode to its letters not yet sent and
    queue the ones that now go on their own. Returns their ids."""
    letters = Letter.objects.filter(
        signature__campaign_id=target.campaign_id, official_id=target.official_id
    )
    to_send = _letters_reroute(letters=letters, mode=target.delivery_mode)
    logger.info(
        "target %s re-routed to %s (letters queued: %s)",
        *(target.pk, target.delivery_mode, len(to_send)),
        extra={"target_id": target.pk, "delivery_mode": target.delivery_mode},
    )
    return to_send


def area_letters_reroute(*, targeting: AreaTargeting) -> list[int]:
    """target_letters_reroute() for a campaign's letters to supporters'
    representatives (every official of its letters without a target row)."""
    campaign_id = targeting.campaign_id
    is_target = CampaignTarget.objects.filter(
        campaign_id=campaign_id, official_id=OuterRef("official_id")
    )
    letters = Letter.objects.filter(signature__campaign_id=campaign_id).exclude(
        Exists(is_target)
    )
    to_send = _letters_reroute(letters=letters, mode=targeting.delivery_mode)
    logger.info(
        "campaign %s: representatives' letters re-routed to %s (queued: %s)",
        *(campaign_id, targeting.delivery_mode, len(to_send)),
        extra={"campaign_id": campaign_id, "delivery_mode": targeting.delivery_mode},
    )
    return to_send


def _letters_reroute(*, letters, mode: str) -> list[int]:
    from campaign.services import delivery  # delivery imports models only

    with transaction.atomic():
        rows = list(
            letters.select_for_update(of=("self",))
            .filter(status__in=_UNSENT, digest__isnull=True)
            .values_list("pk", "status", "own_words", "official__failing_since")
        )
        moves: dict[str, list[int]] = {}
        for pk, status, own_words, failing_since in rows:
            new = letter_status_for(
                mode=mode, own_words=own_words, failing=failing_since is not None
            )
            if new != status:
                moves.setdefault(new, []).append(pk)
        for status, ids in moves.items():
            letters_update(letters=Letter.objects.filter(pk__in=ids), status=status)
        to_send = moves.get(LetterStatus.PENDING, [])
        if to_send:
            transaction.on_commit(
                lambda: delivery.letters_enqueue(letter_ids=to_send), robust=True
            )
    return to_send
