"""Diagnostics on stderr, silenced by --quiet; the document itself always goes to stdout."""

from __future__ import annotations

import click


def quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("quiet"))


def note(message: str) -> None:
    if not quiet():
        click.echo(message, err=True)
