"""Terminal tables with rich (imported only by commands that draw tables).

Markup is OFF: every string is shown literally (a regimen title ``[/]`` or ``[link=…]`` is text,
not markup), and control and bidi characters are escaped before they reach a terminal. Styles
are applied by building ``Text`` objects with ``styled()``/``line()``.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ketadose.render.fit import FitTable, keep, shown
from ketadose.render.text import terminal_safe


class SafeConsole(Console):
    def render_str(self, text, **kwargs):
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return keep(super().render_str(terminal_safe(text), **kwargs))

    def render(self, renderable, options=None):
        # Spaces held together while wrapping (fit.KEEP) become spaces again on the way out.
        return shown(super().render(renderable, options))


def console(stderr: bool = False, file=None) -> Console:
    """A console writing to ``file`` (default: the command's output stream, or stderr)."""
    if file is None and not stderr:
        from ketadose.render.diag import output

        file = output()
    # rich honours NO_COLOR and only colours a terminal. A terminal's width is its own (or
    # COLUMNS); piped output is plain text at its natural width (tables as wide as their
    # content, paragraphs on one line), or COLUMNS when it is set.
    tty = file.isatty() if file is not None else _stderr_tty()
    return SafeConsole(stderr=stderr, file=file, width=None if tty else _piped_width(),
                       highlight=False, soft_wrap=False, markup=False, emoji=False)


PIPED = 100_000
"""Width for piped output without COLUMNS: wide enough that nothing wraps."""


def _piped_width() -> int:
    import os

    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPED


def _stderr_tty() -> bool:
    import os

    return os.isatty(2)


def styled(text, style: str = "") -> Text:
    """Literal text with a style (a number and its unit will not be split)."""
    return keep(Text(terminal_safe("" if text is None else str(text)), style=style))


def line(*parts) -> Text:
    """A line from literal strings and (text, style) pairs."""
    out = Text()
    for part in parts:
        if isinstance(part, tuple):
            out.append(terminal_safe(str(part[0])), style=part[1])
        elif isinstance(part, Text):
            out.append_text(part)
        else:
            out.append(terminal_safe(str(part)))
    return keep(out)


def table(title: str | None, columns, rows, caption: str | None = None) -> FitTable:
    """A table laid out for the width it is printed at (ketadose.render.fit): columns are
    names or (name, options) with no_wrap, ratio (share of spare width), min_width, cite."""
    return FitTable(title, columns, [[c if isinstance(c, Text) else styled(c) for c in row]
                                     for row in rows], caption)


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan",
                  "absolute": "bold red", "relative": "red", "caution": "yellow"}
