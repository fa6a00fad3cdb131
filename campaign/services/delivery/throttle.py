"""The per-official throttle: never more than LETTERS_PER_OFFICIAL_PER_HOUR
letters to one official in any hour. A letter over the cap stays pending with
its own slot (next_attempt_at); the claim (outbox.py) calls official_slot."""

from datetime import datetime, timedelta

from django.conf import settings

from campaign.models import Letter, Official, OutboxStatus

THROTTLE_WINDOW = timedelta(hours=1)

# Slots predicted beyond the current hour start a little late: the send they
# follow lands some seconds after its own slot (queue latency, the SMTP dialogue),
# and a letter woken while that send is still inside the window would only be
# throttled again.
THROTTLE_SLACK = timedelta(seconds=30)


def official_slot(letter_id: int, now: datetime) -> datetime | None:
    """None while the letter's official has had fewer than
    LETTERS_PER_OFFICIAL_PER_HOUR letters sent (or sending) in the last hour;
    otherwise when this letter's own slot frees.

    Letters waiting for the same official get distinct slots, in the order they
    were written, so each slot wakes one letter rather than every waiting one
    (which would each take the lock only to be throttled again).

    Locking the official serialises every claim of their letters, so two workers
    cannot both take the last slot. Held for a few small indexed queries, never
    across SMTP.
    """
    cap = settings.LETTERS_PER_OFFICIAL_PER_HOUR
    if cap <= 0:
        return None
    # NO KEY: still one claimer per official at a time, but signing (whose
    # foreign-key checks take KEY SHARE on the official) is never blocked.
    official = (
        Official.objects.select_for_update(of=("self",), no_key=True)
        .filter(letters__pk=letter_id)
        .values_list("pk", flat=True)
        .first()
    )
    if official is None:
        return None  # no such letter: the claim finds nothing either
    letters = Letter.objects.filter(official_id=official)
    sent = list(
        letters.filter(status=OutboxStatus.SENT, sent_at__gt=now - THROTTLE_WINDOW)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    # Letters still "sending" will land about now.
    sending = letters.filter(status=OutboxStatus.SENDING).count()
    window = sent + [now] * sending
    # Letters written earlier (pending, throttled or backing off) are ahead in
    # line: a freed slot goes to the first of them, not to whoever asks first.
    place = letters.filter(status=OutboxStatus.PENDING, pk__lt=letter_id).count()
    free = cap - len(window)
    if place < free:
        return None
    if free > 0:  # the letters ahead take the free slots now
        window, place = window + [now] * free, place - free
    return _slot(window, cap=cap, place=place)


def _slot(window: list[datetime], *, cap: int, place: int) -> datetime:
    """When the letter `place` positions back in an official's line may go: no
    more than `cap` sends in any hour. `window` is the official's sends in the
    last hour, oldest first (at least `cap` of them).

    The first letter in line takes the slot of the send that leaves the window
    first among those over the cap, the next letter the one after, and so on; a
    full hour later the pattern repeats with the letters just sent."""
    hours, offset = divmod(place, cap)
    freed = window[len(window) - cap + offset]
    return freed + THROTTLE_WINDOW * (hours + 1) + THROTTLE_SLACK * hours
