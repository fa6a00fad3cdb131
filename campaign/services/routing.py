"""Which way each letter reaches its official: an email of its own, the daily
digest, or the organiser's hand-in. The one place the delivery modes are
interpreted; signing (new letters) and the admin (a changed mode) both route here.
"""

import logging

from django.conf import settings
from django.db import transaction

from campaign.models import CampaignTarget, DeliveryMode, Letter, LetterStatus
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
    from campaign.services import delivery  # delivery imports models only

    with transaction.atomic():
        rows = list(
            Letter.objects.select_for_update()
            .filter(
                signature__campaign_id=target.campaign_id,
                official_id=target.official_id,
                status__in=_UNSENT,
                digest__isnull=True,
            )
            .values_list("pk", "status", "own_words")
        )
        moves: dict[str, list[int]] = {}
        failing = target.official.failing_since is not None
        for pk, status, own_words in rows:
            new = letter_status_for(
                mode=target.delivery_mode, own_words=own_words, failing=failing
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
    logger.info(
        "target %s re-routed to %s (letters moved: %s)",
        *(target.pk, target.delivery_mode, sum(map(len, moves.values()))),
        extra={"target_id": target.pk, "delivery_mode": target.delivery_mode},
    )
    return to_send
