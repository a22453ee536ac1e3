"""The regimen library as results (`list`, `show`): which templates a filter keeps, and one
regimen with its file identity and findings. Pure: the commands load, the renderers show."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ketadose.errors import KetadoseError
from ketadose.findings import Finding
from ketadose.regimen import Regimen


@dataclass(frozen=True)
class Template:
    """A regimen as read from its file: the file's name, text and sha256, the regimen and its
    (non-blocking) validation findings."""

    source_file: str
    sha256: str
    text: str
    regimen: Regimen
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Listing:
    """The templates a `list` keeps, in library order."""

    templates: tuple[Template, ...]


def listing(templates, condition: str | None, route: str | None) -> Listing:
    """The templates for a condition and route (None: any). An unknown condition is an input
    error with suggestions, never an empty list."""
    templates = tuple(templates)
    if condition:
        _known_condition(condition, {c for t in templates for c in t.regimen.conditions})
    return Listing(tuple(t for t in templates
                         if (not condition or condition in t.regimen.conditions)
                         and (not route or t.regimen.route == route)))


def _known_condition(condition: str, used: set) -> None:
    # the indications the templates name (not the patient vocabulary's contraindications)
    if condition in used:
        return
    close = difflib.get_close_matches(condition.lower(), sorted(used), n=3, cutoff=0.5)
    hint = (f"did you mean {', '.join(close)}?" if close
            else f"known: {', '.join(sorted(used))}")
    raise KetadoseError(f"--condition {condition!r} is not a condition id; {hint}")
