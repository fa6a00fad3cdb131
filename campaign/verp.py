"""VERP return paths: each email to an official goes out with an envelope sender
of its own, `bounces+l42-<signature>@<BOUNCE_DOMAIN>`, so a bounce (which goes to
the envelope sender, not to From) says exactly which outbox row it is about.

Pure: no database. The signature is an HMAC keyed with SECRET_KEY, so nobody can
forge a bounce for a row they did not receive mail from; lowercase base32,
because some servers lowercase addresses on the way back.
"""

import base64
import hmac
import re

from django.conf import settings
from django.utils.crypto import salted_hmac

PREFIX = "bounces"
# One letter per outbox table: l(etter), d(igest), u(pdate email). Mail to
# officials and campaign updates are VERP-addressed (an update's permanent bounce
# stops further updates to that address); the bounce service maps the letter
# back to the table.
KINDS = {"l": "letter", "d": "digest", "u": "update email"}
_SIGNATURE_CHARS = 16  # 80 bits of the HMAC
MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1

_ADDRESS = re.compile(
    rf"^{PREFIX}\+(?P<kind>[a-z])(?P<pk>[0-9]{{1,19}})-(?P<sig>[a-z2-7]{{{_SIGNATURE_CHARS}}})@(?P<domain>[^@\s]+)$"
)


def bounce_domain() -> str:
    return settings.BOUNCE_DOMAIN or settings.DEFAULT_FROM_EMAIL.rpartition("@")[2]


def _signature(kind: str, pk: int) -> str:
    digest = salted_hmac("quillpost.verp", f"{kind}{pk}", algorithm="sha256").digest()
    return base64.b32encode(digest).decode("ascii").lower()[:_SIGNATURE_CHARS]


def verp_address(*, kind: str, pk: int) -> str:
    """The envelope sender for outbox row `pk` of `kind` (a key of KINDS)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown VERP kind {kind!r}")
    local = f"{PREFIX}+{kind}{pk}-{_signature(kind, pk)}"
    if len(local) > MAX_LOCAL_PART:  # 45 characters for a 19-digit id
        raise ValueError(f"VERP local part over {MAX_LOCAL_PART} characters")
    return f"{local}@{bounce_domain()}"


def verp_parse(address: str) -> tuple[str, int] | None:
    """(kind, pk) for a genuine VERP address of ours, else None (not one, another
    domain, or a signature that does not match: forged or mangled)."""
    match = _ADDRESS.match(address.strip().strip("<>").lower())
    if match is None or match["kind"] not in KINDS:
        return None
    if match["domain"] != bounce_domain().lower():
        return None
    kind, pk = match["kind"], int(match["pk"])
    if not hmac.compare_digest(match["sig"], _signature(kind, pk)):
        return None
    return kind, pk
