"""Vetting before a hand-in: organisers exclude signatures that look fake. An
excluded signature still counts on the site (remove it there separately); the
hand-in pack leaves it out and says how many it left out (campaign/handin/)."""

from django.utils import timezone

from campaign.models import Signature
from campaign.validators import validate_single_line

REASON_MAX_LENGTH = Signature._meta.get_field("handin_exclusion_reason").max_length


def signatures_exclude_from_handin(*, signature_ids: list[int], reason: str) -> int:
    """Mark them excluded with `reason` (raises ValidationError for a reason
    with a line break or control character). Already excluded ones keep their
    first reason. Returns how many were newly excluded."""
    reason = reason.strip()
    validate_single_line(reason)
    return Signature.objects.filter(
        pk__in=signature_ids, handin_excluded_at__isnull=True
    ).update(
        handin_excluded_at=timezone.now(),
        handin_exclusion_reason=reason[:REASON_MAX_LENGTH],
    )


def signatures_include_in_handin(*, signature_ids: list[int]) -> int:
    """Undo the exclusion. Returns how many were excluded."""
    return Signature.objects.filter(
        pk__in=signature_ids, handin_excluded_at__isnull=False
    ).update(handin_excluded_at=None, handin_exclusion_reason="")
