"""The settings of the current run that renderers and loaders read: --quiet, --force, the
output stream the CLI opened, the reporter of loader warnings.

Under click they live in click's context (``ctx.meta``). The click-free fast path
(ketadose.fastpath) keeps them in a dict of its own, installed here, so that `validate FILE` and
`simulate ID` never import click (issue 18: start-up time). Nothing here imports click: it is
looked up only when it is already loaded.
"""

from __future__ import annotations

import sys

_FAST: dict | None = None


def install(meta: dict) -> None:
    """The fast path's settings for this process (it runs one command and exits)."""
    global _FAST
    _FAST = meta


def meta() -> dict | None:
    """The current run's settings, or None outside a command (e.g. the core's tests)."""
    if _FAST is not None:
        return _FAST
    click = sys.modules.get("click")
    if click is None:
        return None
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else None


def fast() -> bool:
    """Whether the fast path (not click) runs this process's command."""
    return _FAST is not None
