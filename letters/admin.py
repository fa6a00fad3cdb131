from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import LetterTemplate


@admin.register(LetterTemplate)
class LetterTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "subject_template", "updated_at"]
    search_fields = ["name", "subject_template"]
    readonly_fields = ["created_at", "updated_at"]
    history_list_display = ["subject_template"]
