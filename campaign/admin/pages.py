"""Admins whose rows a campaign page shows: saving or deleting one refreshes the
cached pages it appears on (services/pages.py), after the admin's commit."""


class RefreshesCampaignPages:
    """Mixed into a ModelAdmin (before it); `pages_invalidate` calls
    services.pages.campaign_pages_invalidate for the pages its rows appear on."""

    def pages_invalidate(self, pks: list[int]) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.pages_invalidate([obj.pk])

    def delete_model(self, request, obj):
        self.pages_invalidate([obj.pk])  # looked up while the row still exists
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self.pages_invalidate(list(queryset.values_list("pk", flat=True)))
        super().delete_queryset(request, queryset)
