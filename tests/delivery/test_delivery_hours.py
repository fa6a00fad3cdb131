"""Officials' delivery hours: a letter or digest due outside them waits, pending,
for the next opening. The clock is moved (time-machine), never waited for; the
delivery service runs in this process, where the moved clock applies."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from campaign.models import Digest, LetterStatus, OutboxStatus
from campaign.services.delivery import digest_send, letter_send, outbox_sweep
from campaign.services.delivery.windows import window_opening
from tests.factories import CampaignFactory, LetterFactory, OfficialFactory

LONDON = ZoneInfo("Europe/London")
# Monday 7 December 2026.
MONDAY_7AM = datetime(2026, 12, 7, 7, 0, tzinfo=LONDON)
MONDAY_8AM = datetime(2026, 12, 7, 8, 0, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("now", "days", "start", "end", "opening"),
    [
        # Inside: no wait.
        (datetime(2026, 12, 7, 9, 30), "12345", time(8), time(18), None),
        # Before opening, on an open day.
        (datetime(2026, 12, 7, 7, 0), "12345", time(8), time(18), (12, 7, 8)),
        # After closing: the next open day.
        (datetime(2026, 12, 7, 18, 0), "12345", time(8), time(18), (12, 8, 8)),
        # Friday evening: Monday morning.
        (datetime(2026, 12, 11, 19, 0), "12345", time(8), time(18), (12, 14, 8)),
        # Days only: all day on those days.
        (datetime(2026, 12, 12, 10, 0), "12345", None, None, (12, 14, 0)),
        # Hours only: every day.
        (datetime(2026, 12, 12, 6, 0), "", time(9), time(17), (12, 12, 9)),
        # Nothing set: always open.
        (datetime(2026, 12, 12, 3, 0), "", None, None, None),
    ],
)
def test_window_opening(now, days, start, end, opening):
    got = window_opening(
        days=days, start=start, end=end, now=now.replace(tzinfo=LONDON)
    )
    if opening is None:
        assert got is None
    else:
        month, day, hour = opening
        assert got == datetime(2026, month, day, hour, 0, tzinfo=LONDON)


def test_window_opening_across_the_clocks_going_forward():
    # Sunday 29 March 2026, 01:30 GMT does not exist; the window opens at 09:00 BST.
    now = datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("UTC"))
    got = window_opening(days="", start=time(9), end=time(17), now=now)
    assert got == datetime(2026, 3, 29, 8, 0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("send_from", "send_until", "message"),
    [
        (time(8), None, "both ends"),
        (time(18), time(8), "end after they start"),
    ],
)
def test_half_or_inverted_hours_are_refused(send_from, send_until, message):
    official = OfficialFactory.build(send_from=send_from, send_until=send_until)
    with pytest.raises(ValidationError, match=message):
        official.full_clean()


@pytest.mark.django_db
def test_bad_days_are_refused():
    with pytest.raises(ValidationError, match="digits 1"):
        OfficialFactory.build(send_days="1289").full_clean()


@pytest.mark.django_db(transaction=True)
def test_letter_and_digest_wait_for_the_opening_then_go(smtp):
    official = OfficialFactory(
        send_days="12345", send_from=time(8), send_until=time(18)
    )
    campaign = CampaignFactory(targets=[official])
    with time_machine.travel(MONDAY_7AM, tick=False):
        letter = LetterFactory(official=official, signature__campaign=campaign)
        digest = Digest.objects.create(
            campaign=campaign,
            official=official,
            subject="S",
            body="B",
            new_signatures=1,
        )
        assert letter_send(letter_id=letter.pk).outcome == "throttled"
        assert digest_send(digest_id=digest.pk).outcome == "throttled"
        letter.refresh_from_db()
        digest.refresh_from_db()
        assert (letter.status, letter.next_attempt_at) == ("pending", MONDAY_8AM)
        assert (digest.status, digest.next_attempt_at) == ("pending", MONDAY_8AM)
        # Waiting for the window is not being lost or stuck: the sweeper leaves it.
        counts = outbox_sweep()
        assert counts["letter"]["requeued"] == counts["digest"]["requeued"] == 0
    assert smtp.messages == []

    with time_machine.travel(MONDAY_8AM, tick=False):
        assert letter_send(letter_id=letter.pk).outcome == "sent"
        assert digest_send(digest_id=digest.pk).outcome == "sent"
    assert len(smtp.wait_for(2)) == 2
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT
    assert Digest.objects.get().status == OutboxStatus.SENT
