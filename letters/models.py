from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from . import rendering


class LetterTemplate(models.Model):
    """The text a campaign's letters are rendered from, in the merge-field language
    of letters/rendering.py (whose docstring says why not Django's templates)."""

    name = models.CharField(
        max_length=120, unique=True, help_text="Internal name, shown only in admin."
    )
    subject_template = models.CharField(
        "subject",
        max_length=rendering.MAX_SUBJECT_LENGTH,
        help_text="One line. May use merge fields, e.g. {{ campaign.title }}.",
    )
    body_template = models.TextField(
        "body",
        max_length=rendering.MAX_BODY_LENGTH,
        help_text="Plain text. Merge fields look like {{ signer.name }}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Every save keeps the previous version (who, when, what) for the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = "letter template"
        verbose_name_plural = "letter templates"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for field, check in (
            ("subject_template", rendering.validate_subject),
            ("body_template", rendering.validate_template),
        ):
            try:
                check(getattr(self, field) or "")
            except rendering.TemplateError as exc:
                errors[field] = [str(exc)]
        # Why, and why on save only: see rendering.SIGNATURE_FIELD.
        if not rendering.is_signed(self.body_template or ""):
            errors.setdefault("body_template", []).append(rendering.UNSIGNED_MESSAGE)
        if errors:
            raise ValidationError(errors)
