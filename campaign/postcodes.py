"""Postcode districts: the outward code ("SW1A" of "SW1A 1AA"), which names an
area without identifying a household. Shown to officials instead of the full
postcode (the official's page, its CSV), and used for counts by area."""

from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Replace, Upper


def postcode_district(postcode: str) -> str:
    """The inward code of a UK postcode is always its last three characters."""
    compact = "".join(postcode.split()).upper()
    return compact[:-3] if len(compact) > 4 else compact


def postcode_district_sql(field: str) -> Func:
    """postcode_district() in PostgreSQL, for exports and aggregates."""
    compact = Upper(Replace(F(field), Value(" "), Value("")))
    return Func(
        compact,
        Value("^(.+)(.{3})$"),
        Value("\\1"),
        function="regexp_replace",
        output_field=CharField(),
    )
