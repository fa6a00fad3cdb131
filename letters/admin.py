import difflib

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from .fields import FIELDS
from .forms import LetterTemplateForm
from .models import LetterTemplate


class _HistoryHelper(HistoricalRecordContextHelper):
    """Show a changed body as a line diff: the default "old → new" cuts long
    text down to 100 characters, which hides what changed in a letter."""

    def context_for_delta_changes(self, delta):
        changes = super().context_for_delta_changes(delta)
        for item, change in zip(changes, delta.changes, strict=True):
            if change.field == "body_template":
                item["diff"] = "\n".join(
                    difflib.unified_diff(
                        (change.old or "").splitlines(),
                        (change.new or "").splitlines(),
                        "before",
                        "after",
                        lineterm="",
                        n=1,
                    )
                )
        return changes


@admin.register(LetterTemplate)
class LetterTemplateAdmin(SimpleHistoryAdmin):
    """The editor with the merge fields beside it, and each version's history.
    Previews and test letters need campaigns and officials, so the campaign app
    adds them in a subclass registered in this one's place
    (campaign/admin/letter_templates.py): letters never imports campaign."""

    form = LetterTemplateForm
    list_display = ["name", "subject_template", "updated_at"]
    search_fields = ["name", "subject_template"]
    readonly_fields = ["created_at", "updated_at"]
    change_form_template = "admin/letters/lettertemplate/change_form.html"
    object_history_list_template = (
        "admin/letters/lettertemplate/object_history_list.html"
    )
    history_list_display = ["subject"]

    class Media:
        css = {"all": ["letters/lettertemplate_admin.css"]}

    @admin.display(description="subject")
    def subject(self, record) -> str:
        """The subject of each version, as a column of the history list."""
        return record.subject_template

    def get_historical_record_context_helper(self, request, historical_record):
        return _HistoryHelper(self.model, historical_record)

    def render_change_form(self, request, context, add=False, change=False, **kwargs):
        context["merge_fields"] = list(FIELDS.values())
        return super().render_change_form(request, context, add, change, **kwargs)
