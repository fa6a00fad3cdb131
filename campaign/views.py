"""The supporter's journey: list → campaign (draft, preview, sign) → check your
inbox → confirm → thank you. Views parse input, call one service, pick a page."""

import re

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST

from config.client_ip import client_ip

from . import bot_traps, limits, page_cache, privacy, replies, selectors, sources
from .forms import SignForm
from .limits import Refusal
from .models import Campaign, Signature
from .previews import letter_previews
from .selectors import ConfirmationState, SigningState
from .services.signing import (
    CampaignNotSignable,
    ConfirmationRefused,
    campaign_sign,
    signature_confirm,
)

# Tokens are secrets.token_urlsafe(32): 43 URL-safe characters. Anything else is
# answered without touching the database.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def campaign_list(request):
    campaigns = list(selectors.campaigns_open())
    counts = selectors.signature_counts(campaign_ids=[c.pk for c in campaigns])
    rows = [(campaign, counts[campaign.pk]) for campaign in campaigns]
    return render(request, "campaign/list.html", {"rows": rows})


def _campaign_page(
    request, campaign, *, targets, state, form=None, status=200, version=None
):
    """The campaign page, rendered with its per-response values as slots
    (page_cache.py), stored for the next visitors when `version` is given, and
    filled in for this one."""
    signable = state is SigningState.OPEN
    nonce, slots = page_cache.new_slots()
    if signable and form is None:
        # Where this visitor came from goes into slots too (page_cache.fill).
        form = SignForm(campaign=campaign, initial=page_cache.source_slots(slots))
    context = {
        "campaign": campaign,
        "targets": targets,
        "state": state,
        "form": form if signable else None,
        # In place of the CSRF context processor's: this visitor's goes in the slot.
        "csrf_token": slots["csrf_token"],
        "slots": slots,
        "bot_traps": bot_traps.form_context(stamp=slots["stamp"]) if signable else None,
        "preview": letter_previews(
            campaign=campaign,
            targets=targets,
            form=form or SignForm(campaign=campaign),
            nudge=signable,
        ),
        "replies_reported": replies.replies_reported(
            campaign_id=campaign.pk, targets=targets
        ),
    }
    html = render_to_string("campaign/detail.html", context, request)
    skeleton = page_cache.Skeleton(html, nonce, campaign, status)
    if version is not None:
        page_cache.store(
            slug=campaign.slug, skeleton=skeleton, version=version, targets=targets
        )
    count = selectors.signature_count(campaign_id=campaign.pk)
    return page_cache.fill(request, skeleton, count=count)


def _page_again(request, campaign, *, form: SignForm, status=200):
    """The page for a POST that signs nothing (errors, preview, refusal): 403
    without the form if the campaign cannot be signed now."""
    targets = selectors.campaign_targets(campaign=campaign)
    state = selectors.campaign_signing_state(campaign=campaign, targets=targets)
    if state is not SigningState.OPEN:
        return _campaign_page(
            request, campaign, targets=targets, state=state, status=403
        )
    page = {"targets": targets, "state": state}
    return _campaign_page(request, campaign, **page, form=form, status=status)


def _refused(request, campaign, *, form: SignForm, refusal: Refusal):
    """The page again, with what was typed and why it was not taken."""
    form.add_error(None, refusal.message)
    response = _page_again(request, campaign, form=form, status=refusal.status)
    if response.status_code == refusal.status:
        for name, value in refusal.headers.items():
            response[name] = value
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def campaign_detail(request, slug: str):
    if request.method != "POST":
        return _campaign_view(request, slug)
    # The campaign and its targets as the current cached page has them (no
    # query), else from the database.
    cached = page_cache.campaign_with_targets(slug=slug)
    if cached is None:
        campaign, targets = (
            get_object_or_404(selectors.campaigns_public(), slug=slug),
            None,
        )
    else:
        campaign, targets = cached
    form = SignForm(request.POST, campaign=campaign)
    if "preview" in request.POST:
        # Without JavaScript, "Preview" re-renders the page with the letter drafted
        # from what was typed; nothing is stored.
        form.is_valid()
        form.drop_required_errors()
        if refusal := limits.preview_refusal(request):
            return _refused(request, campaign, form=form, refusal=refusal)
        return _page_again(request, campaign, form=form)
    if bot_traps.caught(request.POST):
        return _refused(request, campaign, form=form, refusal=bot_traps.REFUSAL)
    if not form.is_valid():
        return _page_again(request, campaign, form=form)
    if refusal := limits.sign_refusal(request, campaign=campaign):
        return _refused(request, campaign, form=form, refusal=refusal)
    # Nothing is rendered on the way to the redirect: campaign_sign() checks the
    # campaign can be signed (with the cached targets, or one query).
    try:
        campaign_sign(
            campaign=campaign,
            targets=targets,
            **form.cleaned_data,
            consent_text=form.consent,
            client_ip_hash=privacy.client_ip_hash(client_ip(request)),
        )
    except CampaignNotSignable as exc:  # closed, or closed since the page loaded
        targets = selectors.campaign_targets(campaign=campaign)
        return _campaign_page(
            request, campaign, targets=targets, state=exc.state, status=403
        )
    # PRG, and the same redirect for a first signing and a repeat: no probing.
    return redirect("campaign:signed", slug=campaign.slug)


def _campaign_view(request, slug: str):
    """GET and HEAD: from the cache when the visitor is anonymous."""
    cacheable = page_cache.servable(request)
    if cacheable and (response := page_cache.cached_response(request, slug=slug)):
        return response
    campaign = get_object_or_404(selectors.campaigns_public(), slug=slug)
    version = page_cache.current_version(campaign_id=campaign.pk) if cacheable else None
    targets = selectors.campaign_targets(campaign=campaign)
    state = selectors.campaign_signing_state(campaign=campaign, targets=targets)
    return _campaign_page(
        request, campaign, targets=targets, state=state, version=version
    )


@require_POST
def campaign_preview(request, slug: str):
    """The live preview's HTML fragment, rendered by the same code as the page."""
    if refusal := limits.preview_refusal(request):
        # site.js keeps the last preview on any error status.
        return HttpResponse(
            refusal.message, status=refusal.status, headers=refusal.headers
        )
    campaign = get_object_or_404(selectors.campaigns_public(), slug=slug)
    form = SignForm(request.POST, campaign=campaign)
    form.is_valid()
    targets = selectors.campaign_targets(campaign=campaign)
    context = {
        "campaign": campaign,
        "preview": letter_previews(campaign=campaign, targets=targets, form=form),
    }
    return render(request, "campaign/_preview.html", context)


def campaign_signed(request, slug: str):
    campaign = get_object_or_404(selectors.campaigns_public(), slug=slug)
    context = {
        "campaign": campaign,
        "max_age_days": settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS,
    }
    return render(request, "campaign/signed.html", context)


# The page (and status) for each reason a confirmation link cannot confirm.
_CONFIRM_PROBLEMS = {
    ConfirmationState.UNKNOWN: ("campaign/confirm_unknown.html", 404),
    ConfirmationState.EXPIRED: ("campaign/confirm_expired.html", 410),
    ConfirmationState.CLOSED: ("campaign/confirm_closed.html", 410),
    # Not gone: the same link works once the campaign takes signatures again.
    ConfirmationState.PAUSED: ("campaign/confirm_paused.html", 409),
}


def _confirm_problem(request, state: ConfirmationState, *, signature=None):
    template, status = _CONFIRM_PROBLEMS[state]
    context = {
        "signature": signature,
        "max_age_days": settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS,
    }
    return render(request, template, context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def signature_confirm_view(request, token: str):
    """GET only shows a button: mail scanners fetch every link in an email, and
    a GET that confirmed would send letters nobody asked for. POST confirms."""
    if not _TOKEN_RE.match(token):
        return _confirm_problem(request, ConfirmationState.UNKNOWN)
    if request.method == "POST":
        try:
            signature = signature_confirm(token=token)
        except ConfirmationRefused as exc:
            return _confirm_problem(request, exc.state, signature=exc.signature)
        return _thank_you(request, signature)

    signature = selectors.signature_for_token(token=token)
    state = selectors.confirmation_state(signature=signature)
    if state is ConfirmationState.CONFIRMED:
        return _thank_you(request, signature)
    if state is not ConfirmationState.PENDING:
        return _confirm_problem(request, state, signature=signature)
    targets = selectors.signature_officials(signature=signature)
    return render(
        request,
        "campaign/confirm.html",
        {"signature": signature, "campaign": signature.campaign, "targets": targets},
    )


def _thank_you(request, signature: Signature):
    campaign: Campaign = signature.campaign
    context = {
        "signature": signature,
        "campaign": campaign,
        "count": selectors.signature_count(campaign_id=campaign.pk),
        "targets": selectors.signature_officials(signature=signature),
        "share_urls": sources.share_urls(campaign=campaign),
    }
    return render(request, "campaign/thank_you.html", context)
