"""What the campaign page's letter preview shows, from what the sign form holds
so far: one rendering shared by the page (and its "Preview my letter" without
JavaScript) and the live-preview fragment site.js fetches."""

from django.conf import settings

from letters.rendering import TemplateError

from .drafting import draft_letter
from .own_words_nudge import own_words_nudges


def _recipients(*, targets, form) -> list:
    """Whom the preview drafts a letter for: the targets and, in a campaign by
    postcode, the supporter's representative once their postcode found one
    (None until then: a letter with the official's placeholders)."""
    if form.targeting is None:
        return list(targets)
    representative = form.representative()
    if representative is None:
        return [*targets, None]
    return [*targets, *([] if representative in targets else [representative])]


def letter_previews(*, campaign, targets, form, nudge: bool = True) -> dict:
    """Each target's letter exactly as it would be sent, from what the form holds
    so far; one rendering shared by the page and the live-preview fragment.
    `nudge`: say what own words would change (not once signing has closed)."""
    found = form.signer_area
    by_postcode = {
        "by_postcode": form.targeting is not None,
        "representative": form.representative(),
        "choose_areas": found.found.areas
        if found and len(found.found.areas) > 1
        else [],
        "chosen_area": str(form.data.get("area", "")) if form.is_bound else "",
        "postcode_problem": found.problem if found else "",
        "postcode_problem_code": found.code if found else "",
    }
    if form.is_bound and "letter_body" in form.errors:
        return {"letters": [], "problem": "form", **by_postcode}
    signer = form.preview_signer()
    body_template = form.preview_body_template()
    try:
        letters = [
            (
                official,
                draft_letter(
                    campaign=campaign,
                    official=official,
                    signer=signer,
                    body_template=body_template,
                ),
            )
            for official in _recipients(targets=targets, form=form)
        ]
    except TemplateError:  # a broken campaign template: say so, don't crash
        return {"letters": [], "problem": "campaign", **by_postcode}
    return {
        "letters": letters,
        "problem": "",
        "is_draft": signer is None,
        "personal_min_words": settings.PERSONAL_LETTER_MIN_WORDS,
        "nudges": own_words_nudges(
            campaign=campaign,
            fields=list(form.fields) if nudge else [],
            signer=signer,
            body_template=body_template,
            letters=[(o, letter) for o, letter in letters if o is not None],
        ),
        **by_postcode,
    }
