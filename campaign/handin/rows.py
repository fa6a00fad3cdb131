"""What a hand-in pack holds, read for the PDF and the CSV alike: every confirmed
supporter who wrote to the official (to any of the campaign's officials, for a
campaign-wide pack), less those an organiser excluded while vetting.

Rows stream from server-side cursors: the caller reads them inside one
REPEATABLE READ transaction (archive.py), so the cover's count, the personal
letters, the table and the CSV all describe the same moment however long the
build takes and however many people sign meanwhile.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from letters.rendering import RenderedLetter

from ..areas import area_target
from ..drafting import draft_letter
from ..models import Campaign, CampaignTarget, Letter, LetterStatus, Official, Signature
from ..postcodes import postcode_district

# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069):
# one in a name would reorder the rest of its line in a PDF viewer's text, a
# spreadsheet or a text editor. Dropped from everything the pack prints; the
# letters themselves show (left to right) what the supporter typed.
BIDI_CONTROLS = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_DROP_BIDI = str.maketrans("", "", BIDI_CONTROLS)

CURSOR_ROWS = 2_000  # rows per FETCH: see exports.CHUNK_ROWS


def printable(text: str) -> str:
    return text.translate(_DROP_BIDI)


@dataclass(frozen=True)
class SupporterRow:
    number: int
    name: str
    town: str
    district: str
    signed_on: str  # YYYY-MM-DD, site time zone


@dataclass(frozen=True)
class PersonalLetter:
    name: str
    town: str
    body: str


@dataclass(frozen=True)
class PackFacts:
    """The cover's facts and the letter as each official receives it."""

    campaign: Campaign
    letters: list[tuple[Official, RenderedLetter]]
    supporters: int
    excluded: int
    personal: int
    first_signed: date | None
    last_signed: date | None


def pack_officials(*, campaign: Campaign) -> QuerySet[Official]:
    """Who a pack can be handed to: the campaign's fixed officials and, in a
    campaign by postcode, every confirmed supporter's representative."""
    representatives = Signature.objects.filter(
        campaign=campaign,
        status=Signature.Status.CONFIRMED,
        representative__isnull=False,
    ).values("representative_id")
    fixed = CampaignTarget.objects.filter(campaign=campaign).values("official_id")
    return Official.objects.filter(Q(pk__in=fixed) | Q(pk__in=representatives))


def targets_for(*, campaign: Campaign, official: Official | None) -> list:
    """How each of the pack's officials is written to: the campaign's fixed
    targets, and its representatives as letter creation writes to them (an
    unsaved target from the campaign's area setting, areas.area_target())."""
    fixed = CampaignTarget.objects.filter(campaign=campaign).select_related(
        "campaign__letter_template", "official"
    )
    officials = pack_officials(campaign=campaign).exclude(
        pk__in=fixed.values("official_id")
    )
    if official is not None:
        fixed = fixed.filter(official=official)
        officials = officials.filter(pk=official.pk)
    targets = list(fixed)
    for representative in officials:
        target = area_target(campaign=campaign, official=representative)
        if target is not None:
            targets.append(target)
    return sorted(targets, key=lambda t: (t.official.name, t.official.pk))


def signatures_writing(
    *, campaign: Campaign, official: Official | None
) -> QuerySet[Signature]:
    """Confirmed supporters whose letter went (or waits to go) to `official`, or
    every confirmed supporter of the campaign; vetting not applied yet."""
    signatures = Signature.objects.filter(
        campaign=campaign, status=Signature.Status.CONFIRMED
    )
    if official is not None:
        wrote = Letter.objects.filter(signature=OuterRef("pk"), official=official)
        signatures = signatures.filter(
            Exists(wrote.exclude(status=LetterStatus.CANCELLED))
        )
    return signatures


def pack_signatures(
    *, campaign: Campaign, official: Official | None
) -> QuerySet[Signature]:
    """The pack's supporters: those writing, less the excluded."""
    return signatures_writing(campaign=campaign, official=official).filter(
        handin_excluded_at__isnull=True
    )


def _personal_letters(*, campaign: Campaign, official: Official | None):
    letters = Letter.objects.filter(
        signature__in=pack_signatures(campaign=campaign, official=official),
        own_words__gte=settings.PERSONAL_LETTER_MIN_WORDS,
    ).exclude(status=LetterStatus.CANCELLED)
    if official is not None:
        letters = letters.filter(official=official)
    # Campaign-wide, a supporter has a letter per official: personal_letters()
    # prints the first (by the official's name) and skips the rest, which differ
    # only in the official's own merge fields.
    return letters.order_by(
        "signature__created_at", "signature_id", "official__name", "official_id"
    )


def letter_as_received(*, target: CampaignTarget) -> RenderedLetter:
    """The campaign's letter to the official, as each supporter sent it; the
    supporter's own fields left out (their names are listed after it)."""
    stand_in = Signature(full_name="[each supporter's name]", postcode="", town="")
    return draft_letter(
        campaign=target.campaign, official=target.official, signer=stand_in
    )


def pack_facts(*, campaign: Campaign, official: Official | None) -> PackFacts:
    writing = signatures_writing(campaign=campaign, official=official)
    included = writing.filter(handin_excluded_at__isnull=True)
    span = included.aggregate(first=Min("created_at"), last=Max("created_at"))
    return PackFacts(
        campaign=campaign,
        letters=[
            (target.official, letter_as_received(target=target))
            for target in targets_for(campaign=campaign, official=official)
        ],
        supporters=included.count(),
        excluded=writing.filter(handin_excluded_at__isnull=False).count(),
        personal=_personal_letters(campaign=campaign, official=official)
        .order_by()  # else DISTINCT would also be over the ordering's columns
        .values("signature_id")
        .distinct()
        .count(),
        first_signed=span["first"] and timezone.localdate(span["first"]),
        last_signed=span["last"] and timezone.localdate(span["last"]),
    )


def personal_letters(
    *, campaign: Campaign, official: Official | None
) -> Iterator[PersonalLetter]:
    """Supporters who wrote their own words (PERSONAL_LETTER_MIN_WORDS or more),
    each letter in full as the official receives it, in order of signing."""
    rows = _personal_letters(campaign=campaign, official=official).values_list(
        "signature_id", "signature__full_name", "signature__town", "body"
    )
    last = None
    for signature_id, name, town, body in rows.iterator(chunk_size=200):
        if signature_id != last:  # bodies are up to 20 kB: 200 rows a fetch
            yield PersonalLetter(name=printable(name), town=printable(town), body=body)
        last = signature_id


def supporter_rows(
    *, campaign: Campaign, official: Official | None
) -> Iterator[SupporterRow]:
    """The numbered list, in order of signing: the postcode's district only,
    the day of signing in the site's time zone."""
    rows = (
        pack_signatures(campaign=campaign, official=official)
        .order_by("created_at", "pk")
        .values_list("full_name", "town", "postcode", "created_at")
    )
    for number, (name, town, postcode, created_at) in enumerate(
        rows.iterator(chunk_size=CURSOR_ROWS), start=1
    ):
        yield SupporterRow(
            number=number,
            name=printable(name),
            town=printable(town),
            district=postcode_district(postcode),
            signed_on=timezone.localdate(created_at).isoformat(),
        )
