from django.contrib import admin

from .models import Campaign, ConfirmationEmail, Letter, Official, Signature


@admin.register(Official)
class OfficialAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "organisation", "email", "is_active"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["name", "position", "email", "organisation"]
    readonly_fields = ["created_at", "updated_at"]


class TargetInline(admin.TabularInline):
    model = Campaign.targets.through
    extra = 1
    autocomplete_fields = ["official"]
    verbose_name = "target official"
    verbose_name_plural = "target officials"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "status",
        "signature_goal",
        "opens_at",
        "closes_at",
    ]
    list_filter = ["status", "opens_at", "closes_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "updated_at"]
    list_select_related = ["letter_template"]
    exclude = ["targets"]
    inlines = [TargetInline]


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "full_name",
        "email",
        "campaign",
        "status",
        "created_at",
        "confirmed_at",
    ]
    list_filter = ["status", "campaign", "created_at", "confirmed_at", "keep_updated"]
    search_fields = ["full_name", "email", "postcode"]
    list_select_related = ["campaign"]
    readonly_fields = [
        "email_normalised",
        "token_created_at",
        "created_at",
        "confirmed_at",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) on millions of rows per page view


class OutboxAdmin(admin.ModelAdmin):
    readonly_fields = [
        "attempts",
        "last_error",
        "claimed_at",
        "sent_at",
        "message_id",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False


@admin.register(Letter)
class LetterAdmin(OutboxAdmin):
    list_display = ["__str__", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "signature__campaign", "official", "sent_at"]
    search_fields = ["signature__full_name", "signature__email", "official__name"]
    list_select_related = ["signature", "official"]
    raw_id_fields = ["signature"]


@admin.register(ConfirmationEmail)
class ConfirmationEmailAdmin(OutboxAdmin):
    list_display = ["__str__", "status", "attempts", "sent_at", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["signature__full_name", "signature__email"]
    list_select_related = ["signature"]
    raw_id_fields = ["signature"]
