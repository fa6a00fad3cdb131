"""How much of a letter is the supporter's own writing.

A word-level diff between the letter as sent and the same letter rendered for the
same official and supporter without their paragraph and edits: what the supporter
added or rewrote counts, their name, town and postcode never do (both versions
have them), and neither do copies of the template's own sentences. Counting words
rather than characters keeps "!!!!!!!!" or a pasted URL from buying a letter its
own email. Pure: no Django, no database.
"""

import re
from difflib import SequenceMatcher

# Letters and digits, with inner apostrophes and hyphens ("don't", "well-known").
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def own_word_count(*, letter: str, standard: str) -> int:
    """Words of `letter` that the diff against `standard` marks as inserted or
    replaced (a rewritten sentence counts its new words, a deleted one nothing)."""
    if letter == standard:
        return 0
    mine, theirs = words(letter), words(standard)
    # autojunk off: in a long letter "the" and "and" would otherwise be junked
    # and every sentence around them counted as new.
    matcher = SequenceMatcher(None, theirs, mine, autojunk=False)
    return sum(
        j2 - j1
        for tag, _i1, _i2, j1, j2 in matcher.get_opcodes()
        if tag in ("insert", "replace")
    )
