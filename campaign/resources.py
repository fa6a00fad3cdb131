"""Officials and areas in and out of spreadsheets (CSV, XLSX) from the admin,
with django-import-export: a dry run shows each row as new, changed or unchanged,
or its errors, before anything is saved.

Rows are checked as the admin's form checks them (the model's full_clean(): no
line breaks in names, a valid email, delivery hours in order). The key is the
external id, so importing an updated list updates officials instead of adding
them again; officials missing from a new list are reported, never deleted.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from .models import Area, Official
from .services.pages import campaign_pages_invalidate

MISSING_LISTED = 20  # officials named in the "not in this file" message


class _KeyedResource(resources.ModelResource):
    """A resource keyed by one required column (`key`), refusing a key twice in
    one file. `request` (from the admin) receives the messages."""

    key = ""

    def __init__(self, request=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.request = request

    def before_import(self, dataset, **kwargs) -> None:
        self._seen: dict[str, int] = {}

    def before_import_row(self, row, row_number=None, **kwargs) -> None:
        value = str(row.get(self.key) or "").strip()
        # The lookup (and the saved key) read the row, not this local: without
        # the write-back, "mp-1 " would be a new official beside mp-1.
        row[self.key] = value
        if not value:
            raise ValidationError({self.key: f"The {self.key} column is required."})
        first = self._seen.setdefault(value, row_number)
        if first != row_number:
            raise ValidationError(
                {self.key: f'"{value}" is also on row {first}: each row needs its own.'}
            )

    def _tell(self, level: int, message: str) -> None:
        if self.request is not None:
            messages.add_message(self.request, level, message)


class OfficialResource(_KeyedResource):
    key = "external_id"

    class Meta:
        model = Official
        import_id_fields = ["external_id"]
        fields = [
            "external_id",
            "name",
            "position",
            "salutation",
            "email",
            "organisation",
            "is_active",
            "send_days",
            "send_from",
            "send_until",
        ]
        export_order = fields
        clean_model_instances = True  # the model's validators and clean()
        skip_unchanged = True
        report_skipped = True

    def after_import(self, dataset, result, **kwargs) -> None:
        """Report the officials with an external id this file does not have:
        they stay (letters point at them); set them inactive if they left."""
        keys = {str(v).strip() for v in dataset[self.key]} if dataset.height else set()
        missing = list(
            Official.objects.exclude(external_id__isnull=True)
            .exclude(external_id__in=keys)
            .order_by("name")
            .values_list("name", "external_id")
        )
        if missing:
            names = ", ".join(
                f"{name} ({key})" for name, key in missing[:MISSING_LISTED]
            )
            more = len(missing) - MISSING_LISTED
            self._tell(
                messages.WARNING,
                f"{len(missing)} official(s) with an external id are not in this file "
                f"and are kept as they are: {names}"
                + (f" and {more} more" if more > 0 else "")
                + ". Untick “active” for those who left.",
            )
        if not kwargs.get("dry_run"):
            ids = [row.object_id for row in result.rows if row.object_id]
            campaign_pages_invalidate(official_ids=ids)


class _OfficialByExternalId(widgets.ForeignKeyWidget):
    def clean(self, value, row=None, **kwargs):
        value = value.strip() if isinstance(value, str) else value  # as the key
        try:
            return super().clean(value, row, **kwargs)
        except Official.DoesNotExist:
            raise ValueError(
                f'No official has the external id "{value}": import officials first.'
            ) from None


class AreaResource(_KeyedResource):
    key = "code"
    official = fields.Field(
        attribute="official",
        column_name="official_external_id",
        widget=_OfficialByExternalId(Official, field="external_id"),
    )

    class Meta:
        model = Area
        import_id_fields = ["code"]
        fields = ["code", "name", "official"]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
