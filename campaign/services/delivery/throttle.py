"""The per-official throttle: never more than LETTERS_PER_OFFICIAL_PER_HOUR
letters to one official in any hour. A letter over the cap stays pending with
its own slot (next_attempt_at); the claim (outbox.py) calls official_slots for
the letters of a batch."""

from bisect import bisect_left
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q

from campaign.models import Letter, Official, OutboxStatus

THROTTLE_WINDOW = timedelta(hours=1)

# Slots predicted beyond the current hour start a little late: the send they
# follow lands some seconds after its own slot (queue latency, the SMTP dialogue),
# and a letter woken while that send is still inside the window would only be
# throttled again.
THROTTLE_SLACK = timedelta(seconds=30)


def official_slots(letter_ids: list[int], now: datetime) -> dict[int, datetime]:
    """The letters (of those given, all pending and due) that must wait, each
    with the moment its own slot frees; the others may go now. A letter may go
    while its official has had fewer than LETTERS_PER_OFFICIAL_PER_HOUR letters
    sent (or sending) in the last hour, counting the letters ahead of it in line.

    Letters waiting for the same official get distinct slots, in the order they
    were written, so each slot wakes one letter rather than every waiting one
    (which would each take the lock only to be throttled again).

    Locking the officials serialises every claim of their letters, so two
    workers cannot both take the last slot. Held for a few small indexed queries
    per official, never across SMTP. Locked in id order, so two batches sharing
    officials cannot deadlock.
    """
    cap = settings.LETTERS_PER_OFFICIAL_PER_HOUR
    if cap <= 0:
        return {}
    batch = defaultdict(list)
    for official, letter in Letter.objects.filter(pk__in=letter_ids).values_list(
        "official_id", "pk"
    ):
        batch[official].append(letter)
    # NO KEY: still one claimer per official at a time, but signing (whose
    # foreign-key checks take KEY SHARE on the official) is never blocked.
    officials = (
        Official.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=batch)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    waits = {}
    for official in officials:
        waits.update(_line(official, sorted(batch[official]), now, cap))
    return waits


def _line(
    official: int, batch: list[int], now: datetime, cap: int
) -> dict[int, datetime]:
    """official_slots for one official's letters in the batch (sorted by id)."""
    letters = Letter.objects.filter(official_id=official)
    sent = list(
        letters.filter(status=OutboxStatus.SENT, sent_at__gt=now - THROTTLE_WINDOW)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    # Letters still "sending" will land about now.
    sending = letters.filter(status=OutboxStatus.SENDING).count()
    window = sent + [now] * sending
    free = cap - len(window)
    # Letters written earlier (pending, throttled or backing off) are ahead in
    # line: a freed slot goes to the first of them, not to whoever asks first.
    # A letter's place is the number of pending letters before it.
    pending = letters.filter(status=OutboxStatus.PENDING)
    line = pending.filter(pk__lte=batch[-1]).aggregate(
        ahead=Count("pk", filter=Q(pk__lt=batch[0])), through_last=Count("pk")
    )
    if line["through_last"] - 1 < free:  # the last letter's place: all may go
        return {}
    # Some wait: place each exactly, counting letters between the batch's that
    # are pending but not in it (backing off, or queued in another batch).
    span = list(
        pending.filter(pk__gte=batch[0], pk__lte=batch[-1])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if free > 0:  # the letters ahead take the free slots now
        window = window + [now] * free
    waits = {}
    for letter in batch:
        place = line["ahead"] + bisect_left(span, letter)
        if place >= free:
            waits[letter] = _slot(window, cap=cap, place=place - max(free, 0))
    return waits


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
