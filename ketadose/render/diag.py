"""Diagnostics on stderr, silenced by --quiet; the document itself goes to the output stream
that the CLI opened (standard output, or the -o file)."""

from __future__ import annotations

import click

_NO_CONTEXT: dict = {}


def quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("quiet"))


def note(message: str) -> None:
    if not quiet():
        from ketadose.render.text import terminal_safe

        click.echo(terminal_safe(message), err=True)


def output():
    """The stream this command writes its document to: the -o file the CLI opened, or
    standard output (opened on first use, so that a closed stdout is only an error for a
    command that has something to write there)."""
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx else _NO_CONTEXT
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
