"""Stopping updates to a supporter: they unsubscribe (the one-click link, or the
page's button), or an update to their address bounces for good. Both are written
on the consent record (Signature: keep_updated and the timestamps) and cancel
the copies still waiting. Letters, receipts and questionnaires are not touched:
they are not marketing."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaign.models import Signature, UpdateEmail, UpdateEmailStatus


def _cancel_waiting(signatures: QuerySet[Signature]) -> int:
    return UpdateEmail.objects.filter(
        signature__in=signatures,
        status__in=[UpdateEmailStatus.PENDING, UpdateEmailStatus.PAUSED],
    ).update(status=UpdateEmailStatus.CANCELLED, updated_at=timezone.now())


def signature_unsubscribe(*, signature_id: int, all_campaigns: bool = False) -> int:
    """No further updates to this supporter from its campaign, or, with
    `all_campaigns`, to their address from any campaign. Idempotent (a mail
    provider may POST twice): an earlier unsubscription keeps its time.
    Returns how many signatures stopped getting updates now."""
    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None:
        return 0
    scope = Signature.objects.filter(pk=signature_id)
    if all_campaigns and signature.anonymised_at is None:
        scope = Signature.objects.filter(
            email_normalised=signature.email_normalised, anonymised_at__isnull=True
        )
    with transaction.atomic():
        changed = scope.filter(updates_unsubscribed_at__isnull=True).update(
            keep_updated=False, updates_unsubscribed_at=timezone.now()
        )
        _cancel_waiting(scope)
    return changed


def update_email_bounced(*, update_email: UpdateEmail) -> int:
    """A permanent bounce of an update (services/bounces.py): no further
    updates to that address, from any campaign. Call in the transaction that
    records the bounce. Returns how many signatures it stopped."""
    address = Signature.objects.filter(pk=update_email.signature_id).values_list(
        "email_normalised", flat=True
    )
    scope = Signature.objects.filter(
        email_normalised__in=address, anonymised_at__isnull=True
    )
    changed = scope.filter(updates_bounced_at__isnull=True).update(
        updates_bounced_at=timezone.now()
    )
    _cancel_waiting(scope)
    return changed
