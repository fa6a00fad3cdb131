"""Everything held about one email address, for a subject access request
(`manage.py supporter_data EMAIL`; docs/deploy.md, "Data protection").

What goes in is found, not listed: every column of the address's signatures and
every row of every table that points at a signature (letters, confirmation
emails, and whatever later tables point there: receipts, consent records), each
with all its columns. A field or a table added later is in the answer without a
change here; only secrets are left out (NOT_DISCLOSED).
"""

from django.db import models

from .models import ConsentText, Signature
from .validators import normalise_email

# Secrets, not information about the person: the confirmation token would let
# whoever reads the answer act as the supporter.
NOT_DISCLOSED = {"token"}
# Rows a foreign key points at are named ({"id", "name"}), except these, given
# whole: what the supporter was shown is part of the answer (the consent
# wording they agreed to and its version, not just its id).
SHOWN_TO_THEM = (ConsentText,)


def _fields(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in NOT_DISCLOSED]


def _value(row: models.Model, field: models.Field):
    if field.is_relation:
        related = getattr(row, field.name)
        if related is None:
            return None
        named = {"id": related.pk, "name": str(related)}
        return named | _row(related) if isinstance(related, SHOWN_TO_THEM) else named
    return field.value_from_object(row)


def _row(row: models.Model, *, skip: str = "") -> dict:
    return {f.name: _value(row, f) for f in _fields(type(row)) if f.name != skip}


def _related_rows(signatures: list[Signature]) -> dict[int, dict[str, list]]:
    """Per signature id, per table pointing at Signature (by its accessor name,
    e.g. "letters"), that table's rows."""
    by_signature: dict[int, dict[str, list]] = {s.pk: {} for s in signatures}
    for relation in Signature._meta.related_objects:
        if relation.many_to_many:
            continue
        model, fk = relation.related_model, relation.field.name
        relations = [
            f.name
            for f in _fields(model)
            if f.is_relation and f.name != fk and f.many_to_one
        ]
        rows = (
            model._default_manager.filter(**{f"{fk}__in": list(by_signature)})
            .select_related(*relations)
            .order_by("pk")
        )
        name = relation.get_accessor_name()
        for held in by_signature.values():
            held[name] = []
        for row in rows:
            by_signature[getattr(row, f"{fk}_id")][name].append(_row(row, skip=fk))
    return by_signature


def supporter_data(*, email: str) -> dict:
    """All we hold about `email`, matched as signing matches it (normalised: a
    "+tag", case and Gmail's dots don't make another person)."""
    normalised = normalise_email(email)
    signatures = list(
        Signature.objects.filter(email_normalised=normalised)
        .select_related("campaign", "consent_text")
        .order_by("created_at", "pk")
    )
    related = _related_rows(signatures)
    return {
        "email_searched": email,
        "email_normalised": normalised,
        "signatures": [_row(s) | related[s.pk] for s in signatures],
    }
