"""Bounces end to end: the worker sends to aiosmtpd with a VERP envelope
sender; `manage.py process_bounce` (a real process, and in-process) reads DSNs
and plain bounces for it and records them on the row."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from campaign.models import Digest, Letter, LetterStatus, OutboxStatus
from campaign.services.delivery import Outcome, letter_send, outbox_sweep
from campaign.services.delivery.policy import max_attempts
from campaign.services.signing import signature_confirm
from campaign.verp import verp_address, verp_parse
from tests.bounces.helpers import sent_letter
from tests.bounces.reports import (
    auto_reply,
    dsn,
    plain_bounce,
    process_bounce,
    process_bounces,
)
from tests.factories import CampaignFactory, LetterFactory, SignatureFactory
from tests.support.processes import free_port
from tests.support.waiting import wait_until

FULL = "smtp; 452 4.2.2 <pm@gov.example>: Mailbox full"


def _sent(campaign, count):
    return lambda: (
        Letter.objects.filter(
            signature__campaign=campaign, status=OutboxStatus.SENT
        ).count()
        == count
    )


def test_letters_carry_a_verp_sender_and_a_dsn_marks_one_bounced(
    worker, smtp, campaign, staff_client
):
    signature = SignatureFactory(campaign=campaign)
    signature_confirm(token=signature.token)
    messages = smtp.wait_for(2)
    wait_until(_sent(campaign, 2), message="both letters recorded sent")
    letters = {x.official.email: x for x in Letter.objects.select_related("official")}
    for message in messages:
        letter = letters[message["To"].addresses[0].addr_spec]
        # Bounces go to the envelope sender; the From header stays the site's.
        assert message.envelope_from == verp_address(kind="l", pk=letter.pk)
        assert verp_parse(message.envelope_from) == ("l", letter.pk)
        assert len(message.envelope_from.partition("@")[0]) <= 64
        assert message["From"].addresses[0].addr_spec == "letters@quillpost.example.org"

    bounced, other = (letters[m["To"].addresses[0].addr_spec] for m in messages)
    result = process_bounce(dsn(messages[0].envelope_from))
    assert result.returncode == 0, result.stderr
    bounced.refresh_from_db()
    assert bounced.status == LetterStatus.BOUNCED
    assert bounced.bounce_code == "5.1.1"
    assert "Recipient address rejected" in bounced.bounce_diagnostic
    assert bounced.bounced_at is not None
    other.refresh_from_db()
    assert other.status == LetterStatus.SENT
    # Visible and filterable in admin.
    listed = staff_client.get(
        "/admin/campaign/letter/", {"status__exact": "bounced", "bounce_code": "5.1.1"}
    ).content.decode()
    assert f"/letter/{bounced.pk}/change/" in listed
    assert f"/letter/{other.pk}/change/" not in listed

    # Never retried: the sweeper does not see it, nor does a queue message.
    assert outbox_sweep()["letter"]["requeued"] == 0
    assert letter_send(letter_id=bounced.pk).outcome == Outcome.SKIPPED
    # The same report again changes nothing.
    assert process_bounce(dsn(messages[0].envelope_from)).returncode == 0
    assert Letter.objects.get(pk=bounced.pk).bounced_at == bounced.bounced_at
    assert len(smtp.messages) == 2


def test_a_temporary_bounce_retries_no_sooner_than_two_hours(
    transactional_db, smtp, bounce
):
    letter, address = sent_letter()
    bounce(dsn(address, status="4.2.2", action="delayed", diagnostic=FULL))
    letter.refresh_from_db()
    assert letter.status == OutboxStatus.PENDING
    assert letter.bounce_code == "4.2.2"
    assert "Mailbox full" in letter.last_error
    assert letter.next_attempt_at >= timezone.now() + timedelta(hours=2, minutes=-1)

    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=59)):
        assert letter_send(letter_id=letter.pk).outcome == Outcome.SKIPPED
    with time_machine.travel(letter.next_attempt_at + timedelta(seconds=1)):
        assert letter_send(letter_id=letter.pk).outcome == Outcome.SENT
    assert [m.envelope_from for m in smtp.messages] == [address]
    # A permanent bounce for the resent letter still counts.
    bounce(dsn(address))
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.BOUNCED


def test_a_mailbox_full_for_days_is_given_up_on(db, bounce):
    letter, address = sent_letter(attempts=max_attempts())
    bounce(dsn(address, status="4.2.2", action="delayed", diagnostic=FULL))
    letter.refresh_from_db()
    assert letter.status == OutboxStatus.FAILED
    assert letter.last_error.startswith(f"Gave up after {max_attempts()} attempts.")


def test_a_plain_bounce_without_a_report_is_understood(db, bounce):
    letter, address = sent_letter()
    bounce(plain_bounce(address))
    letter.refresh_from_db()
    assert (letter.status, letter.bounce_code) == (LetterStatus.BOUNCED, "5.2.1")
    assert "Mailbox disabled" in letter.bounce_diagnostic


def _row_state(letter) -> tuple:
    row = Letter.objects.get(pk=letter.pk)
    fields = ("status", "bounce_code", "bounced_at", "updated_at", "next_attempt_at")
    return tuple(getattr(row, f) for f in fields)


def test_forged_auto_replies_and_garbage_change_nothing_and_exit_0(transactional_db):
    letter, address = sent_letter()
    before = _row_state(letter)
    forged = address.replace(f"+l{letter.pk}-", f"+l{letter.pk + 1}-")
    raws = [
        dsn(forged),  # a signature that does not match
        dsn(address.replace("bounces+", "bounces+x")),  # not a VERP address
        auto_reply(address),
        b"\x00\xff\xfe garbage \r\n\r\n\x80\x81" * 100,
        b"",
    ]
    results = process_bounces(raws)
    assert len(results) == len(raws)
    for result in results:
        assert result.returncode == 0, result.stderr
        output = (result.stdout + result.stderr).decode()
        assert output.count("process_bounce: ignored") == 1, output
    assert _row_state(letter) == before


def test_an_unreachable_database_exits_75_so_the_mta_keeps_the_bounce(
    transactional_db,
):
    letter, address = sent_letter()
    down = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"
    result = process_bounce(dsn(address), DATABASE_URL=down)
    assert result.returncode == 75, result.stderr
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.SENT


def test_a_digest_bounce_bounces_the_letters_it_carried(db, bounce):
    campaign = CampaignFactory()
    official = campaign.targets.first()
    digest = Digest.objects.create(
        campaign=campaign,
        official=official,
        subject="2 new supporters",
        body="A body",
        new_signatures=2,
        status=OutboxStatus.SENT,
        sent_at=timezone.now(),
    )
    carried = [
        LetterFactory(
            official=official,
            signature=SignatureFactory(campaign=campaign),
            digest=digest,
            status=LetterStatus.DIGESTED,
            sent_at=digest.sent_at,
        )
        for _ in range(2)
    ]
    address = verp_address(kind="d", pk=digest.pk)

    bounce(dsn(address, status="4.4.1", action="delayed", diagnostic="timeout"))
    assert Digest.objects.get(pk=digest.pk).status == OutboxStatus.PENDING
    assert set(
        Letter.objects.filter(pk__in=[x.pk for x in carried]).values_list(
            "status", flat=True
        )
    ) == {LetterStatus.AWAITING_DIGEST}

    Digest.objects.filter(pk=digest.pk).update(status=OutboxStatus.SENT)
    Letter.objects.filter(digest=digest).update(status=LetterStatus.DIGESTED)
    bounce(dsn(address))
    assert Digest.objects.get(pk=digest.pk).status == OutboxStatus.BOUNCED
    assert set(
        Letter.objects.filter(digest=digest).values_list("status", "bounce_code")
    ) == {(LetterStatus.BOUNCED, "5.1.1")}
