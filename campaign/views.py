from django.shortcuts import get_object_or_404, render

from .models import Campaign


def campaign_list(request):
    campaigns = Campaign.objects.filter(status=Campaign.Status.LIVE)
    return render(request, "campaign/list.html", {"campaigns": campaigns})


def campaign_detail(request, slug: str):
    campaign = get_object_or_404(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT), slug=slug
    )
    return render(request, "campaign/detail.html", {"campaign": campaign})
