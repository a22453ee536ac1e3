"""Allergy texts matched against the substance vocabulary (data/vocabulary.yaml `substances`).

An allergy is free text as a clinician wrote it ("Ketalar (anaphylaxis)", "ketamine HCl",
"(S)-ketamine"). Matching ignores case, accents-as-compatibility forms and punctuation, and finds
a substance name anywhere in the text: long names (5 letters or more) as a run of letters with
punctuation and spaces removed, so "keta-mine" and "ketamineHCl" still match; short names only as
whole words, so "cat" does not match "catapres". A text that matches nothing is kept and asked
about; a text that looks like a ketamine name but is not one is asked about even when another
substance matched ("penicillin, ketmaine").
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

REACTIONS = ("anaphylaxis", "hypersensitivity", "intolerance", "unknown")
SEVERITIES = ("mild", "moderate", "severe", "life-threatening")
KETAMINE = "ketamine"
_SHORT = 5  # names shorter than this match whole words only


def words(text: str) -> list:
    """Lower-case letters and digits, split at everything else (NFKC first: full-width forms)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in re.split(r"[^0-9a-z]+", _strip_accents(text)) if w]


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Substance:
    """A substance of the allergy table: its names, family and vocabulary medicine."""

    id: str
    label: str
    family: str | None  # "ketamine" for the ketamine family
    medicine: str | None  # the vocabulary medicine it is (adjunct screening)
    names: tuple


class Matcher:
    """Finds the substances an allergy text names."""

    def __init__(self, substances: dict):
        self.substances = {}
        self._long, self._short = [], []
        for sid, info in substances.items():
            names = tuple(info.get("names", ())) + tuple(info.get("misspellings", ()))
            sub = Substance(sid, info.get("label", sid), info.get("family"), info.get("medicine"),
                            names)
            self.substances[sid] = sub
            for name in names:
                ws = words(name)
                if not ws:
                    raise ValueError(f"substance {sid}: empty name {name!r}")
                squashed = "".join(ws)
                if len(squashed) >= _SHORT:
                    self._long.append((squashed, sid))
                else:
                    self._short.append((tuple(ws), sid))
        self._family_words = sorted({"".join(words(n)) for s in self.substances.values()
                                     if s.family == KETAMINE for n in s.names})

    def match(self, text: str) -> tuple:
        """Substance ids named in ``text``, in vocabulary order."""
        ws = words(text)
        squashed = "".join(ws)
        found = {sid for name, sid in self._long if name in squashed}
        for name, sid in self._short:
            n = len(name)
            if any(tuple(ws[i:i + n]) == name for i in range(len(ws) - n + 1)):
                found.add(sid)
        return tuple(s for s in self.substances if s in found)

    def resembles_ketamine(self, text: str) -> str | None:
        """A ketamine-family name a word of ``text`` resembles (a likely misspelling), or None."""
        for w in words(text):
            if len(w) >= 5:
                close = difflib.get_close_matches(w, self._family_words, n=1, cutoff=0.75)
                if close:
                    return close[0]
        return None

    def is_ketamine(self, sid: str) -> bool:
        return self.substances[sid].family == KETAMINE


@dataclass(frozen=True)
class Allergy:
    """A recorded allergy and what it was matched to."""

    text: str  # as recorded
    substances: tuple = ()  # substance ids matched
    ketamine_family: bool | None = None  # None: nothing known about it (a question)
    reaction: str | None = None
    severity: str | None = None
    resembles: str | None = None  # the ketamine name an unmatched word resembles
    answered: bool = False  # the record says itself whether it is ketamine-family


def read(text: str, matcher: Matcher, reaction=None, severity=None, answer=None) -> Allergy:
    """One allergy from its text and optional details; ``answer`` is the record's own
    ketamine_family true/false (a matched ketamine name wins over a "false")."""
    subs = matcher.match(text)
    family = any(matcher.is_ketamine(s) for s in subs)
    near = None if family else matcher.resembles_ketamine(text)
    if family:
        known = True
    elif answer is not None:
        known = bool(answer)
    elif subs and near is None:
        known = False
    else:
        known = None
    return Allergy(text, subs, known, reaction, severity, near, answer is not None)
