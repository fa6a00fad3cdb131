"""Cheaper flattening and addressing of the emails we send, byte for byte the
same.

Python's compat32 policy folds every header through email.header.Header, about
a third of the CPU of sending one campaign-update copy (bench/README.md, "Campaign
updates"), although nearly every header we write is a short line of printable
ASCII, which folding leaves exactly as it is. QUICK_FOLDING writes those lines
out directly and hands everything else (non-ASCII, long lines, runs of
whitespace, Header objects) to compat32 unchanged. Pure; tests/updates/
test_mime.py checks the two agree; envelope_address (below) likewise.
"""

import re
from email.policy import Compat32

from django.core.mail.message import sanitize_address

# Printable ASCII words separated by single spaces: no CR or LF (so no header
# can be injected through this path), nothing for Header to split or encode.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")


class QuickFolding(Compat32):
    def fold_binary(self, name, value):
        if (
            isinstance(value, str)
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
            and _PLAIN.fullmatch(value)
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


QUICK_FOLDING = QuickFolding()


# A plain address: dot-atom local part and ASCII domain labels (RFC 5321), as
# signing's validation and campaign/verp.py make them. Django's sanitize_address
# parses it with the email package's full header parser only to give back the
# same string; anything else (a display name, quotes, non-ASCII, CR/LF) still
# goes to it.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(
    rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}})*"
)


def envelope_address(address, encoding: str) -> str:
    """sanitize_address's result, without its parser for a plain address."""
    if isinstance(address, str) and _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, encoding)
