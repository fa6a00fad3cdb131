"""Consent wordings (add-only: past wording is never rewritten) and the erasure
audit trail (read-only)."""

from django.contrib import admin

from ..models import ConsentText, ErasureRecord
from ..services.privacy import consent_text_create


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["version", "created_at", "text"]
    readonly_fields = ["version", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a signature points at the wording it was shown

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        created = consent_text_create(text=form.cleaned_data["text"])
        obj.pk, obj.version, obj.created_at = (
            created.pk,
            created.version,
            created.created_at,
        )


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    list_display = ["erased_at", "erased_by", "signatures", "campaigns"]
    readonly_fields = ["erased_at", "erased_by", "signatures", "campaigns"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
