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
