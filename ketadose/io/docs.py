"""The documents for users, shipped with the package: `ketadose docs` lists and prints them.

The repository keeps one copy of each, in docs/, which setup.cfg installs as the package
ketadose.docs (its package_data names these same files: tests/test_docs.py checks that the two
lists agree). The other files in docs/ are for developers and are not shipped.
"""

from __future__ import annotations

import os

from ketadose.errors import KetadoseError

# In the order `ketadose docs` lists them: the sources first, then the formats and the parts.
USER_DOCS = (
    "evidence",
    "regimen-format",
    "safety-gate",
    "screening",
    "pk-population",
    "pk-validation",
    "fhir-and-cds-hooks",
    "scale",
    "shell-boundary",
)


def folder() -> str:
    """Where the documents are: the package ketadose.docs (docs/ in an editable install)."""
    import importlib  # the package's plain path, not importlib.resources (start-up cost)

    try:
        return os.path.dirname(importlib.import_module("ketadose.docs").__file__ or "")
    except ModuleNotFoundError:
        # An editable install made before setup.cfg mapped docs/ to ketadose.docs does not know
        # the package until it is installed again: the source tree's docs/, beside the package,
        # and only in a source tree (setup.cfg beside it), never a stray docs/ in site-packages.
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        if not os.path.isfile(os.path.join(root, "setup.cfg")):
            raise
        return os.path.join(root, "docs")


def doc_name(given: str) -> str:
    """The document a name means: `evidence`, `evidence.md` or `docs/evidence.md` (as the
    sources cite it); an unknown name is an input error that lists the known ones."""
    name = given.strip().removeprefix("docs/").removesuffix(".md").lower()
    if name in USER_DOCS:
        return name
    import difflib

    close = difflib.get_close_matches(name, USER_DOCS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    raise KetadoseError(f"no document {given!r}; {hint}the documents: {', '.join(USER_DOCS)}")


def doc_text(name: str) -> str:
    """The text of a shipped document (a name from USER_DOCS). A missing file is a broken
    install, not the user's input: the OSError goes up (exit 3)."""
    with open(os.path.join(folder(), name + ".md"), encoding="utf-8") as fh:
        return fh.read()


def doc_title(text: str) -> str:
    """A document's title: its first heading."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""
