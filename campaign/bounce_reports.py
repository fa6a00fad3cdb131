"""Reading a bounce: one raw email in, what it says about which outbox row out.
Pure (no database); the stdlib `email` package does the MIME work.

Two shapes are understood, both addressed to one of our VERP return paths
(campaign/verp.py), which names the row:
- a delivery status notification (RFC 3464: multipart/report with a
  message/delivery-status part), read from its per-recipient fields;
- a plain bounce from a mailer daemon, with an enhanced status code (RFC 3463)
  somewhere in its text.
Anything else (an auto-reply, spam, a forged or unknown address) is not a
bounce: parse_bounce says why, and the caller changes nothing.
"""

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses

from campaign.verp import verp_parse

# Headers an MTA puts the envelope recipient in when it delivers to a program,
# most reliable first (the To: of a bounce is usually our return path too).
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery (sub)?system", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|failure|has failed)|returned mail"
    r"|mail delivery failed|failure notice|delivery problem",
    re.I,
)
DIAGNOSTIC_CHARS = 1000  # what the row keeps of the server's words


@dataclass(frozen=True)
class Bounce:
    kind: str  # a key of verp.KINDS
    pk: int
    code: str  # "5.1.1"
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.code.startswith("5")


@dataclass(frozen=True)
class NotABounce:
    reason: str  # for the one log line: never an address or the mail's text


def parse_bounce(raw: bytes, *, recipient: str = "") -> Bounce | NotABounce:
    """What `raw` says, given the envelope `recipient` if the MTA passed it
    (else the recipient headers are read)."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        addresses = [recipient] if recipient else _recipients(message)
    except Exception:  # noqa: BLE001 (malformed mail: whatever the parser raises)
        return NotABounce("unreadable message")
    target = next(filter(None, map(verp_parse, addresses)), None)
    if target is None:
        return NotABounce("not addressed to a valid VERP address")
    kind, pk = target
    try:
        found = _delivery_status(message) or _plain_bounce(message)
    except Exception:  # noqa: BLE001 (as above)
        return NotABounce("unreadable bounce")
    if isinstance(found, NotABounce):
        return found
    if found is None:
        return NotABounce("no failure status in it (an auto-reply?)")
    code, diagnostic = found
    return Bounce(kind=kind, pk=pk, code=code, diagnostic=diagnostic)


def _recipients(message: EmailMessage) -> list[str]:
    # Delivered-To and friends are not address headers to the stdlib's policy:
    # read every one as plain text.
    values = [str(v) for name in RECIPIENT_HEADERS for v in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _delivery_status(message: EmailMessage) -> tuple[str, str] | NotABounce | None:
    """(status, diagnostic) of the first failed or delayed recipient of an RFC
    3464 report; NotABounce for a report of success; None if not a report."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # The stdlib parses the part into header blocks: the per-message fields
        # first, then one block per recipient.
        blocks = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else ():
            action = str(block.get("Action", "")).strip().lower()
            match = _STATUS.search(str(block.get("Status", "")))
            if action in ("failed", "delayed") and match and match[1] != "2":
                diagnostic = str(block.get("Diagnostic-Code", "")).strip()
                return match[0], _clip(diagnostic or f"{action} {match[0]}")
        return NotABounce("a delivery report without a failure")
    return None


def _plain_bounce(message: EmailMessage) -> tuple[str, str] | None:
    """A non-standard bounce: it must come from a mailer daemon or say so in
    its subject, and carry a 4.x.x or 5.x.x status code in its text."""
    sender, subject = str(message.get("From", "")), str(message.get("Subject", ""))
    if not (_DAEMON.search(sender) or _BOUNCE_SUBJECT.search(subject)):
        return None
    for part in message.walk():
        if part.get_content_type() != "text/plain":
            continue
        text = part.get_content()
        for match in _STATUS.finditer(text):
            if match[1] != "2":
                line_start = text.rfind("\n", 0, match.start()) + 1
                line_end = text.find("\n", match.end())
                line = text[line_start : line_end if line_end >= 0 else None]
                return match[0], _clip(line.strip())
    return None


def _clip(text: str) -> str:
    return " ".join(text.split())[:DIAGNOSTIC_CHARS]
