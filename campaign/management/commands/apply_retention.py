import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from campaign.services.retention import (
    BATCH_SIZE,
    campaigns_record_closing,
    retention_due,
    retention_step,
)


class Command(BaseCommand):
    help = (
        "Apply the retention rules now (beat does it daily): delete pending "
        "signatures whose link expired, anonymise supporters of campaigns closed "
        "SIGNER_DATA_RETENTION_DAYS ago. Batched and idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Signatures per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        totals = {"closed": campaigns_record_closing(now=now), "deleted": 0}
        totals["anonymised"] = 0
        due = retention_due(now=now)
        bar = tqdm(
            total=due.total,
            unit=" signatures",
            desc="retention",
            file=options.get("stderr") or sys.stderr,
        )
        with bar:
            while (step := retention_step(now=now, batch_size=batch_size)).changed:
                for name, value in step.counts().items():
                    totals[name] += value
                bar.update(step.deleted + step.anonymised)
        self.stdout.write(
            f"Retention applied: {totals['closed']} campaign(s) recorded as closed, "
            f"{totals['deleted']} expired pending signature(s) deleted, "
            f"{totals['anonymised']} signature(s) anonymised."
        )
