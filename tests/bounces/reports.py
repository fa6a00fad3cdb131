"""Bounces as mail servers write them, built with the stdlib: an RFC 3464
delivery status notification, a plain mailer-daemon bounce, an auto-reply; and
process_bounce run as an MTA runs it (a process, the mail on standard input)."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from tests.support.worker import database_url

ROOT = Path(__file__).resolve().parents[2]


def dsn(
    to: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 <pm@gov.example>: Recipient address rejected",
) -> bytes:
    """A delivery status notification (RFC 3464) to `to`, as Postfix writes one
    (written out: the stdlib can parse this shape but not build it)."""
    return f"""\
Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mx.gov.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.gov.example
Arrival-Date: Fri,  4 Dec 2026 05:20:00 +0000

Final-Recipient: rfc822; pm@gov.example
Original-Recipient: rfc822;pm@gov.example
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--B0UND
Content-Type: text/rfc822-headers

Subject: Save the Library
To: Prime Minister <pm@gov.example>

--B0UND--
""".replace("\n", "\r\n").encode()


def plain_bounce(to: str, *, line: str = "550 5.2.1 Mailbox disabled") -> bytes:
    """A bounce with no report part, as older servers send (Exim's wording)."""
    message = EmailMessage()
    message["From"] = "Mail Delivery System <Mailer-Daemon@mx.gov.example>"
    message["To"] = to
    message["Subject"] = "Mail delivery failed: returning message to sender"
    message.set_content(
        "This message was created automatically by mail delivery software.\n\n"
        f"A message that you sent could not be delivered:\n\n  pm@gov.example\n"
        f"    SMTP error from remote mail server after RCPT TO: {line}\n"
    )
    return message.as_bytes()


def auto_reply(to: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Prime Minister <pm@gov.example>"
    message["To"] = to
    message["Subject"] = "Out of office: Save the Library"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I am away until 5.1.2027 and will reply on my return.\n")
    return message.as_bytes()


def process_bounce(raw: bytes, **env: str) -> subprocess.CompletedProcess:
    """`manage.py process_bounce` in a process of its own, on this test's
    database unless `env` says otherwise."""
    import os

    return subprocess.run(
        [sys.executable, "manage.py", "process_bounce"],
        input=raw,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), **env},
        capture_output=True,
        timeout=120,
        check=False,
    )


def process_bounces(raws: list[bytes]) -> list[subprocess.CompletedProcess]:
    """process_bounce() for each report, the processes running at once (as the
    MTA runs them: one per message)."""
    with ThreadPoolExecutor(max_workers=len(raws)) as pool:
        return list(pool.map(process_bounce, raws))
