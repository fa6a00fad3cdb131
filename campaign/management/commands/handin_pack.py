import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaign.handin.archive import handin_zip_write
from campaign.handin.fonts import FontMissing
from campaign.handin.rows import pack_officials
from campaign.models import Campaign


class Command(BaseCommand):
    help = (
        "Build a campaign's hand-in pack (the PDF and the CSV of its vetted "
        "supporters, in one zip) with a progress bar on stderr: what the admin's "
        "\u201cBuild hand-in pack\u201d button does, without the worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The campaign's slug.")
        parser.add_argument(
            "--official",
            type=int,
            metavar="ID",
            help="The official's id (their primary key), a fixed official or a "
            "supporter's representative: only their supporters and their letter. "
            "Default: every supporter, every official's letter.",
        )
        parser.add_argument("--output", required=True, help="The zip to write.")

    def handle(self, *args, slug, official=None, output, **options):
        try:
            campaign = Campaign.objects.get(slug=slug)
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign with slug {slug!r}.") from None
        official_id, official = official, None
        if official_id is not None:
            # A fixed official or, by postcode, a supporter's representative.
            official = pack_officials(campaign=campaign).filter(pk=official_id).first()
            if official is None:
                raise CommandError(
                    f"Official {official_id} is not one of {slug!r}'s officials "
                    "or its supporters' representatives."
                )
        bar = tqdm(unit=" rows", desc=slug, file=options.get("stderr") or sys.stderr)

        def start(facts) -> None:
            bar.total = facts.personal + facts.supporters
            bar.refresh()

        # Written beside the target and renamed when complete, so a failed build
        # never leaves a truncated zip that looks finished.
        path = Path(output)
        partial = path.with_name(f".{path.name}.part")
        try:
            with bar, open(partial, "wb") as out:
                facts = handin_zip_write(
                    campaign=campaign,
                    official=official,
                    out=out,
                    on_start=start,
                    on_rows=bar.update,
                )
            os.replace(partial, path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}") from exc
        except FontMissing as exc:
            raise CommandError(str(exc)) from exc
        finally:
            partial.unlink(missing_ok=True)
        self.stderr.write(
            f"Wrote {path}: {facts.supporters:,} supporters, {facts.personal:,} "
            f"personal letters, {facts.excluded:,} excluded."
        )
