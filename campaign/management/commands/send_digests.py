"""`manage.py send_digests`: the daily digests, now (beat sends them at
DIGEST_SEND_TIME). Idempotent: a supporter is listed in one digest only."""

from django.core.management.base import BaseCommand

from campaign.services.digests import digests_create_due


class Command(BaseCommand):
    help = (
        "Create and send the daily digest for every official with letters waiting "
        "for one. Running it twice sends nothing twice."
    )

    def handle(self, *args, **options):
        created = digests_create_due()
        # With a broker the worker sends them; without one (the quick start)
        # they were sent in this process as each was committed.
        self.stdout.write(f"{len(created)} digest(s) created and queued for sending.")
