"""Vetting signatures before a hand-in: the "looks fake" and "hand-in" filters and
the exclude/include actions of the signatures' changelist."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from ..services.vetting import (
    REASON_MAX_LENGTH,
    signatures_exclude_from_handin,
    signatures_include_in_handin,
)
from ..validators import validate_single_line
from ..vetting import Suspicion, signatures_looking_fake


class LooksFakeFilter(admin.SimpleListFilter):
    title = "looks fake"
    parameter_name = "looks_fake"

    def lookups(self, request, model_admin):
        return Suspicion.CHOICES

    def queryset(self, request, queryset):
        if self.value() in dict(Suspicion.CHOICES):
            return signatures_looking_fake(queryset, suspicion=self.value())
        return queryset


class HandinFilter(admin.SimpleListFilter):
    title = "hand-in"
    parameter_name = "handin"

    def lookups(self, request, model_admin):
        return [("in", "Included"), ("excluded", "Excluded")]

    def queryset(self, request, queryset):
        if self.value() in ("in", "excluded"):
            excluded = self.value() == "excluded"
            return queryset.filter(handin_excluded_at__isnull=not excluded)
        return queryset


class ExclusionForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        validators=[validate_single_line],
        help_text="Shown beside each signature in the admin, e.g. “fake name”.",
    )


class VettingActions:
    """Mixed into SignatureAdmin."""

    @admin.action(description="Exclude from hand-in…", permissions=["change"])
    def exclude_from_handin(self, request, queryset):
        # "Select all N" posts back as select_across with the changelist's
        # filters in the URL, not N ids (more than DATA_UPLOAD_MAX_NUMBER_FIELDS);
        # the admin still wants one id ticked to run an action at all.
        select_across = request.POST.get("select_across") == "1"
        ids = list(queryset.values_list("pk", flat=True))
        form = ExclusionForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            try:
                n = signatures_exclude_from_handin(
                    signature_ids=ids, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                form.add_error("reason", exc)
            else:
                self.message_user(
                    request,
                    f"{n} signature(s) excluded from the hand-in pack (they still "
                    "count on the site).",
                    messages.SUCCESS,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Exclude from the hand-in",
            "opts": self.model._meta,
            "form": form,
            "selected": ids[:1] if select_across else ids,
            "count": len(ids),
            "select_across": select_across,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/campaign/signature/exclude_from_handin.html", context
        )

    @admin.action(description="Include in hand-in again", permissions=["change"])
    def include_in_handin(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        n = signatures_include_in_handin(signature_ids=ids)
        self.message_user(request, f"{n} signature(s) back in the hand-in pack.")
