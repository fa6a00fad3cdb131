"""Cheaper flattening of the emails we send, byte for byte the same.

Python's compat32 policy folds every header through email.header.Header, about
a third of the CPU of sending one campaign-update copy (bench/README.md, "Campaign
updates"), although nearly every header we write is a short line of printable
ASCII, which folding leaves exactly as it is. QUICK_FOLDING writes those lines
out directly and hands everything else (non-ASCII, long lines, runs of
whitespace, Header objects) to compat32 unchanged. Pure; tests/updates/
test_mime.py checks the two agree.
"""

import re
from email.policy import Compat32

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
