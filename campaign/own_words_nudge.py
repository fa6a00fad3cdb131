"""The campaign page's nudge to write in one's own words: how many words of the
letter are the supporter's own, and what that means for each official under
their delivery mode (campaign/services/routing.py decides; this only says it).

Computed with the letter preview (the page's own first rendering, the live
preview fragment and the no-JavaScript "Preview my letter" POST), so a cached
campaign page stays the same for everyone: before anything is typed, no one
has words of their own."""

from dataclasses import dataclass

from django.conf import settings

from letters.rendering import RenderedLetter

from .drafting import letter_own_words
from .models import Campaign, DeliveryMode, Official, Signature
from .services.routing import is_personal

# The form fields through which a supporter writes words of their own.
OWN_WORDS_FIELDS = ("personal_paragraph", "letter_body")


@dataclass(frozen=True)
class Nudge:
    official: Official
    own_words: int
    # More own words the letter needs to be emailed to this official on its
    # own; 0 when it already will be, or when the mode does not depend on it.
    words_to_go: int


def own_words_nudges(
    *,
    campaign: Campaign,
    fields: list[str],
    signer: Signature | None,
    body_template: str | None,
    letters: list[tuple[Official, RenderedLetter]],
) -> list[Nudge]:
    """One Nudge per official, or none where the form (`fields`) offers no way
    to write one's own words. `letters` are the preview's, drafted from
    `signer` (None: nothing typed yet) and `body_template` (None: unedited)."""
    if not set(OWN_WORDS_FIELDS) & set(fields):
        return []
    nudges = []
    for official, letter in letters:
        own_words = 0
        if signer is not None:
            own_words = letter_own_words(
                campaign=campaign,
                official=official,
                signer=signer,
                letter=letter,
                edited=body_template is not None,
            )
        to_go = 0
        if official.delivery_mode == DeliveryMode.PERSONAL_AND_DIGEST and not (
            is_personal(own_words=own_words)
        ):
            to_go = settings.PERSONAL_LETTER_MIN_WORDS - own_words
        nudges.append(Nudge(official=official, own_words=own_words, words_to_go=to_go))
    return nudges
