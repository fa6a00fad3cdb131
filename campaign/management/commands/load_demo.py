import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from campaign import demo, demo_areas
from campaign.models import Campaign, DeliveryMode, Official
from campaign.services.pages import campaign_pages_invalidate
from letters.models import LetterTemplate


class Command(BaseCommand):
    help = (
        "Create the demo campaigns: one to two fixed officials, one by postcode "
        "to fictional councillors. "
        "Idempotent: existing rows (and any edits made to them) are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--create-admin",
            action="store_true",
            help="Also create (or reset) a superuser 'admin' and print its password.",
        )

    @transaction.atomic
    def handle(self, *args, create_admin: bool = False, **options):
        template, _ = LetterTemplate.objects.get_or_create(
            name=demo.TEMPLATE_NAME,
            defaults={"subject_template": demo.SUBJECT, "body_template": demo.BODY},
        )
        officials = [
            Official.objects.get_or_create(email=o["email"], defaults=o)[0]
            for o in demo.OFFICIALS
        ]
        campaign, created = Campaign.objects.get_or_create(
            slug=demo.DEMO_SLUG,
            defaults={
                **demo.CAMPAIGN,
                "letter_template": template,
                "status": Campaign.Status.LIVE,
            },
        )
        if created:
            campaign.targets.set(
                officials,
                through_defaults={"delivery_mode": DeliveryMode.PERSONAL_AND_DIGEST},
            )
        # A page cached before (a database reset under a live cache) is stale.
        campaign_pages_invalidate(campaign_ids=[campaign.pk])
        verb = "Created" if created else "Kept existing"
        self.stdout.write(f"{verb} demo campaign /campaigns/{campaign.slug}/")

        area_template, _ = LetterTemplate.objects.get_or_create(
            name=demo_areas.TEMPLATE_NAME,
            defaults={
                "subject_template": demo_areas.SUBJECT,
                "body_template": demo_areas.BODY,
            },
        )
        by_postcode, created = demo_areas.demo_areas_load(template=area_template)
        verb = "Created" if created else "Kept existing"
        self.stdout.write(
            f"{verb} demo campaign by postcode /campaigns/{by_postcode.slug}/"
        )

        if create_admin:
            password = secrets.token_urlsafe(12)
            user, _ = get_user_model().objects.get_or_create(
                username="admin",
                defaults={"email": "admin@example.org"},
            )
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Admin login: http://127.0.0.1:8000/admin/  "
                    f"username: admin  password: {password}"
                )
            )
