"""The supporter's journey: list → campaign (draft, preview, sign) → check your
inbox → confirm → thank you. Views parse input, call one service, pick a page."""

import re

from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from letters.rendering import TemplateError

from . import selectors
from .drafting import draft_letter
from .forms import SignForm
from .models import Campaign, Signature
from .services.signing import (
    CampaignNotSignable,
    ConfirmationTokenExpired,
    ConfirmationTokenUnknown,
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


def _letter_previews(*, campaign, targets, form) -> dict:
    """Each target's letter exactly as it would be sent, from what the form holds
    so far; one rendering shared by the page and the live-preview fragment."""
    if form.is_bound and "letter_body" in form.errors:
        return {"letters": [], "problem": "form"}
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
            for official in targets
        ]
    except TemplateError:  # a broken campaign template: say so, don't crash
        return {"letters": [], "problem": "campaign"}
    return {"letters": letters, "problem": "", "is_draft": signer is None}


def _campaign_page(request, campaign, *, form=None, status=200):
    targets = selectors.campaign_targets(campaign=campaign)
    now = timezone.now()
    signable = campaign.is_signable(now=now) and bool(targets)
    if signable and form is None:
        form = SignForm(campaign=campaign)
    context = {
        "campaign": campaign,
        "targets": targets,
        "count": selectors.signature_count(campaign_id=campaign.pk),
        "signable": signable,
        "closed": campaign.status == Campaign.Status.CLOSED
        or (campaign.closes_at is not None and now >= campaign.closes_at),
        "not_yet_open": campaign.opens_at is not None and now < campaign.opens_at,
        "form": form if signable else None,
        "preview": _letter_previews(
            campaign=campaign, targets=targets, form=form or SignForm(campaign=campaign)
        ),
    }
    return TemplateResponse(request, "campaign/detail.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def campaign_detail(request, slug: str):
    campaign = get_object_or_404(selectors.campaigns_public(), slug=slug)
    if request.method != "POST":
        return _campaign_page(request, campaign)
    if not campaign.is_signable():
        return _campaign_page(request, campaign, status=403)

    form = SignForm(request.POST, campaign=campaign)
    if "preview" in request.POST:
        # Without JavaScript, "Preview" re-renders the page with the letter drafted
        # from what was typed; nothing is stored.
        form.is_valid()
        form.drop_required_errors()
        return _campaign_page(request, campaign, form=form)
    if not form.is_valid():
        return _campaign_page(request, campaign, form=form)
    try:
        campaign_sign(campaign=campaign, **form.cleaned_data)
    except CampaignNotSignable:  # closed between page load and submit
        return _campaign_page(request, campaign, status=403)
    # PRG, and the same redirect for a first signing and a repeat: no probing.
    return redirect("campaign:signed", slug=campaign.slug)


@require_POST
def campaign_preview(request, slug: str):
    """The live preview's HTML fragment, rendered by the same code as the page."""
    campaign = get_object_or_404(selectors.campaigns_public(), slug=slug)
    form = SignForm(request.POST, campaign=campaign)
    form.is_valid()
    targets = selectors.campaign_targets(campaign=campaign)
    context = {
        "campaign": campaign,
        "preview": _letter_previews(campaign=campaign, targets=targets, form=form),
    }
    return render(request, "campaign/_preview.html", context)


def campaign_signed(request, slug: str):
    campaign = get_object_or_404(selectors.campaigns_public(), slug=slug)
    context = {
        "campaign": campaign,
        "max_age_days": settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS,
    }
    return render(request, "campaign/signed.html", context)


def _confirm_problem(request, template: str, *, signature=None, status: int):
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
        return _confirm_problem(request, "campaign/confirm_unknown.html", status=404)
    if request.method == "POST":
        try:
            signature = signature_confirm(token=token)
        except ConfirmationTokenUnknown:
            return _confirm_problem(
                request, "campaign/confirm_unknown.html", status=404
            )
        except ConfirmationTokenExpired as exc:
            return _confirm_problem(
                request,
                "campaign/confirm_expired.html",
                signature=exc.signature,
                status=410,
            )
        except CampaignNotSignable:
            signature = selectors.signature_for_token(token=token)
            return _confirm_problem(
                request, "campaign/confirm_closed.html", signature=signature, status=410
            )
        return _thank_you(request, signature)

    signature = selectors.signature_for_token(token=token)
    if signature is None:
        return _confirm_problem(request, "campaign/confirm_unknown.html", status=404)
    if signature.status == Signature.Status.CONFIRMED:
        return _thank_you(request, signature)
    if signature.token_expired():
        return _confirm_problem(
            request, "campaign/confirm_expired.html", signature=signature, status=410
        )
    if not signature.campaign.is_signable():
        return _confirm_problem(
            request, "campaign/confirm_closed.html", signature=signature, status=410
        )
    targets = selectors.campaign_targets(campaign=signature.campaign)
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
        "targets": selectors.campaign_targets(campaign=campaign),
        "share_url": settings.SITE_URL
        + reverse("campaign:detail", args=[campaign.slug]),
    }
    return render(request, "campaign/thank_you.html", context)
