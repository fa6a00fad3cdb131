"""The campaign page's URL, for the shared `campaign` fixture."""

import pytest
from django.urls import reverse


@pytest.fixture
def page_url(campaign):
    return reverse("campaign:detail", args=[campaign.slug])
