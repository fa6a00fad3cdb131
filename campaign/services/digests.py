"""The daily digest: one email per official per campaign summing up the
supporters since the last one, instead of an email each (delivery modes: see
campaign/services/routing.py).

A digest lists every supporter no digest has listed yet, including those whose
personal letter went on its own; it *carries* the letters that were waiting for
it (status awaiting_digest), which become "digested" once it is sent. Each digest
is an outbox row like a letter (claimed once, retried, swept), so creating one is
the only step here; delivery/ sends it.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone

from campaign import areas, official_pages
from campaign.models import (
    CampaignTarget,
    Digest,
    Letter,
    LetterStatus,
    OutboxStatus,
)
from campaign.services.letter_counts import letters_update
from campaign.services.routing import is_personal

logger = logging.getLogger(__name__)

NAMES_LISTED = 200  # in the email; the official's page has everyone

# A withdrawn letter is no supporter; one held for hand-in goes by hand; one
# held while the address fails is listed once released (services/failing.py).
_NOT_LISTED = (LetterStatus.CANCELLED, LetterStatus.HELD, LetterStatus.HELD_FAILING)


def digests_create_due() -> list[int]:
    """Create (and queue after commit) a digest for every target with letters
    waiting for one. Idempotent: letters are listed once, so a second run right
    after creates nothing. Returns the new digests' ids."""
    due = (
        Letter.objects.filter(status=LetterStatus.AWAITING_DIGEST, digest__isnull=True)
        .values_list("signature__campaign_id", "official_id")
        .order_by()  # the model's ordering would make DISTINCT per row
        .distinct()
    )
    targets = CampaignTarget.objects.select_related(
        "campaign__letter_template", "official"
    )
    created = []
    for campaign_id, official_id in list(due):
        target = targets.filter(
            campaign_id=campaign_id, official_id=official_id
        ).first() or areas.area_target_by_ids(
            campaign_id=campaign_id, official_id=official_id
        )
        if target is None:
            # Removed from the campaign since: its waiting letters stay listed
            # in admin, and one such official must not stop everyone's digest.
            logger.warning(
                "letters await a digest for official %s, no longer a target of "
                "campaign %s",
                *(official_id, campaign_id),
            )
            continue
        digest_id = digest_create(target=target)
        if digest_id is not None:
            created.append(digest_id)
    return created


def digest_create(*, target: CampaignTarget) -> int | None:
    """One digest for `target` listing its supporters not listed yet, or None
    when nothing waits for one (another run took them)."""
    from campaign.services import delivery

    letters = Letter.objects.filter(
        signature__campaign_id=target.campaign_id, official_id=target.official_id
    ).exclude(status__in=_NOT_LISTED)
    with transaction.atomic():
        new = list(
            letters.filter(digest__isnull=True)
            .select_for_update(of=("self",), skip_locked=True)
            .select_related("signature")
            # What the digest reads: never the letters' bodies, which for a
            # big campaign would be tens of megabytes in the worker.
            .only(
                "status",
                "own_words",
                "signature__full_name",
                "signature__town",
                "signature__created_at",
            )
            .order_by("signature__created_at", "pk")
        )
        if not any(letter.status == LetterStatus.AWAITING_DIGEST for letter in new):
            return None
        # Everyone listed before, by earlier digests that did not fail (a failed
        # one's supporters are listed again), plus the new ones.
        listed_before = (
            Digest.objects.filter(
                campaign_id=target.campaign_id, official_id=target.official_id
            )
            .exclude(status=OutboxStatus.FAILED)
            .aggregate(n=Sum("new_signatures"))["n"]
        )
        digest = Digest.objects.create(
            campaign=target.campaign,
            official=target.official,
            new_signatures=len(new),
            **_digest_text(
                target=target, new=new, total=(listed_before or 0) + len(new)
            ),
        )
        Letter.objects.filter(pk__in=[letter.pk for letter in new]).update(
            digest=digest
        )
        transaction.on_commit(
            lambda: delivery.digest_enqueue(digest_id=digest.pk), robust=True
        )
    logger.info(
        "digest %s created (target %s, %s new supporters)",
        *(digest.pk, target.pk, len(new)),
        extra={"digest_id": digest.pk, "target_id": target.pk},
    )
    return digest.pk


def _digest_text(*, target: CampaignTarget, new: list[Letter], total: int) -> dict:
    campaign = target.campaign
    context = {
        "campaign": campaign,
        "official": target.official,
        "site_name": settings.SITE_NAME,
        "new_count": len(new),
        "total": total,
        "listed": [letter.signature for letter in new[:NAMES_LISTED]],
        "more": max(len(new) - NAMES_LISTED, 0),
        "personal_count": sum(is_personal(own_words=x.own_words) for x in new),
        "short_words_count": sum(
            x.own_words > 0 and not is_personal(own_words=x.own_words) for x in new
        ),
        "letter": official_pages.standard_letter(target=target),
        "page_url": official_pages.official_page_url(target=target),
        "today": timezone.localdate(),
    }
    subject = render_to_string("emails/digest_subject.txt", context)
    return {
        # One line whatever the template's whitespace: it becomes a header.
        "subject": " ".join(subject.split())[:255],
        "body": render_to_string("emails/digest_body.txt", context).strip() + "\n",
    }


def digest_record_sent(*, digest_id: int) -> int:
    """The letters the digest carried are delivered (called as it is recorded
    sent, in the same transaction). Returns how many."""
    return letters_update(
        letters=Letter.objects.filter(
            digest_id=digest_id, status=LetterStatus.AWAITING_DIGEST
        ),
        status=LetterStatus.DIGESTED,
        sent_at=timezone.now(),
    )


def digest_record_failed(*, digest_id: int) -> int:
    """A digest that failed for good delivered nothing: its waiting letters go
    back to wait for the next one (supporters it listed are listed again)."""
    return (
        Letter.objects.filter(digest_id=digest_id)
        .exclude(status=LetterStatus.DIGESTED)
        .update(digest=None)
    )
