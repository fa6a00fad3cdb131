"""The "did they reply?" question a supporter is asked about each letter that
reached an official on its own (campaign/services/questionnaires.py asks)."""

from django.db import models

from .campaigns import Campaign, Official
from .outbox import Letter


class Questionnaire(models.Model):
    """One letter's question. A supporter's questions that fall due together are
    asked in one email (and reminded in one), but each is answered on its own:
    one official may reply and another not."""

    letter = models.OneToOneField(
        Letter, on_delete=models.CASCADE, related_name="questionnaire"
    )
    # The letter's own campaign and official, copied so that the public count
    # ("N supporters report a reply") reads this table alone, by the index below.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="questionnaires"
    )
    official = models.ForeignKey(
        Official, on_delete=models.CASCADE, related_name="questionnaires"
    )
    sent_at = models.DateTimeField(
        help_text="When the email asking was queued to the supporter."
    )
    reminded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the one reminder was queued, if the question was "
        "unanswered a week after asking.",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    replied = models.BooleanField(
        "official replied",
        null=True,
        blank=True,
        help_text="The supporter's answer; blank until they answer.",
    )

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = "reply questionnaire"
        verbose_name_plural = "reply questionnaires"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(replied__isnull=True, answered_at__isnull=True)
                | models.Q(replied__isnull=False, answered_at__isnull=False),
                name="questionnaire_answer_has_time",
                violation_error_message="An answer needs the time it was given.",
            )
        ]
        indexes = [
            # The campaign page: supporters reporting a reply, per official.
            models.Index(
                fields=["campaign", "official"],
                condition=models.Q(replied=True),
                name="questionnaire_replied",
            ),
            # The daily run: questions still waiting for their one reminder.
            models.Index(
                fields=["sent_at"],
                condition=models.Q(answered_at__isnull=True, reminded_at__isnull=True),
                name="questionnaire_to_remind",
            ),
        ]

    def __str__(self) -> str:
        return f"Did {self.official.name} reply? (letter {self.letter_id})"
