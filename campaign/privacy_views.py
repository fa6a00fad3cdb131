"""The privacy notice, and the "remove my signature" link from supporters' emails.

Like confirming, removing is a POST: mail scanners open every link in an email,
so a GET only shows what would happen and a button.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from . import privacy
from .models import Signature
from .services.anonymising import signature_withdraw


def privacy_notice(request):
    context = {
        "operator_name": settings.SITE_OPERATOR_NAME,
        "operator_contact": settings.SITE_OPERATOR_CONTACT,
        "pending_days": settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS,
        "retention_days": settings.SIGNER_DATA_RETENTION_DAYS,
        "consent": privacy.consent_text_current(),
    }
    return render(request, "campaign/privacy.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def signature_withdraw_view(request, token: str):
    signature_id = privacy.withdraw_signature_id(token=token)
    signature = (
        Signature.objects.select_related("campaign").filter(pk=signature_id).first()
        if signature_id is not None
        else None
    )
    if signature is None:  # forged, mangled, or an expired pending one deleted
        return render(request, "campaign/withdraw_unknown.html", status=404)
    if request.method == "POST":
        withdrawal = signature_withdraw(signature_id=signature.pk)
        return render(
            request,
            "campaign/withdrawn.html",
            {"campaign": signature.campaign, "withdrawal": withdrawal},
        )
    if signature.status == Signature.Status.WITHDRAWN:
        return render(
            request, "campaign/withdrawn.html", {"campaign": signature.campaign}
        )
    return render(
        request,
        "campaign/withdraw.html",
        {"campaign": signature.campaign, "signature": signature, "token": token},
    )
