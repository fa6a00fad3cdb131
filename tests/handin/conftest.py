"""A campaign ready to hand in: supporters in several scripts, personal letters,
hostile names and signatures excluded while vetting; and how to read a pack back
(the zip's PDF through poppler's pdftotext, its CSV through the csv module)."""

import csv
import io
import subprocess
import zipfile
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from campaign.drafting import draft_letter
from campaign.models import DeliveryMode, Letter, LetterStatus, Signature
from tests.factories import CampaignFactory, LetterTemplateFactory, OfficialFactory

OPENING = "We ask you to keep the Central Library open six days a week."
PERSONAL = "My grandmother learnt to read at the Central Library in 1956."
SCRIPTS = {
    "latin": "Ada Lovelace",
    "cyrillic": "Анна Ахматова",
    "greek": "Γιώργος Σεφέρης",
    "cjk": "王小明",
}
# As typed, and as the PDF must print them: as text, never interpreted; the
# bidi override (U+202E) dropped so it cannot reorder the row.
HOSTILE = {
    "<script>alert('x')</script>": "<script>alert('x')</script>",
    '=HYPERLINK("http://evil.example","Click")': (
        '=HYPERLINK("http://evil.example","Click")'
    ),
    "\u202eSmith Eve": "Smith Eve",
}
EXCLUDED_NAME = "Spam Bot"


@dataclass
class HandinCampaign:
    campaign: object
    officials: list
    included: list[str] = field(default_factory=list)  # names, in signing order
    excluded: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)


def handin_campaign_create(
    *, supporters: int = 500, slug: str = "save-the-library"
) -> HandinCampaign:
    """A campaign with `supporters` confirmed signatures (plus 5 excluded and 3
    pending ones), every 20th one with a personal letter."""
    template = LetterTemplateFactory(
        body_template="{{ official.salutation }},\n\n" + OPENING + "\n\n"
        "{{ signer.personal_paragraph }}\n\nYours sincerely,\n\n{{ signer.name }}\n"
        "{{ signer.town }}\n"
    )
    officials = [
        OfficialFactory(name="Alex Morgan", position="Prime Minister"),
        OfficialFactory(name="Sam Okafor", position="Home Secretary"),
    ]
    campaign = CampaignFactory(
        slug=slug, title="Save the Library", letter_template=template,
        targets=officials,
    )  # fmt: skip
    campaign.target_links.update(delivery_mode=DeliveryMode.HAND_IN)
    result = HandinCampaign(campaign=campaign, officials=officials)
    specials = [*SCRIPTS.values(), *HOSTILE]
    now = timezone.now()
    rows = []
    for n in range(supporters + 8):
        name = specials[n] if n < len(specials) else f"Supporter {n:04d}"
        excluded = supporters <= n < supporters + 5
        pending = n >= supporters + 5
        rows.append(
            Signature(
                campaign=campaign,
                full_name=f"{EXCLUDED_NAME} {n}" if excluded else name,
                email=f"s{n}@example.com",
                email_normalised=f"s{n}@example.com",
                postcode="SW1A 1AA",
                town="Leeds" if n % 2 else "",
                personal_paragraph=PERSONAL if n % 20 == 7 else "",
                consent_to_send=True,
                status="pending" if pending else "confirmed",
                confirmed_at=None if pending else now,
                handin_excluded_at=now if excluded else None,
                handin_exclusion_reason="fake name" if excluded else "",
            )
        )  # fmt: skip
    signatures = Signature.objects.bulk_create(rows)
    letters = []
    for signature in signatures:
        if signature.status != Signature.Status.CONFIRMED:
            continue
        if signature.handin_excluded_at:
            result.excluded.append(signature.full_name)
        else:
            result.included.append(
                HOSTILE.get(signature.full_name, signature.full_name)
            )
            if signature.personal_paragraph:
                result.personal.append(signature.full_name)
        for official in officials:
            letter = draft_letter(
                campaign=campaign, official=official, signer=signature
            )
            own = 40 if signature.personal_paragraph else 0
            letters.append(
                Letter(
                    signature=signature, official=official, subject=letter.subject,
                    body=letter.body, own_words=own, status=LetterStatus.HELD,
                )
            )  # fmt: skip
    Letter.objects.bulk_create(letters)
    return result


@pytest.fixture
def handin(db):
    return handin_campaign_create()


@dataclass
class Pack:
    pdf_text: str
    csv_rows: list[list[str]]
    names: list[str]  # the zip's file names


def pack_read(data: bytes, tmp_path) -> Pack:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pdf = archive.read(next(n for n in names if n.endswith(".pdf")))
        text = archive.read(next(n for n in names if n.endswith(".csv"))).decode()
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    extracted = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout.decode()  # fmt: skip
    return Pack(
        pdf_text=extracted, csv_rows=list(csv.reader(io.StringIO(text))), names=names
    )
