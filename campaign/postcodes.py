"""Postcode districts: the outward code ("SW1A" of "SW1A 1AA"), which names an
area without identifying a household. Shown to officials instead of the full
postcode (the official's page, its CSV), and used for counts by area."""

import re

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


# --- the lookup's keys -----------------------------------------------------------
# A postcode dataset (campaign/models/areas.py) holds rows at three levels, each
# written in one canonical form: a full postcode "SW1A 1AA", a sector "SW1A 1"
# (the outward code and the inward code's digit) and a district "SW1A". The
# patterns are the one definition, read by the lookup below and, as SQL regular
# expressions, by the import (services/postcode_imports.py). A compact "SW11"
# is the district SW11, never the sector "SW1 1": a sector keeps its space.
OUTWARD = "[A-Z]{1,2}[0-9][A-Z0-9]?"
UNIT_PATTERN = f"^({OUTWARD})([0-9][A-Z]{{2}})$"  # of the compact form
SECTOR_PATTERN = f"^({OUTWARD}) +([0-9])$"  # of the upper-cased, trimmed form
DISTRICT_PATTERN = f"^({OUTWARD})$"  # of the compact form

UNIT, SECTOR, DISTRICT = 1, 2, 3  # levels, finest first
LEVEL_NAMES = {UNIT: "full postcodes", SECTOR: "sectors", DISTRICT: "districts"}


def postcode_keys(postcode: str) -> dict[int, str]:
    """{level: key} for what a supporter typed: a full postcode gives all three
    levels, a sector two, a district one; anything else (not a UK postcode) none.
    Case and spaces never matter."""
    spaced = " ".join(postcode.upper().split())
    compact = spaced.replace(" ", "")
    if unit := re.match(UNIT_PATTERN, compact):
        outward, inward = unit.groups()
        return {
            UNIT: f"{outward} {inward}",
            SECTOR: f"{outward} {inward[0]}",
            DISTRICT: outward,
        }
    if sector := re.match(SECTOR_PATTERN, spaced):
        outward, digit = sector.groups()
        return {SECTOR: f"{outward} {digit}", DISTRICT: outward}
    if re.match(DISTRICT_PATTERN, compact):
        return {DISTRICT: compact}
    return {}
