"""Two traps on the sign form for the dumbest bots, which fill in every field they
find and post the moment they have the page. A person notices neither.

- A honeypot: a text box hidden from people (visually hidden by a CSS class, out
  of the tab order, hidden from screen readers), with a name that no browser or
  password manager fills in by itself. Anything typed into it is a bot's.
- A minimum fill time: each page carries its render time, signed so that it cannot
  be forged; a signing posted sooner than SIGN_MIN_SECONDS after it is refused.
  RATELIMIT_ENABLE=0 turns this one off (tests and benchmarks post at once).

A caught submission is refused openly (4xx, nothing stored or sent) and never
"accepted" while quietly dropped: a person caught by mistake can just send again.
"""

import time

from django.conf import settings
from django.core import signing

from .limits import Refusal

HONEYPOT_FIELD = "subject"
STAMP_FIELD = "form_stamp"
_SALT = "campaign.bot_traps.stamp"

REFUSAL = Refusal(
    message="Sorry, we could not take that signature. Please check your details "
    "and press “Sign the letter” again.",
    status=400,
)


def new_stamp() -> str:
    """This response's signed render time (campaign/page_cache.py fills it into
    the cached page for each response)."""
    return signing.dumps(time.time(), salt=_SALT)


def form_context(*, stamp: str) -> dict:
    """What the sign form's template needs for the traps."""
    return {"honeypot": HONEYPOT_FIELD, "stamp_field": STAMP_FIELD, "stamp": stamp}


def caught(data) -> bool:
    """True when a submitted sign form fell into either trap."""
    if data.get(HONEYPOT_FIELD):
        return True
    if not settings.RATELIMIT_ENABLE or not settings.SIGN_MIN_SECONDS:
        return False
    try:
        rendered = signing.loads(data.get(STAMP_FIELD, ""), salt=_SALT)
    except signing.BadSignature:  # missing, mangled or forged
        return True
    return time.time() - rendered < settings.SIGN_MIN_SECONDS
