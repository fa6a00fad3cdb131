import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaign import export_filters, exports
from campaign.models import Campaign


class Command(BaseCommand):
    help = (
        "Write a campaign's signatures as CSV (the same bytes as the admin and the "
        "staff URL) to stdout, or to --output with a progress bar on stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The campaign's slug.")
        parser.add_argument(
            "--status", default="confirmed", help="confirmed (default), pending or all."
        )
        parser.add_argument("--since", help="First signing day included, YYYY-MM-DD.")
        parser.add_argument("--until", help="Last signing day included, YYYY-MM-DD.")
        parser.add_argument("--output", help="Write to this file instead of stdout.")
        parser.add_argument(
            "--excel", action="store_true", help="Start with a UTF-8 BOM for Excel."
        )

    def handle(self, *args, slug, output=None, excel=False, **options):
        form = export_filters.ExportFilterForm(
            {key: options[key] or "" for key in ("status", "since", "until")}
        )
        if not form.is_valid():
            raise CommandError(form.error_text())
        try:
            campaign = Campaign.objects.get(slug=slug)
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign with slug {slug!r}.") from None
        signatures = export_filters.signatures_for_export(
            campaign=campaign, **form.filters()
        )

        # options["stdout"/"stderr"] are the raw streams call_command was given;
        # self.stdout/self.stderr are text wrappers that append newlines.
        if output is None:
            stdout = options.get("stdout") or sys.stdout
            # Bytes, not text: the CSV's line breaks and BOM pass through untouched.
            sink = getattr(stdout, "buffer", None) or _TextSink(stdout)
            self._write(sink, signatures, excel=excel, on_rows=None)
            return

        # The bar's total costs one COUNT: worth it for a percentage and an ETA.
        bar = tqdm(
            total=signatures.count(),
            unit=" rows",
            unit_scale=True,
            desc=campaign.slug,
            file=options.get("stderr") or sys.stderr,
        )
        # Write beside the target and rename at the end, so a failed export never
        # leaves a truncated file that looks like a finished one.
        target = Path(output)
        partial = target.with_name(f".{target.name}.part")
        try:
            with bar, open(partial, "wb") as out:
                self._write(out, signatures, excel=excel, on_rows=bar.update)
            os.replace(partial, target)
        except OSError as exc:
            raise CommandError(f"Cannot write {target}: {exc.strerror}") from exc
        finally:
            partial.unlink(missing_ok=True)
        self.stderr.write(f"Wrote {bar.n:,} rows to {target}")

    def _write(self, out, signatures, *, excel, on_rows) -> None:
        # COPY on this connection straight into the file: the same statement and
        # bytes as the web's (exports.copy_statement).
        exports.signature_csv_write(
            signatures=signatures, out=out, excel=excel, on_rows=on_rows
        )
        out.flush()


class _TextSink:
    """A bytes writer over a text stream (call_command(stdout=io.StringIO()))."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        self.stream.write(data.decode())

    def flush(self) -> None:
        self.stream.flush()
