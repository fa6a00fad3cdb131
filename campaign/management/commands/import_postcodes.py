import os
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaign.services.postcode_imports import (
    PostcodeImportError,
    postcode_dataset_import,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value if len(value) > 7 else f"{value}-01")
    except ValueError:
        raise CommandError(
            f"--dataset-version {value!r}: give a date, YYYY-MM-DD or YYYY-MM."
        ) from None


class Command(BaseCommand):
    help = (
        "Load a CSV of postcodes (or sectors, or districts) and area codes as a "
        "postcode dataset, replacing that dataset's rows in one swap: lookups keep "
        "working meanwhile, and a bad file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, with a header row).")
        parser.add_argument(
            "--dataset", required=True, help='Its name, e.g. "ONS postcode directory".'
        )
        parser.add_argument(
            "--dataset-version", required=True, help="The data's date, YYYY-MM(-DD)."
        )
        parser.add_argument(
            "--postcode-column", required=True, help="Header of the postcode column."
        )
        parser.add_argument(
            "--area-column", required=True, help="Header of the area code column."
        )
        parser.add_argument(
            "--create-areas",
            action="store_true",
            help="Create areas for unknown codes, named by their code (else refused).",
        )

    def handle(self, *args, file, **options):
        version = _date(options["dataset_version"])
        try:
            handle = open(file, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise CommandError(f"Cannot open {file}: {exc.strerror}") from None
        bar = tqdm(
            total=os.fstat(handle.fileno()).st_size,
            unit="B",
            unit_scale=True,
            desc="reading",
            file=options.get("stderr") or sys.stderr,
        )
        try:
            with handle, bar:
                report = postcode_dataset_import(
                    file=handle,
                    name=options["dataset"],
                    version=version,
                    postcode_column=options["postcode_column"],
                    area_column=options["area_column"],
                    create_areas=options["create_areas"],
                    progress=bar.update,
                )
        except PostcodeImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{report.dataset}: {report.rows_read} rows read, {report.skipped} "
            f"without a postcode or area skipped, {report.stored} stored (every "
            f"level), {report.areas_created} areas created. Seconds: "
            + ", ".join(f"{name} {n}" for name, n in report.seconds.items())
            + "."
        )
