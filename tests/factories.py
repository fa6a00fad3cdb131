import factory
from django.contrib.auth import get_user_model
from django.db import connection

from campaign.models import (
    Campaign,
    CampaignTarget,
    DeliveryMode,
    Letter,
    LetterStatus,
    Official,
    Signature,
)
from campaign.services.letter_counts import letters_update
from campaign.validators import normalise_email
from letters.models import LetterTemplate


class LetterTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LetterTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    subject_template = "About {{ campaign.title }}"
    body_template = (
        "{{ official.salutation }},\n\nPlease act.\n\n{{ signer.personal_paragraph }}"
        "\n\nYours sincerely,\n\n{{ signer.name }}\n{{ signer.town }}\n"
    )


class OfficialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Official

    name = factory.Sequence(lambda n: f"Official {n}")
    position = "Minister"
    salutation = factory.LazyAttribute(lambda o: f"Dear {o.name}")
    email = factory.Sequence(lambda n: f"official{n}@example.org")
    organisation = "Ministry"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    title = factory.Sequence(lambda n: f"Campaign {n}")
    summary = "A campaign summary."
    status = Campaign.Status.LIVE
    signature_goal = 100
    letter_template = factory.SubFactory(LetterTemplateFactory)

    @factory.post_generation
    def targets(self, create, extracted, **kwargs):
        if not create:
            return
        officials = (
            extracted if extracted is not None else OfficialFactory.create_batch(2)
        )
        # Today's behaviour unless a test is about delivery modes. One INSERT:
        # the campaign is new, so `targets.set()` (a savepoint, two SELECTs of
        # the links it has, then the INSERT) would find nothing to keep or
        # remove, and nothing listens to m2m_changed or post_save. ~800 a run.
        every = DeliveryMode.EVERY_LETTER
        CampaignTarget.objects.bulk_create(
            CampaignTarget(campaign=self, official=official, delivery_mode=every)
            for official in officials
        )


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signature

    campaign = factory.SubFactory(CampaignFactory)
    full_name = factory.Sequence(lambda n: f"Signer {n}")
    email = factory.Sequence(lambda n: f"signer{n}@example.com")
    email_normalised = factory.LazyAttribute(lambda s: normalise_email(s.email))
    postcode = "SW1A 1AA"
    town = "London"
    consent_to_send = True


class LetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letter

    signature = factory.SubFactory(SignatureFactory)
    official = factory.SubFactory(OfficialFactory)
    subject = "A subject"
    body = "A body"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Written pending, as signing writes letters, then moved to the status
        asked for the way the site moves letters, so the signature's letter
        counts are what they would be (campaign/services/letter_counts.py)."""
        status = kwargs.pop("status", LetterStatus.PENDING)
        letter = super()._create(model_class, *args, **kwargs)
        if status != letter.status:
            letters_update(letters=Letter.objects.filter(pk=letter.pk), status=status)
            letter.status = status
        return letter


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


def bulk_signatures(campaign, count: int, **fields) -> list[Signature]:
    """Many signatures in one INSERT, for tests about volume."""
    return Signature.objects.bulk_create(
        Signature(
            campaign=campaign,
            full_name=f"Signer {n}",
            email=f"signer{n}@example.com",
            email_normalised=f"signer{n}@example.com",
            postcode="SW1A 1AA",
            consent_to_send=True,
            **fields,
        )
        for n in range(count)
    )


# The columns signature_copies() makes unique per copy (n = 1, 2, ...).
_COPY_UNIQUE = {
    "full_name": "full_name || ' ' || n",
    "email": "n || '.' || email",
    "email_normalised": "n || '.' || email_normalised",
    "token": "token || '-' || n",
}


def signature_copies(signature: Signature, count: int) -> None:
    """`count` more signatures like `signature` (same campaign, status and text),
    each with its own name, address and token, made by PostgreSQL in one INSERT …
    SELECT: for tests that need megabytes of rows, which bulk_create would first
    build in Python (seconds, not a tenth of one)."""
    fields = [f for f in Signature._meta.concrete_fields if not f.primary_key]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    values = [
        _COPY_UNIQUE.get(f.column, q) for f, q in zip(fields, columns, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Signature._meta.db_table} ({', '.join(columns)})"  # noqa: S608 (the model's own names)
            f" SELECT {', '.join(values)} FROM {Signature._meta.db_table},"
            " generate_series(1, %s) AS n WHERE id = %s",
            [count, signature.pk],
        )
