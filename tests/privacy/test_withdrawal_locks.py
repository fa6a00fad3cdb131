"""A withdrawal and the worker recording one of its letters take their locks in
the same order (the letter, then its signature, as letter_counts.counted_sql
does), so they wait for each other and never deadlock."""

import threading

import pytest
from django.db import connection, connections

from campaign.models import Letter, Signature
from campaign.services.anonymising import signature_withdraw
from campaign.services.signing import signature_confirm
from tests.signing.supporter import sign
from tests.support.waiting import wait_until


def someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_waits_for_a_letter_being_recorded_before_its_signature(
    campaign,
):
    signature = signature_confirm(token=sign(campaign).token)
    letter = Letter.objects.filter(signature=signature).first()
    # The worker recording that letter: it holds the letter and will want the
    # signature next (for its counts).
    recorder = connections.create_connection("default")
    recorder.set_autocommit(False)
    letters, signatures = Letter._meta.db_table, Signature._meta.db_table
    with recorder.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {letters} WHERE id = %s FOR UPDATE",  # noqa: S608
            [letter.pk],
        )

    def withdraw():
        try:
            signature_withdraw(signature_id=signature.pk)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=withdraw)
    thread.start()
    try:
        wait_until(someone_waits_on_a_lock, 10, "the withdrawal to wait for the letter")
        # The signature is still free for the recorder (locked first by the
        # withdrawal, this would wait for ever: a deadlock, one side aborted).
        with recorder.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute(
                f"SELECT id FROM {signatures} WHERE id = %s FOR UPDATE",  # noqa: S608
                [signature.pk],
            )
        recorder.commit()
    finally:
        recorder.rollback()
        recorder.close()
        thread.join(15)
    assert not thread.is_alive()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN
    assert signature.full_name.startswith("Signature ")
