"""Diagnostics on stderr, silenced by --quiet; the document itself goes to the output stream
that the CLI opened (standard output, or the -o file)."""

from __future__ import annotations

import sys

from ketadose.runmeta import fast
from ketadose.runmeta import meta as _meta

_NO_CONTEXT: dict = {}


def echo_err(text: str) -> None:
    """One line on stderr, as click.echo(err=True) writes it (through click when click runs)."""
    if not fast():
        import click

        click.echo(text, err=True)
        return
    if sys.stderr is not None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def quiet() -> bool:
    meta = _meta()
    return bool(meta and meta.get("quiet"))


def note(message: str) -> None:
    if not quiet():
        from ketadose.render.text import terminal_safe

        echo_err(terminal_safe(message))


def output():
    """The stream this command writes its document to: the -o file the CLI opened, or
    standard output (opened on first use, so that a closed stdout is only an error for a
    command that has something to write there)."""
    meta = _meta()
    if meta is None:
        meta = _NO_CONTEXT
    if meta.get("out") is None:
        opener = meta.get("open_stdout")  # set by the CLI (renderers do not open files)
        if opener is None:
            import sys

            return sys.stdout
        meta["out"] = opener()
    return meta["out"]


def emit(text: str) -> None:
    """Write part of the document to the output stream."""
    output().write(text)


def emit_line(text: str = "") -> None:
    """One line of a text document, shown literally (control characters escaped)."""
    from ketadose.render.text import terminal_safe

    output().write(terminal_safe(text) + "\n")
