"""What counts as a line break and as a control character, for every piece of text
the site stores or sends: letter templates here, names, salutations and paragraphs
in campaign/validators.py.

Why refuse them at all? Names, salutations and subjects end up in email headers and
in CSV cells: a CR/LF there is a header injection waiting to happen, and the other
control characters (escape sequences, NUL) are never typed on purpose. Text blocks
(a letter, a paragraph) keep their line breaks and tabs, nothing else.

Pure Python with no Django imports, like rendering.py, which uses it.
"""

import re

# Everything str.splitlines() treats as a line boundary: what a mail client or a
# spreadsheet may break a line at, not only CR and LF.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK = re.compile(f"[{LINE_BREAKS}]")
# The C0 and C1 controls (Unicode category Cc, which holds every line break above
# but two) and those two: the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same, less the tab, LF and CR a block of text may hold.
_CONTROL_IN_BLOCK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

SINGLE_LINE_MESSAGE = (
    "This must be a single line without line breaks or control characters."
)
TEXT_BLOCK_MESSAGE = "This contains control characters; please remove them."


def has_line_break(text: str) -> bool:
    return bool(_LINE_BREAK.search(text))


def is_single_line(text: str) -> bool:
    """No line breaks or other control characters (tabs included)."""
    return not _CONTROL.search(text)


def is_text_block(text: str) -> bool:
    """Line breaks and tabs are fine, other control characters are not."""
    return not _CONTROL_IN_BLOCK.search(text)


def as_single_line(text: str) -> str:
    """Control characters as spaces, runs of whitespace as one space, no space at
    either end: what goes into a header when a value must be shown, not refused."""
    return " ".join(_CONTROL.sub(" ", text).split())


def normalise_newlines(text: str) -> str:
    """CRLF and CR to LF: browsers send textarea line breaks as CRLF, and a line
    break must count (and be stored) as one character, as the letter has it."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
