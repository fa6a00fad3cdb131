"""Did they reply? REPLY_QUESTIONNAIRE_AFTER_DAYS after a letter reached its
official on its own (status "sent": not in a digest, which speaks for many), its
supporter is asked whether the official replied; a week later, if unanswered,
reminded once; never again. Answers feed the response rates (campaign/replies.py).

One Questionnaire row per letter is the record that it was asked, so running
the daily job twice (beat and `manage.py send_questionnaires`) asks nothing
twice. A supporter's questions that fall due in one run share one email.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaign.models import Letter, LetterStatus, Questionnaire, Signature
from campaign.services.supporter_emails import supporter_email_queue

logger = logging.getLogger(__name__)

REMINDER_AFTER = timedelta(days=7)
# Letters delivered longer ago than this before they fell due are never asked:
# turning the questionnaire on (or beat being down for weeks) must not email
# every supporter of years past about letters they have long forgotten.
CATCH_UP = timedelta(days=28)
_LINK_SALT = "quillpost.questionnaire"


@dataclass(frozen=True)
class QuestionnaireRun:
    asked: int  # questions asked for the first time
    reminded: int
    emails: int  # emails queued for both together


def questionnaire_token(questionnaire_id: int) -> str:
    """The answer link's token: the row's id, signed with SECRET_KEY, so nobody
    can answer for a letter that is not theirs by counting ids."""
    return signing.Signer(salt=_LINK_SALT).sign(str(questionnaire_id))


def questionnaire_for_token(*, token: str) -> Questionnaire | None:
    """The questionnaire a link names; None for a forged, altered or cut-short
    token, or one whose letter has been deleted."""
    try:
        pk = int(signing.Signer(salt=_LINK_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    return (
        Questionnaire.objects.select_related("official", "campaign")
        .filter(pk=pk)
        .first()
    )


def questionnaires_send_due(*, now: datetime | None = None) -> QuestionnaireRun:
    """Ask every question now due and send every reminder now due. Safe to run
    at any time and concurrently: rows another run holds are skipped."""
    days = settings.REPLY_QUESTIONNAIRE_AFTER_DAYS
    if days <= 0:
        return QuestionnaireRun(asked=0, reminded=0, emails=0)
    now = now or timezone.now()
    asked, first_emails = _ask(due=now - timedelta(days=days), now=now)
    reminded, reminder_emails = _remind(now=now)
    run = QuestionnaireRun(
        asked=asked, reminded=reminded, emails=first_emails + reminder_emails
    )
    logger.info(
        "questionnaires: %s asked, %s reminded, %s emails",
        *(run.asked, run.reminded, run.emails),
        extra={"asked": run.asked, "reminded": run.reminded, "emails": run.emails},
    )
    return run


def _ask(*, due: datetime, now: datetime) -> tuple[int, int]:
    with transaction.atomic():
        # Locking the letters (skipping those a concurrent run holds) is what
        # keeps two runs from asking twice; the one-to-one column backs it up.
        letters = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=LetterStatus.SENT,
                sent_at__lte=due,
                sent_at__gt=due - CATCH_UP,
                questionnaire__isnull=True,
            )
            .select_related("signature__campaign", "official")
            .order_by("signature_id", "official__name", "pk")
        )
        questionnaires = Questionnaire.objects.bulk_create(
            Questionnaire(
                letter=letter,
                campaign_id=letter.signature.campaign_id,
                official=letter.official,
                sent_at=now,
            )
            for letter in letters
        )
        for letter, questionnaire in zip(letters, questionnaires, strict=True):
            questionnaire.letter = letter
        emails = _email_each_supporter(questionnaires, reminder=False)
    return len(questionnaires), emails


def _remind(*, now: datetime) -> tuple[int, int]:
    with transaction.atomic():
        questionnaires = list(
            Questionnaire.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                answered_at__isnull=True,
                reminded_at__isnull=True,
                sent_at__lte=now - REMINDER_AFTER,
                # A letter that bounced since is no longer one to ask about.
                letter__status=LetterStatus.SENT,
            )
            .select_related("letter__signature__campaign", "official")
            .order_by("letter__signature_id", "official__name", "pk")
        )
        Questionnaire.objects.filter(pk__in=[q.pk for q in questionnaires]).update(
            reminded_at=now
        )
        emails = _email_each_supporter(questionnaires, reminder=True)
    return len(questionnaires), emails


def _email_each_supporter(
    questionnaires: list[Questionnaire], *, reminder: bool
) -> int:
    """One email per supporter with all their questions (the list is in
    signature order). Returns the number of emails queued."""
    emails = 0
    for _, group in groupby(questionnaires, key=lambda q: q.letter.signature_id):
        questions = list(group)
        signature: Signature = questions[0].letter.signature
        context = {
            "campaign": signature.campaign,
            "site_name": settings.SITE_NAME,
            "reminder": reminder,
            "questions": [
                {
                    "official": q.official,
                    "url": settings.SITE_URL
                    + reverse(
                        "campaign:questionnaire", args=[questionnaire_token(q.pk)]
                    ),
                }
                for q in questions
            ],
        }
        supporter_email_queue(
            signature=signature, template="questionnaire", context=context
        )
        emails += 1
    return emails


def questionnaire_answer(
    *, questionnaire_id: int, replied: bool, now: datetime | None = None
) -> Questionnaire:
    """Record the supporter's answer. Answering the same again changes nothing;
    a different answer replaces the first (a reply can come late)."""
    with transaction.atomic():
        questionnaire = Questionnaire.objects.select_for_update(of=("self",)).get(
            pk=questionnaire_id
        )
        if questionnaire.replied is not replied:
            questionnaire.replied = replied
            questionnaire.answered_at = now or timezone.now()
            questionnaire.save(update_fields=["replied", "answered_at"])
    logger.info(
        "questionnaire %s answered (replied: %s)",
        *(questionnaire.pk, replied),
        extra={"questionnaire_id": questionnaire.pk, "replied": replied},
    )
    return questionnaire
