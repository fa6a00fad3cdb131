"""Hand-in packs in the admin: the "Build hand-in pack" page of a campaign, the
list of packs (date, size, who built them), each pack's progress while it is
built, its download link, and deletion with its file."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from ..handin.rows import pack_officials
from ..handin_views import can_use_packs, pack_progress
from ..models import Campaign, HandinPack, Official, Signature
from ..services.handin import handin_pack_delete, handin_pack_request


@admin.register(HandinPack)
class HandinPackAdmin(admin.ModelAdmin):
    list_display = [
        "campaign",
        "official",
        "status",
        "progress",
        "supporters",
        "excluded",
        "file_size",
        "built_by",
        "created_at",
        "download",
    ]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign", "official", "built_by"]
    fields = [
        "campaign",
        "official",
        "progress",
        "download",
        "supporters",
        "excluded",
        "file_size",
        "attempts",
        "error",
        "built_by",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields

    class Media:
        js = ["js/handin_progress.js"]

    def has_add_permission(self, request) -> bool:
        return False  # built from the campaign's page ("Build hand-in pack")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a pack is what it was built as: build a new one

    def delete_model(self, request, obj) -> None:
        handin_pack_delete(pack=obj)

    def delete_queryset(self, request, queryset) -> None:
        for pack in queryset:
            handin_pack_delete(pack=pack)

    @admin.display(description="progress")
    def progress(self, obj) -> str:
        state = pack_progress(obj)
        url = reverse("campaign:handin_progress", args=[obj.pk])
        change = reverse("admin:campaign_handinpack_change", args=[obj.pk])
        return format_html(
            '<span class="handin-progress" data-url="{}">'
            '<progress max="100" value="{}">{}%</progress> '
            "<span data-progress-text>{}</span> "
            '<a href="{}" data-progress-refresh{}>Refresh</a></span>',
            url,
            state["percent"],
            state["percent"],
            _progress_text(state),
            change,
            " hidden" if state["finished"] else "",
        )

    @admin.display(description="size")
    def file_size(self, obj) -> str:
        return filesizeformat(obj.size) if obj.size else "–"

    @admin.display(description="download")
    def download(self, obj) -> str:
        state = pack_progress(obj)
        return format_html(
            '<a href="{}" data-progress-download{}>Download the zip{}</a>',
            state["download_url"] or "#",
            "" if state["download_url"] else " hidden",
            f" ({state['size']})" if state["size"] else "",
        )


def _progress_text(state: dict) -> str:
    # Mirrored by static/js/handin_progress.js, which updates it while building.
    text = f"{state['status_label']}: {state['percent']}%"
    if state["rows_total"]:
        text += f" ({state['rows_done']:,} of {state['rows_total']:,} rows)"
    return f"{text}. {state['error']}" if state["error"] else text


class BuildForm(forms.Form):
    official = forms.ModelChoiceField(
        queryset=Official.objects.none(),
        required=False,
        empty_label="All officials (every supporter of the campaign)",
        help_text="Only this official's supporters and their letter.",
    )

    def __init__(self, *args, campaign: Campaign, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Its fixed officials and, by postcode, its supporters' representatives.
        self.fields["official"].queryset = pack_officials(campaign=campaign).order_by(
            "name", "pk"
        )


def handin_build_view(model_admin, request, pk: int):
    """The campaign's "Build hand-in pack" page: a GET shows the form, a POST
    queues the pack and goes to its page (progress, then the download)."""
    if not (
        can_use_packs(request.user) and request.user.has_perm("campaign.add_handinpack")
    ):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    form = BuildForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        pack = handin_pack_request(
            campaign=campaign, official=form.cleaned_data["official"], user=request.user
        )
        return redirect("admin:campaign_handinpack_change", pack.pk)
    signatures = reverse("admin:campaign_signature_changelist")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Build a hand-in pack: {campaign}",
        "opts": Campaign._meta,
        "original": campaign,
        "form": form,
        "excluded": Signature.objects.filter(
            campaign=campaign, handin_excluded_at__isnull=False
        ).count(),
        "excluded_url": f"{signatures}?campaign__id__exact={pk}&handin=excluded",
        "fake_url": f"{signatures}?campaign__id__exact={pk}&looks_fake=any&handin=in",
        "packs": HandinPack.objects.filter(campaign=campaign).select_related(
            "official", "built_by"
        )[:20],
    }
    return TemplateResponse(request, "admin/campaign/campaign/handin.html", context)
