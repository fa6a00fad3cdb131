"""docs/sent-since.sql, the safe restore's step (docs/deploy.md, "Restoring
safely"): read from the database being replaced, its output marks in the restored
one every email sent since the dump, so the worker sends none of them again."""

import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.models import Letter, Signature
from campaign.models.outbox import LetterStatus
from campaign.services.letter_counts import letters_update
from tests.factories import LetterFactory
from tests.support.compose import ROOT
from tests.support.worker import database_url

SENT_SINCE = ROOT / "docs" / "sent-since.sql"


def psql(*args: str, stdin: str) -> str:
    result = subprocess.run(
        ["psql", database_url(), "-v", "ON_ERROR_STOP=1", "-At", *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_emails_sent_since_the_dump_are_not_sent_again_after_a_restore():
    dump_time = timezone.now() - timedelta(hours=1)
    before = LetterFactory(status=LetterStatus.SENT, sent_at=dump_time - timedelta(1))
    since = LetterFactory(
        status=LetterStatus.SENT, sent_at=dump_time + timedelta(0, 60)
    )
    digested = LetterFactory(
        status=LetterStatus.DIGESTED, sent_at=dump_time + timedelta(0, 120)
    )
    waiting = LetterFactory(status=LetterStatus.PENDING)
    updates = psql("-v", f"since={dump_time.isoformat()}", stdin=SENT_SINCE.read_text())
    assert updates.count("UPDATE campaign_letter") == 2

    # The restored database: as the dump had them, before those two were sent
    # (their signatures' counts too).
    letters_update(
        letters=Letter.objects.filter(pk=since.pk), status="pending", sent_at=None
    )
    letters_update(
        letters=Letter.objects.filter(pk=digested.pk),
        status=LetterStatus.AWAITING_DIGEST,
        sent_at=None,
    )
    psql(stdin=updates)

    statuses = dict(Letter.objects.values_list("pk", "status"))
    assert statuses == {
        before.pk: LetterStatus.SENT,
        since.pk: LetterStatus.SENT,
        digested.pk: LetterStatus.DIGESTED,
        waiting.pk: LetterStatus.PENDING,  # still to be sent, as it should be
    }
    delivered = dict(Signature.objects.values_list("letters__pk", "letters_delivered"))
    assert delivered == {before.pk: 1, since.pk: 1, digested.pk: 1, waiting.pk: 0}
