"""The unsubscribe link every campaign update carries (List-Unsubscribe and the
footer).

- POST with the body `List-Unsubscribe=One-Click` (RFC 8058): what mail
  providers send when the reader presses their "Unsubscribe" button. It acts at
  once and answers 200, without a CSRF token, a cookie or a login, none of which
  the provider has.
- GET: a page with a button, and changes nothing (mail scanners open links).
- POST from that page's button: the same, optionally for every campaign.

Exempt from CSRF on purpose: the signed token in the URL is what authorises it
(campaign/update_text.py), and a forged request would need that token, which
only the supporter's mailbox holds.
"""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Signature
from .services.updates import signature_unsubscribe
from .update_text import unsubscribe_signature_id


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_view(request, token: str):
    signature_id = unsubscribe_signature_id(token=token)
    signature = (
        Signature.objects.select_related("campaign").filter(pk=signature_id).first()
        if signature_id is not None
        else None
    )
    if signature is None:  # forged, mangled, or erased since
        return render(request, "campaign/unsubscribe_unknown.html", status=404)
    context = {"campaign": signature.campaign, "token": token}
    if request.method == "POST":
        everywhere = request.POST.get("scope") == "all"
        signature_unsubscribe(signature_id=signature.pk, all_campaigns=everywhere)
        return render(
            request,
            "campaign/unsubscribed.html",
            {**context, "everywhere": everywhere},
        )
    return render(request, "campaign/unsubscribe.html", context)
