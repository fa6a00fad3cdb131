"""A confirmed signature's letters: one per official it writes to, rendered once
and stored exactly as they will be sent (signing.py calls this on confirmation)."""

from campaign import selectors
from campaign.drafting import draft_letter, letter_own_words
from campaign.models import Letter, Signature
from campaign.services.routing import letter_status_for


def letters_create_for(*, signature: Signature) -> list[Letter]:
    """One Letter per active target official, and to the supporter's
    representative in a campaign by postcode, that does not have one yet, with
    the text rendered now (what is stored is exactly what is sent), its own words
    measured and its route set by the target's delivery mode (the campaign's
    area setting for the representative)."""
    campaign = signature.campaign
    recipients = [
        (target.official, target.delivery_mode)
        for target in campaign.target_links.filter(official__is_active=True)
        .exclude(official__letters__signature=signature)
        .select_related("official")
        .order_by("official_id")
    ]
    # A campaign by postcode (no query for the others: no representative_id).
    representative = signature.representative
    targeting = representative and selectors.area_targeting(campaign=campaign)
    if (
        targeting is not None
        and representative is not None
        and representative.is_active
        and all(official.pk != representative.pk for official, _ in recipients)
        and not signature.letters.filter(official=representative).exists()
    ):
        recipients.append((representative, targeting.delivery_mode))
    letters = []
    for official, mode in recipients:
        rendered = draft_letter(
            campaign=campaign,
            official=official,
            signer=signature,
            body_template=signature.letter_body or None,
        )
        own_words = letter_own_words(
            campaign=campaign,
            official=official,
            signer=signature,
            letter=rendered,
            edited=bool(signature.letter_body),
        )
        letters.append(
            Letter(
                signature=signature,
                official=official,
                subject=rendered.subject[:255],
                body=rendered.body,
                own_words=own_words,
                status=letter_status_for(
                    mode=mode,
                    own_words=own_words,
                    failing=official.failing_since is not None,
                ),
            )
        )
    return Letter.objects.bulk_create(letters)
