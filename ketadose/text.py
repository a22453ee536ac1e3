"""Free text from users made safe to count and to show: no control, format (zero-width) or
escape characters. A clinician's override reason must be read, so what counts towards its
minimum length is what a terminal would actually show.
"""

from __future__ import annotations

import re
import unicodedata

# ANSI/VT escape sequences (CSI, OSC, and two-character escapes), 7-bit and the 8-bit CSI/OSC:
# removed whole, so "\x1b[31m" does not leave "[31m" behind to be counted as a reason.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[@-Z\\-_]")


def printable(text: str) -> str:
    """``text`` without escape sequences and control, format, private-use, unassigned or
    line/paragraph-separator characters; whitespace runs become one space."""
    text = _ESCAPES.sub("", text)
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch)[0] != "C"
                   and unicodedata.category(ch) not in ("Zl", "Zp"))
    return " ".join(text.split())


def visible_length(text: str) -> int:
    """How many characters of ``text`` a reader sees, spaces not counted."""
    return sum(1 for ch in printable(text) if not ch.isspace())


def suggest(word: str, options, *, many: bool = False, otherwise: str = "") -> str:
    """"; did you mean 'x'?" for the closest option (``many``: up to three, unquoted), or
    ``otherwise`` when none is close."""
    import difflib  # only when something is misspelt

    close = difflib.get_close_matches(word, list(options), n=3 if many else 1, cutoff=0.6)
    if not close:
        return otherwise
    return f"; did you mean {', '.join(close) if many else repr(close[0])}?"
