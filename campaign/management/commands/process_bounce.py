"""Read one bounce from standard input and record it: how an MTA hands mail for
the VERP return paths to a program (docs/deploy.md, "Bounces and receipts").

Exit codes are what the MTA acts on: 0 whether the mail was a bounce or not
(anything else would make it send a bounce about our bounce handling), 75
(EX_TEMPFAIL) when the database cannot be reached, so the MTA keeps the mail
and tries again later.
"""

import logging
import os
import sys

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError

from campaign.bounce_reports import NotABounce, parse_bounce
from campaign.services.bounces import outbox_bounce_record

logger = logging.getLogger("campaign.bounces")

EX_TEMPFAIL = 75
MAX_BYTES = 10 * 1024 * 1024  # a DSN quotes at most the original message


class Command(BaseCommand):
    help = "Record one bounce (raw email on standard input) against its outbox row."
    requires_system_checks = []  # run per bounce: start fast, touch nothing else

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipient",
            default="",
            help="The envelope recipient, if the MTA passes it (Postfix pipe: "
            "${original_recipient}). Default: $ORIGINAL_RECIPIENT or $RECIPIENT "
            "if set, else the Delivered-To, X-Original-To, Envelope-To and To "
            "headers.",
        )

    def handle(self, *args, recipient: str, **options):
        raw = sys.stdin.buffer.read(MAX_BYTES)
        recipient = (
            recipient
            or os.environ.get("ORIGINAL_RECIPIENT", "")
            or os.environ.get("RECIPIENT", "")
        )
        found = parse_bounce(raw, recipient=recipient)
        if isinstance(found, NotABounce):
            logger.info("process_bounce: ignored (%s)", found.reason)
            return
        try:
            outcome = outbox_bounce_record(bounce=found)
        except (OperationalError, InterfaceError):
            logger.warning("process_bounce: database unreachable; exit 75 (retry)")
            sys.exit(EX_TEMPFAIL)
        logger.info("process_bounce: %s", outcome)
