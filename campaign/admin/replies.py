"""Did officials reply? The questionnaire rows, and response rates on the
campaign and official pages (read by campaign/replies.py)."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .. import replies
from ..models import Campaign, Official, Questionnaire


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    """A record of what supporters were asked and answered: read-only (the
    questionnaire service asks, supporters answer)."""

    list_display = [
        "official",
        "campaign",
        "sent_at",
        "reminded_at",
        "answered_at",
        "replied",
    ]
    list_filter = ["replied", "campaign", "official", "sent_at"]
    list_select_related = ["official", "campaign"]
    date_hierarchy = "sent_at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


def _percent(rate: replies.ResponseRate) -> str:
    return "–" if rate.rate is None else f"{rate.rate:.0%}"


def _table(rows: list[tuple[str, replies.ResponseRate]], *, first: str) -> str:
    if not rows:
        return "No letters delivered yet."
    total = replies.response_rate_total([rate for _, rate in rows])
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (label, r.delivered, r.answered, r.replied, _percent(r))
            for label, r in [*rows, ("All", total)]
        ),
    )
    return format_html(
        "<table><thead><tr><th>{}</th><th>Letters delivered</th>"
        "<th>Answers received</th><th>“Yes, they replied”</th>"
        "<th>Response rate</th></tr></thead><tbody>{}</tbody></table>"
        '<p class="help">Response rate: the share of supporters\' answers that '
        "report a reply. Supporters are asked only about letters sent on their "
        "own, not in a digest.</p>",
        first,
        body,
    )


class ResponseRatesMixin:
    """A read-only "response rates" field for the Campaign and Official admins:
    add "response_rates" to readonly_fields."""

    @admin.display(description="response rates")
    def response_rates(self, obj) -> str:
        if obj.pk is None:
            return "–"
        if isinstance(obj, Campaign):
            rates = replies.response_rates(campaign_id=obj.pk)
            names = dict(
                Official.objects.filter(pk__in=[o for _, o in rates]).values_list(
                    "pk", "name"
                )
            )
            rows = sorted((names[o], rate) for (_, o), rate in rates.items())
            return _table(rows, first="Official")
        rates = replies.response_rates(official_id=obj.pk)
        titles = dict(
            Campaign.objects.filter(pk__in=[c for c, _ in rates]).values_list(
                "pk", "title"
            )
        )
        rows = sorted((titles[c], rate) for (c, _), rate in rates.items())
        return _table(rows, first="Campaign")
