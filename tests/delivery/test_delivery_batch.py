"""Batches in this process, against the real SMTP server and PostgreSQL: one
connection per batch, each result recorded on its own, what each kind of
failure costs the rest of the batch, and the throttle across a batch.

Sending refuses to run inside a transaction, so these tests use transactional_db.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign.models import Letter, OutboxStatus
from campaign.services.delivery import Outcome, letters_send
from tests.factories import LetterFactory, OfficialFactory
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _statuses(letters) -> list[str]:
    by_pk = dict(Letter.objects.values_list("pk", "status"))
    return [by_pk[letter.pk] for letter in letters]


def test_a_batch_goes_over_one_connection_and_each_reply_counts_for_its_row(smtp):
    letters = LetterFactory.create_batch(5)
    smtp.script("250 OK", "451 4.3.0 Try later", "550 5.1.1 No such user")

    result = letters_send(letter_ids=[letter.pk for letter in letters])

    outcomes = [result.results[letter.pk].outcome for letter in letters]
    assert outcomes == ["sent", "retry", "failed", "sent", "sent"]
    assert _statuses(letters) == ["sent", "pending", "failed", "sent", "sent"]
    assert len(smtp.peers) == 1  # one connection for all five
    assert smtp.attempts == 5
    sent = Letter.objects.filter(status=OutboxStatus.SENT).order_by("pk")
    assert [m["Message-ID"] for m in smtp.messages] == [x.message_id for x in sent]
    retried, failed = (Letter.objects.get(pk=x.pk) for x in letters[1:3])
    assert (retried.attempts, retried.last_error) == (1, "451 4.3.0 Try later")
    assert retried.next_attempt_at > timezone.now()
    assert failed.last_error == "550 5.1.1 No such user"
    assert result.counts() == {"sent": 3, "retry": 1, "failed": 1}
    assert result.follow_ups() == [(result.results[retried.pk].retry_in, [retried.pk])]


def test_a_server_taking_no_mail_backs_the_whole_batch_off_together(smtp, settings):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    letters = LetterFactory.create_batch(3)

    result = letters_send(letter_ids=[letter.pk for letter in letters])

    assert {r.outcome for r in result.results.values()} == {Outcome.RETRY}
    [(retry_in, ids)] = result.follow_ups()  # one delay: they come back as one batch
    assert retry_in > 0
    assert ids == [letter.pk for letter in letters]
    for letter in Letter.objects.all():
        assert (letter.status, letter.attempts) == (OutboxStatus.PENDING, 1)
        assert letter.last_error.startswith("ConnectionRefusedError")


def test_a_connection_lost_mid_batch_releases_the_rows_not_attempted(smtp):
    """The server says 421 (closing) after accepting mail: the letter it refused
    backs off; the letters after it were never tried and are due again at once,
    their claim's attempt taken back."""
    letters = LetterFactory.create_batch(5)
    smtp.script("250 OK", "421 4.3.2 Closing connection")

    result = letters_send(letter_ids=[letter.pk for letter in letters])

    outcomes = [result.results[letter.pk].outcome for letter in letters]
    assert outcomes == ["sent", "retry", "retry", "retry", "retry"]
    assert _statuses(letters) == ["sent"] + ["pending"] * 4
    refused, *released = (Letter.objects.get(pk=x.pk) for x in letters[1:])
    assert refused.attempts == 1
    assert refused.last_error == "421 4.3.2 Closing connection"
    assert refused.next_attempt_at > timezone.now()
    assert [x.attempts for x in released] == [0, 0, 0]
    assert all(x.next_attempt_at <= timezone.now() for x in released)
    follow_ups = dict(result.follow_ups())
    assert follow_ups[0] == [x.pk for x in released]  # queued again at once
    assert len(smtp.messages) == 1


def test_a_421_before_any_mail_was_taken_backs_every_row_off(smtp):
    letters = LetterFactory.create_batch(3)
    smtp.script("421 4.3.2 Too busy")

    result = letters_send(letter_ids=[letter.pk for letter in letters])

    [(retry_in, ids)] = result.follow_ups()
    assert retry_in > 0 and len(ids) == 3
    assert set(Letter.objects.values_list("attempts", flat=True)) == {1}
    assert smtp.attempts == 1  # the others were not tried on a closing server


def test_a_batch_out_of_time_releases_the_rest(smtp, settings):
    """A batch starts no new message after half the task's soft time limit
    (here 0 s: one message, then the rest go back to pending)."""
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0
    letters = LetterFactory.create_batch(3)

    result = letters_send(letter_ids=[letter.pk for letter in letters])

    assert _statuses(letters) == ["sent", "pending", "pending"]
    assert result.follow_ups() == [(0, [letter.pk for letter in letters[1:]])]
    assert set(Letter.objects.values_list("attempts", flat=True)) == {1, 0}


def test_a_batch_skips_rows_not_due_and_reports_missing_ones(smtp):
    due = LetterFactory()
    sent = LetterFactory(status=OutboxStatus.SENT)
    later = LetterFactory(next_attempt_at=timezone.now() + timezone.timedelta(hours=1))

    result = letters_send(letter_ids=[due.pk, sent.pk, later.pk, 10**9, due.pk])

    assert result.counts() == {"sent": 1, "skipped": 2, "missing": 1}
    assert len(smtp.messages) == 1


def test_the_throttle_lines_up_a_batchs_letters_behind_those_waiting(smtp, settings):
    """Within one batch the cap holds, and a letter waiting outside the batch
    (backing off, or queued elsewhere) keeps its place in the official's line."""
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 2
    official, other = OfficialFactory(), OfficialFactory()
    first, waiting, third, fourth = LetterFactory.create_batch(4, official=official)
    elsewhere = LetterFactory(official=other)

    batch = [first.pk, third.pk, fourth.pk, elsewhere.pk]
    result = letters_send(letter_ids=batch)

    # `waiting` (not in the batch) is ahead of `third` and takes the second slot.
    outcomes = [result.results[pk].outcome for pk in batch]
    assert outcomes == ["sent", "throttled", "throttled", "sent"]
    assert _statuses([first, waiting, third, fourth]) == ["sent"] + ["pending"] * 3
    assert Letter.objects.get(pk=waiting.pk).next_attempt_at is None
    first.refresh_from_db()
    slots = Letter.objects.filter(pk__in=[third.pk, fourth.pk])
    assert all(slot.next_attempt_at > first.sent_at for slot in slots)
    assert len(smtp.messages) == 2


def test_with_the_cap_off_a_whole_batch_goes_to_one_official(smtp, settings):
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 0
    official = OfficialFactory()
    letters = LetterFactory.create_batch(70, official=official)

    result = letters_send(letter_ids=[letter.pk for letter in letters])

    assert result.counts() == {"sent": 70}
    assert len(smtp.peers) == 1


def test_a_batch_costs_one_query_per_letter_beyond_the_claim(smtp, settings):
    settings.LETTERS_PER_OFFICIAL_PER_HOUR = 60
    officials = OfficialFactory.create_batch(2)
    letters = [LetterFactory(official=officials[n % 2]) for n in range(30)]

    def queries(batch) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert letters_send(letter_ids=[x.pk for x in batch]).counts() == {
                "sent": len(batch)
            }
        return len(captured)

    small, large = queries(letters[:10]), queries(letters[10:])
    with connection.cursor() as cursor:  # the connection's other work: durable
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    assert large - small == 10  # recording each result
    # The rest, whatever the batch's size: the claim (the rows due; BEGIN; their
    # officials' delivery hours; their officials, read, then locked; three reads
    # per official for the throttle; the rows, locked, and the UPDATE; COMMIT),
    # loading the rows, and synchronous_commit set off and back for the records.
    assert small - 10 == 11 + 3 * len(officials)
