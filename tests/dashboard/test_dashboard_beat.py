"""Beat and the session's worker keep the tallies current (every
DASHBOARD_REFRESH_SECONDS: 1 s for the test worker)."""

from campaign.models import SignatureTally, TallyRefresh
from tests.factories import SignatureFactory
from tests.support.waiting import wait_until


def test_beat_and_the_worker_rebuild_a_live_campaigns_tallies(
    worker, celery_beat, campaign
):
    SignatureFactory.create_batch(3, campaign=campaign)
    celery_beat.start()

    def counted(n: int) -> bool:
        total = SignatureTally.objects.filter(campaign=campaign, dimension="total")
        return sum(t.signed for t in total) == n

    wait_until(lambda: counted(3), 30, "the first rebuild")
    SignatureFactory(campaign=campaign)
    wait_until(lambda: counted(4), 30, "a rebuild that counts the new signature")
    assert TallyRefresh.objects.get(campaign=campaign).seconds < 5
