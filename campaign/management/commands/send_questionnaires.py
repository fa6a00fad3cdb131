"""`manage.py send_questionnaires`: the "did they reply?" emails and reminders due
now (beat sends them daily). Idempotent: nothing is asked or reminded twice."""

from django.conf import settings
from django.core.management.base import BaseCommand

from campaign.services.questionnaires import questionnaires_send_due


class Command(BaseCommand):
    help = (
        'Email supporters "did they reply?" about letters delivered '
        "REPLY_QUESTIONNAIRE_AFTER_DAYS ago, and the one reminder a week later. "
        "Running it twice sends nothing twice."
    )

    def handle(self, *args, **options):
        if settings.REPLY_QUESTIONNAIRE_AFTER_DAYS <= 0:
            self.stdout.write(
                "Questionnaires are off (REPLY_QUESTIONNAIRE_AFTER_DAYS=0)."
            )
            return
        run = questionnaires_send_due()
        self.stdout.write(
            f"{run.asked} question(s) asked and {run.reminded} reminded, "
            f"in {run.emails} email(s) queued for sending."
        )
