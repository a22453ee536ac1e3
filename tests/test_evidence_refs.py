"""Every evidence reference a user meets resolves inside the repository.

Users see references such as "docs/evidence.md A2" or "docs/evidence.md PK1.3" in source strings,
templates, limit notes and the README. Each must name a section that docs/evidence.md defines
(an explicit <a id="..."> anchor). The developers' clinical notes live outside the repository, so
no user-facing text may point at them ("basis notes", "pk.md", the shared/clinical folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "docs" / "evidence.md"

# What users see: the package (messages, data, templates shipped with it), the regimen templates,
# the README and docs/. Pages meant only for developers could be exempted here; none is today.
USER_FACING = (ROOT / "ketadose", ROOT / "regimens", ROOT / "README.md", ROOT / "docs")
DEVELOPER_PAGES: frozenset[Path] = frozenset()
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".txt", ".json", ".html", ".css", ".js", ".svg",
                 ".j2", ".jinja", ".cfg", ".toml", ".csv"}

ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
# A section id: "0", a letter A-G with an optional number and sub-letter (A4b), or PKn[.m].
_ID = r"(?:PK\d+(?:\.\d+)?|[A-G](?:\d+[a-c]?)?|0)(?![\w])"
REFERENCE = re.compile(
    r"(?:docs/)?evidence\.md(?:#(?P<anchor>[\w\-]+(?:\.[\w\-]+)*)"
    rf"|(?P<ids>(?:(?:,\s+|\s+and\s+|\s+)(?:section\s+)?{_ID})+))?")
SECTION = re.compile(_ID)
FORBIDDEN = re.compile(r"basis[ _-]notes?|\bbasis\.md\b|\bpk\.md\b|shared/clinical", re.I)


def anchors(text: str) -> list[str]:
    return ANCHOR.findall(text)


def references(text: str) -> list[tuple[int, str]]:
    """(line, anchor) for every section a text refers to; "" for a bare file reference."""
    found = []
    for m in REFERENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group("anchor"):
            found.append((line, m.group("anchor")))
        elif m.group("ids"):
            found.extend((line, sid.lower()) for sid in SECTION.findall(m.group("ids")))
        else:
            found.append((line, ""))
    return found


def unresolved(text: str, defined: set[str]) -> list[tuple[int, str]]:
    return [(line, a) for line, a in references(text) if a and a not in defined]


def forbidden(text: str) -> list[tuple[int, str]]:
    return [(text.count("\n", 0, m.start()) + 1, m.group(0)) for m in FORBIDDEN.finditer(text)]


def user_facing_files():
    for top in USER_FACING:
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if (path.is_file() and path.suffix in TEXT_SUFFIXES and path not in DEVELOPER_PAGES
                    and "__pycache__" not in path.parts):
                yield path


def _defined() -> set[str]:
    return set(anchors(EVIDENCE.read_text(encoding="utf-8")))


def test_evidence_anchors_are_unique_and_cover_the_notes_sections():
    ids = anchors(EVIDENCE.read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    expected = {"0", "a", "a1", "a2", "a3", "a4", "a4a", "a4b", "a4c", "a5", "b", "b1", "b2", "b3",
                "b4", "b5", "b6", "c", "c1", "c2", "c3", "c4", "d", "e", "f", "f1", "f2", "f3",
                "f4", "g", *(f"g{i}" for i in range(1, 10)), "pk", "pk0", "pk1", "pk1.1",
                "pk1.2", "pk1.3", "pk1.4", "pk2", "pk5", *(f"pk5.{i}" for i in range(1, 8)),
                "pk6"}
    assert expected <= set(ids), sorted(expected - set(ids))


def test_every_evidence_reference_resolves():
    defined = _defined()
    bad = [f"{path.relative_to(ROOT)}:{line}: no section '{a}' in docs/evidence.md"
           for path in user_facing_files()
           for line, a in unresolved(path.read_text(encoding="utf-8", errors="replace"), defined)]
    assert not bad, "\n".join(bad)


def test_no_user_facing_text_points_at_the_developers_notes():
    bad = [f"{path.relative_to(ROOT)}:{line}: '{what}' is not in the repository; "
           "refer to docs/evidence.md SECTION instead"
           for path in user_facing_files()
           for line, what in forbidden(path.read_text(encoding="utf-8", errors="replace"))]
    assert not bad, "\n".join(bad)


# The checks themselves must be able to fail.
@pytest.mark.parametrize("text, expected", [
    ("NCT00579085 (docs/evidence.md A2)", []),
    ("(docs/evidence.md A1, G1); the step", []),
    ("see docs/evidence.md#pk1.3 and docs/evidence.md PK5.2 (boluses)", []),
    ("(docs/evidence.md section 0)", []),
    ("a synthesis (docs/evidence.md PK2).", []),
    ("(docs/evidence.md A9)", [(1, "a9")]),
    ("(docs/evidence.md\n      C2, F9)", [(1, "f9")]),
    ("line one\n(docs/evidence.md B4, G12)", [(2, "g12")]),
    ("docs/evidence.md#nowhere", [(1, "nowhere")]),
    ("(docs/evidence.md PK3)", [(1, "pk3")]),
])
def test_unresolved_references_are_found(text, expected):
    defined = _defined()
    assert unresolved(text, defined) == expected


def test_a_bare_reference_to_the_file_is_allowed():
    assert references("details in docs/evidence.md.") == [(1, "")]


@pytest.mark.parametrize("text", ["(basis notes A2)", "the ketadose basis notes hold no rule",
                                  "via basis note E", "pk.md section 2", "(pk.md 1.3)",
                                  "../shared/clinical/basis.md section F"])
def test_mentions_of_the_developers_notes_are_found(text):
    assert forbidden(text)


def test_ordinary_words_are_not_mistaken_for_references():
    assert forbidden("the basis of every number; evidence: list; weight_basis: actual") == []
    assert references("evidence: [] and the evidence A2 list") == []
