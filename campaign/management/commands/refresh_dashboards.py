"""`manage.py refresh_dashboards [slug ...]`: rebuild the dashboards' tallies now
(beat does it every DASHBOARD_REFRESH_SECONDS): after a restore, say, or for a
closed campaign beat no longer refreshes."""

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from campaign.services.tallies import campaign_tallies_refresh, tallies_refresh_due


class Command(BaseCommand):
    help = (
        "Rebuild the dashboard tallies of the campaigns named (by slug), or of "
        "every campaign beat refreshes when none is named."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", metavar="slug")

    def handle(self, *args, slugs, **options):
        if not slugs:
            refreshed = tallies_refresh_due()
            self.stdout.write(f"{len(refreshed)} campaign(s) refreshed.")
            return
        campaigns = dict(
            Campaign.objects.filter(slug__in=slugs).values_list("slug", "pk")
        )
        if missing := sorted(set(slugs) - set(campaigns)):
            raise CommandError(f"No campaign with the slug: {', '.join(missing)}.")
        for slug in slugs:
            refresh = campaign_tallies_refresh(campaign_id=campaigns[slug])
            self.stdout.write(f"{slug}: refreshed in {refresh.seconds:.1f} s.")
