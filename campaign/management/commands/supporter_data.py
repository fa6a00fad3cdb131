import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from campaign.access_requests import supporter_data


class Command(BaseCommand):
    help = (
        "Print as JSON everything held about an email address (all campaigns): "
        "the answer to a subject access request."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The address, as the supporter gives it.")

    def handle(self, *args, email, **options):
        data = supporter_data(email=email)
        # ensure_ascii=False: names stay readable; DjangoJSONEncoder: ISO times.
        self.stdout.write(
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        )
        if not data["signatures"]:
            self.stderr.write(f"Nothing held for {data['email_normalised']}.")
