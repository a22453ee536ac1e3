"""Text from files and options, made safe for where it is shown.

Regimens, patients and options are written by people we do not control; their text must reach
the reader literally. Terminals obey control characters (``\\e]0;title\\a``, ``\\e[2J``) and
bidirectional overrides can reorder what a clinician reads; spreadsheets run cells that start
with ``=``; GitHub's annotation syntax splits on ``::`` and newlines. Each output gets its own
escape here, in one place.
"""

from __future__ import annotations

import re

# C0 (but tab and newline), DEL, C1, the bidirectional embedding/override/isolate marks, and
# U+E000, which the table layout uses internally for a space that must not break (render.fit).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ue000]")


def _visible(match) -> str:
    ch = match.group(0)
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, newlines: bool = True) -> str:
    """Control and bidi characters shown as escapes (``\\x1b``), never sent raw. Tabs and
    (unless ``newlines`` is False) newlines are kept."""
    out = _UNSAFE.sub(_visible, str(text))
    if not newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out


def has_unsafe(text: str) -> bool:
    return bool(_UNSAFE.search(text))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_safe(text: str) -> str:
    """JSON text with C1 controls and bidi marks as \\uXXXX escapes (the same data): json
    already escapes C0 controls; these would otherwise reach a terminal that cats the file."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A cell a spreadsheet will not run as a formula (OWASP: prefix with a quote) and that
    carries no raw control characters. Numbers and booleans pass unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA):
        value = "'" + value
    return terminal_safe(value)


def github_data(text: str) -> str:
    """The message part of a workflow command, as @actions/core escapeData does."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A property value (file=, title=), as @actions/core escapeProperty does."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def quote_token(text: str, limit: int = 40) -> str:
    """An offending token for an error message: short, one line, no control characters."""
    text = str(text)
    short = text if len(text) <= limit else text[:limit] + "…"
    return repr(terminal_safe(short, newlines=False))


# Every quoted token, short ones too, paired from the left: a pattern for long ones alone paired
# a closing quote with the next opening one ("'kgs' ...; accepted: ... 'N mg over T h'") and cut
# the text between two tokens as if it were one.
_QUOTED = re.compile(r"'([^'\n]*)'")
_LONG_NUMBER = re.compile(r"\d{41,}")


def shorten_quoted(message: str) -> str:
    """An error message with any quoted token (or bare number) longer than 60 characters cut
    to its start: the token is named, a 5,000-digit number or a pasted file is not echoed."""
    message = _QUOTED.sub(lambda m: m.group(0) if len(m.group(1)) <= 60
                          else f"'{m.group(1)[:40]}…' ({len(m.group(1))} characters)", message)
    return _LONG_NUMBER.sub(lambda m: f"{m.group(0)[:20]}… ({len(m.group(0))} digits)", message)
