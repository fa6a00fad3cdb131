"""The admin index's list of campaign dashboards (templates/admin/index.html)."""

from django import template

from campaign.models import Campaign

register = template.Library()


@register.simple_tag
def dashboard_campaigns():
    """Campaigns an organiser is likely to watch: all but drafts, newest first."""
    return list(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT).only("pk", "title")[:20]
    )
