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


BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def bidi_message(found: re.Match) -> str:
    """The one wording for a bidirectional control character, for files and batch records."""
    return (f"bidirectional control character U+{ord(found.group(0)):04X} "
            "(it can reorder the text a reader sees); remove it")


# Refused in every text of a patient record and in every file, on every input path (flags,
# files, batch lines, the API): control characters but tab, line feed and carriage return
# (C0, DEL, C1: a terminal acts on them, a reader does not see them), the bidirectional
# embedding, override and isolate marks (BIDI), and lone surrogates (an invalid byte on the
# command line, half of a broken \u escape). A batch refused them where a flag took them.
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                    "\ud800-\udfff]")


def unsafe_message(found: re.Match) -> str:
    """The one wording for a character UNSAFE finds (bidi_message for a bidirectional one)."""
    char = found.group(0)
    if BIDI.match(char):
        return bidi_message(found)
    if "\ud800" <= char <= "\udfff":
        return (f"U+{ord(char):04X} is not a character (a lone surrogate: an invalid byte, or half of a broken "
                "\\u escape); remove it")
    return f"control character U+{ord(char):04X} (a reader cannot see it); remove it"
