"""`ketadose docs [NAME]`: the shipped documents for users, listed, or one printed whole.

The sources the tool cites ("docs/evidence.md E1", "docs/regimen-format.md") are these
documents, so that a clinician with only the installed package can read them. Printed as the
plain Markdown they are (to a terminal, a pipe or -o FILE alike): a rendering would hide the
links' addresses, which are sources too.
"""

from __future__ import annotations

from ketadose.io.docs import USER_DOCS, doc_name, doc_text, doc_title
from ketadose.render.diag import emit


def show_docs(name: str | None) -> None:
    if name is not None:
        emit(doc_text(doc_name(name)))
        return
    width = max(map(len, USER_DOCS))
    emit("".join(f"{n:<{width}}  {doc_title(doc_text(n))}\n" for n in USER_DOCS)
         + "\nRead one with `ketadose docs NAME` (NAME as above, or as a source cites it: "
         "docs/evidence.md).\n")
