"""Signs that a signature may be fake, for the admin's "looks fake" filter: the
organiser decides, with "Exclude from hand-in" (services/vetting.py). Reads only.
"""

from disposable_email_domains import blocklist
from django.db.models import Count, F, QuerySet, Value, Window
from django.db.models.functions import Lower, StrIndex, Substr

from .models import Signature

# Signatures from one client address (its keyed hash, recorded at signing) on one
# campaign from which a crowd looks made up: a household or an office signs a few.
SHARED_ADDRESS_MIN = 5
# A web address in a name: a scheme, "www.", or a dotted host with a common ending.
# The same in PostgreSQL's and Python's regexes (SQLite: the quick start).
URL_IN_NAME = r"(https?:|www\.|\w\.(com|net|org|info|biz|io|ru|cn|xyz|top)(\W|$))"


class Suspicion:
    DIGITS = "digits"
    URL = "url"
    DISPOSABLE = "disposable"
    SHARED_ADDRESS = "shared"
    ANY = "any"

    CHOICES = [
        (DIGITS, "Digits in the name"),
        (URL, "A web address in the name"),
        (DISPOSABLE, "A disposable email domain"),
        (SHARED_ADDRESS, f"{SHARED_ADDRESS_MIN}+ from one address"),
        (ANY, "Any of these"),
    ]


def _domain():
    email = Lower("email_normalised")
    return Substr(email, StrIndex(email, Value("@")) + 1)


def _shared_address_ids(signatures: QuerySet[Signature]) -> QuerySet:
    """Ids of signatures whose campaign has SHARED_ADDRESS_MIN or more from the
    same address hash: one sorted pass (a window), not a count per row, over the
    campaigns `signatures` are from only (not the whole table). Every signature
    of those campaigns counts, whatever else `signatures` was filtered by: a
    crowd is a crowd even when part of it was excluded already."""
    crowd = Window(Count("pk"), partition_by=[F("campaign_id"), F("client_ip_hash")])
    campaigns = signatures.order_by().values("campaign_id")
    return (
        signatures.model.objects.filter(campaign_id__in=campaigns)
        .exclude(client_ip_hash="")
        .annotate(crowd=crowd)
        .filter(crowd__gte=SHARED_ADDRESS_MIN)
        .values("pk")
    )


def signatures_looking_fake(
    signatures: QuerySet[Signature], *, suspicion: str
) -> QuerySet[Signature]:
    kinds = (
        [
            Suspicion.DIGITS,
            Suspicion.URL,
            Suspicion.DISPOSABLE,
            Suspicion.SHARED_ADDRESS,
        ]
        if suspicion == Suspicion.ANY
        else [suspicion]
    )
    conditions = []
    for kind in kinds:
        if kind == Suspicion.DIGITS:
            conditions.append(signatures.filter(full_name__regex=r"[0-9]"))
        elif kind == Suspicion.URL:
            conditions.append(signatures.filter(full_name__iregex=URL_IN_NAME))
        elif kind == Suspicion.DISPOSABLE:
            disposable = signatures.alias(domain=_domain())
            conditions.append(disposable.filter(domain__in=sorted(blocklist)))
        elif kind == Suspicion.SHARED_ADDRESS:
            conditions.append(signatures.filter(pk__in=_shared_address_ids(signatures)))
    if not conditions:
        return signatures
    found = conditions[0]
    for condition in conditions[1:]:
        found = found | condition
    return found
