"""Letters delivered some time ago, for the questionnaire and response rates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.models import LetterStatus, Signature
from tests.factories import LetterFactory, SignatureFactory

# The questionnaire's delay in these tests (the default, said explicitly).
AFTER_DAYS = 14


@pytest.fixture
def questionnaire_settings(settings):
    settings.REPLY_QUESTIONNAIRE_AFTER_DAYS = AFTER_DAYS
    settings.SITE_URL = "http://testserver"
    return settings


def delivered(campaign, officials, *, sent_at=None, status=LetterStatus.SENT, **kw):
    """A confirmed supporter of `campaign` whose letters to `officials` were
    delivered at `sent_at` (default: a month ago); returns their letters."""
    sent_at = sent_at or timezone.now() - timedelta(days=30)
    signature = SignatureFactory(
        campaign=campaign, status=Signature.Status.CONFIRMED, **kw
    )
    return [
        LetterFactory(signature=signature, official=o, status=status, sent_at=sent_at)
        for o in officials
    ]
