"""The official's page and its CSV: no login, an unguessable link instead
(campaign/official_pages.py). Never indexed, never kept by shared caches."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from . import official_pages
from .exports import csv_response

SUPPORTERS_PER_PAGE = 100
PERSONAL_LETTERS_PER_PAGE = 20


def _target_or_404(token: str):
    target = official_pages.target_for_token(token=token)
    if target is None:
        raise Http404("This link is not valid (any more).")
    return target


def _private(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
def official_page(request, token: str):
    target = _target_or_404(token)
    letters = official_pages.supporter_letters(target=target).select_related(
        "signature"
    )
    min_words = settings.PERSONAL_LETTER_MIN_WORDS
    supporters = Paginator(letters, SUPPORTERS_PER_PAGE)
    personal = Paginator(
        letters.filter(own_words__gte=min_words), PERSONAL_LETTERS_PER_PAGE
    )
    context = {
        "target": target,
        "campaign": target.campaign,
        "official": target.official,
        "letter": official_pages.standard_letter(target=target),
        "count": supporters.count,
        "supporters": supporters.get_page(request.GET.get("page")),
        "personal": personal.get_page(request.GET.get("personal_page")),
        "personal_min_words": min_words,
        "token": token,
    }
    return _private(render(request, "campaign/official_page.html", context))


@never_cache
def official_supporters_csv(request, token: str):
    target = _target_or_404(token)
    filename = f"{target.campaign.slug}-supporters.csv"
    chunks = official_pages.supporters_csv_chunks(target=target)
    return _private(csv_response(chunks=chunks, filename=filename))
