"""Staff-only URLs of hand-in packs: the download (never a public file: packs live
under MEDIA_ROOT, which nothing serves) and the progress the admin page polls.
Permission and parsing only: building is campaign/services/handin.py."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.cache import never_cache

from .models import HandinPack


def can_use_packs(user) -> bool:
    """Staff who may view hand-in packs: the pack lists every supporter's name."""
    return bool(
        user.is_active and user.is_staff and user.has_perm("campaign.view_handinpack")
    )


def _pack_or_403(request, pk: int) -> HandinPack:
    # Permission before the lookup: outsiders can't probe which packs exist.
    if not can_use_packs(request.user):
        raise PermissionDenied
    return get_object_or_404(HandinPack, pk=pk)


def pack_progress(pack: HandinPack) -> dict:
    """What the admin page shows, and polls for while the pack is built."""
    done = pack.status == HandinPack.Status.DONE
    return {
        "status": pack.status,
        "status_label": pack.get_status_display(),
        "percent": pack.percent,
        "rows_done": pack.rows_done,
        "rows_total": pack.rows_total,
        "finished": pack.status in (HandinPack.Status.DONE, HandinPack.Status.FAILED),
        "error": pack.error,
        "size": filesizeformat(pack.size) if done else "",
        "download_url": reverse("campaign:handin_download", args=[pack.pk])
        if done
        else "",
    }


@login_required
@never_cache
def handin_progress(request, pk: int):
    return JsonResponse(pack_progress(_pack_or_403(request, pk)))


@login_required
@never_cache
def handin_download(request, pk: int):
    pack = _pack_or_403(request, pk)
    if pack.status != HandinPack.Status.DONE or not pack.file:
        raise Http404("This pack is not ready.")
    try:
        handle = pack.file.open("rb")
    except FileNotFoundError:
        raise Http404("This pack's file is missing; build a new one.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=pack.file.name.rsplit("/", 1)[-1],
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"  # personal data: no shared caches
    return response
