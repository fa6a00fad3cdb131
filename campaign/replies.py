"""Reads about officials' replies, from supporters' answers to the "did they
reply?" questionnaire (campaign/services/questionnaires.py): response rates for
the admin, and the campaign page's "N supporters report a reply"."""

from dataclasses import dataclass

from django.db.models import Count, Q

from .models import DELIVERED_LETTER_STATUSES, Letter, Official, Questionnaire

# Below this, "2 supporters report a reply" says more about two people than
# about the official: the public page shows nothing.
PUBLIC_REPLY_MINIMUM = 5


@dataclass(frozen=True)
class ResponseRate:
    delivered: int  # letters delivered (on their own or in a digest)
    answered: int  # questionnaires answered
    replied: int  # answered "yes, they replied"

    @property
    def rate(self) -> float | None:
        """Share of answers that report a reply; None before any answer."""
        return self.replied / self.answered if self.answered else None


def response_rates(
    *, campaign_id: int | None = None, official_id: int | None = None
) -> dict[tuple[int, int], ResponseRate]:
    """ResponseRate per (campaign id, official id), for one campaign or one
    official: one grouped query, whatever the number of pairs. Answers count
    while their letter counts as delivered (a letter that bounced since drops
    out with its answer)."""
    letters = Letter.objects.filter(status__in=DELIVERED_LETTER_STATUSES)
    if campaign_id is not None:
        letters = letters.filter(signature__campaign_id=campaign_id)
    if official_id is not None:
        letters = letters.filter(official_id=official_id)
    rows = (
        letters.values("signature__campaign_id", "official_id")
        .annotate(
            delivered=Count("pk"),
            answered=Count(
                "questionnaire", filter=Q(questionnaire__answered_at__isnull=False)
            ),
            replied=Count("questionnaire", filter=Q(questionnaire__replied=True)),
        )
        .order_by()
    )
    return {
        (row["signature__campaign_id"], row["official_id"]): ResponseRate(
            delivered=row["delivered"],
            answered=row["answered"],
            replied=row["replied"],
        )
        for row in rows
    }


def response_rate_total(rates: list[ResponseRate]) -> ResponseRate:
    return ResponseRate(
        delivered=sum(r.delivered for r in rates),
        answered=sum(r.answered for r in rates),
        replied=sum(r.replied for r in rates),
    )


def replies_reported(
    *, campaign_id: int, targets: list[Official]
) -> list[tuple[Official, int]]:
    """(official, supporters who report a reply) for each of `targets` with at
    least PUBLIC_REPLY_MINIMUM, in the targets' order: one query, on the
    questionnaire_replied index."""
    counts = dict(
        Questionnaire.objects.filter(campaign_id=campaign_id, replied=True)
        .values_list("official_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=PUBLIC_REPLY_MINIMUM)
        .order_by()
    )
    return [
        (official, counts[official.pk]) for official in targets if official.pk in counts
    ]
