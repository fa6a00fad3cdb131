"""`manage.py send_update <slug> --subject TEXT --body-file FILE [--yes]`: what
the admin's "Send to N supporters" does, from the shell. Without --yes it prints
N and asks first."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from campaign.services import updates


class Command(BaseCommand):
    help = (
        "Write a campaign update and send it to the campaign's supporters who "
        "asked for updates. Shows how many first and asks, unless --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The campaign's slug.")
        parser.add_argument("--subject", required=True, help="One line.")
        parser.add_argument(
            "--body-file",
            required=True,
            type=Path,
            help="A UTF-8 text file with the body ('-' for standard input).",
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask.")

    def handle(self, *args, slug, subject, body_file, yes, **options):
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {slug!r}.")
        try:
            body = (
                self.stdin.read()
                if str(body_file) == "-"
                else body_file.read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read the body: {exc}") from None
        try:
            update = updates.update_create(
                campaign=campaign, subject=subject, body=body
            )
        except ValidationError as exc:
            problems = [
                f"{field}: {m}" for field, ms in exc.message_dict.items() for m in ms
            ]
            raise CommandError(
                "The update was not saved.\n" + "\n".join(problems)
            ) from None
        count = updates.update_audience_count(update=update)
        if not yes:
            answer = input(f"Send “{update.subject}” to {count} supporters? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                self.stdout.write(
                    f"Not sent. The draft is kept: update {update.pk} in the admin."
                )
                return
        try:
            sent = updates.update_send(update_id=update.pk)
        except (updates.UpdateNotSendable, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Update {sent.pk} queued for {sent.recipients} supporters.")
