from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission

from campaign.models import OutboxStatus
from tests.exports.csv_export import HOSTILE_NAMES, signed
from tests.factories import CampaignFactory, LetterFactory, StaffUserFactory


@pytest.fixture
def hostile_signers(campaign):
    """The shared campaign signed by hostile names (confirmed, one minute apart)
    and a pending signer; another campaign's signer; letters in every state."""
    first, second = campaign.targets.all()
    for i, name in enumerate(HOSTILE_NAMES):
        signature = signed(
            campaign, datetime(2024, 3, 1, 9, i, tzinfo=UTC), full_name=name
        )
        LetterFactory(signature=signature, official=first, status=OutboxStatus.SENT)
        status = OutboxStatus.FAILED if i % 2 else OutboxStatus.PENDING
        LetterFactory(signature=signature, official=second, status=status)
    signed(
        campaign,
        datetime(2024, 3, 2, 10, 0, tzinfo=UTC),
        confirmed=False,
        full_name="Pending Person",
    )
    signed(CampaignFactory(), datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    return campaign


@pytest.fixture
def exporter(client):
    """Staff with campaign.view_signature but nothing else: what the URL asks for."""
    user = StaffUserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(user)
    return client
