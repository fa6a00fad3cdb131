"""Who gets an update: the campaign's confirmed supporters who asked for updates
and have not unsubscribed, withdrawn, been anonymised or bounced for good
(models/updates.py WANTS_UPDATES), narrowed by the update's optional filters."""

from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from campaign.models import Letter, Signature, Update
from campaign.models.updates import WANTS_UPDATES


def _day_start(day: date) -> datetime:
    # Site time: "signed before 1 March" means before midnight where the
    # organiser is. A range on created_at (not __date) keeps the index usable.
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def update_audience(*, update: Update) -> QuerySet[Signature]:
    """The signatures `update` goes to, as a query (no rows loaded)."""
    audience = Signature.objects.filter(WANTS_UPDATES, campaign_id=update.campaign_id)
    if update.signed_after:
        audience = audience.filter(created_at__gte=_day_start(update.signed_after))
    if update.signed_before:
        audience = audience.filter(created_at__lt=_day_start(update.signed_before))
    if update.wrote_to_id:
        letters = Letter.objects.filter(
            signature_id=OuterRef("pk"), official_id=update.wrote_to_id
        )
        audience = audience.filter(Exists(letters))
    return audience.order_by()


def update_audience_count(*, update: Update) -> int:
    """N in "Send to N supporters"."""
    return update_audience(update=update).count()
