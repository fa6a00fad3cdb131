"""The organisers' admin, one module per area; importing them registers them."""

from django.contrib import admin

from letters.models import LetterTemplate

from . import (  # noqa: F401
    areas,
    campaigns,
    handin,
    outbox,
    privacy,
    replies,
    signatures,
    updates,
)
from .letter_templates import CampaignLetterTemplateAdmin

# Letter templates with their previews and test letters, which need campaigns:
# in place of letters' own admin (see letter_templates.py).
admin.site.unregister(LetterTemplate)
admin.site.register(LetterTemplate, CampaignLetterTemplateAdmin)
