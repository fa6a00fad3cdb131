"""`manage.py refresh_dashboards [slug ...]`: rebuild the dashboards' tallies now
(beat does it every DASHBOARD_REFRESH_SECONDS): after a restore, say, or for a
closed campaign beat no longer refreshes."""

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from campaign.services.tallies import (
    campaign_tallies_refresh,
    campaigns_due_for_tallies,
)


class Command(BaseCommand):
    help = (
        "Rebuild the dashboard tallies of the campaigns named (by slug), or of "
        "every campaign beat refreshes when none is named."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", metavar="slug")

    def handle(self, *args, slugs, **options):
        campaigns = Campaign.objects.order_by("slug")
        if slugs:
            campaigns = campaigns.filter(slug__in=slugs)
            found = set(campaigns.values_list("slug", flat=True))
            if missing := sorted(set(slugs) - found):
                raise CommandError(f"No campaign with the slug: {', '.join(missing)}.")
        else:
            campaigns = campaigns.filter(pk__in=campaigns_due_for_tallies())
        # In this process, one after another: an operator waits for the result.
        for campaign_id, slug in campaigns.values_list("pk", "slug"):
            refresh = campaign_tallies_refresh(campaign_id=campaign_id)
            self.stdout.write(f"{slug}: refreshed in {refresh.seconds:.1f} s.")
