"""Terminal tables with rich (imported only by commands that draw tables).

Markup is OFF: every string is shown literally (a regimen title ``[/]`` or ``[link=…]`` is text,
not markup), and control and bidi characters are escaped before they reach a terminal. Styles
are applied by building ``Text`` objects with ``styled()``/``line()``.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ketadose.render.text import terminal_safe


class SafeConsole(Console):
    def render_str(self, text, **kwargs):
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(terminal_safe(text), **kwargs)


def console(stderr: bool = False, file=None) -> Console:
    """A console writing to ``file`` (default: the command's output stream, or stderr)."""
    if file is None and not stderr:
        from ketadose.render.diag import output

        file = output()
    # rich honours NO_COLOR and only colours a terminal; width falls back to 120 when piped
    # so that tables in files and pipes are not squeezed to 80 columns.
    tty = file.isatty() if file is not None else _stderr_tty()
    return SafeConsole(stderr=stderr, file=file, width=None if tty else 120, highlight=False,
                       soft_wrap=False, markup=False, emoji=False)


def _stderr_tty() -> bool:
    import os

    return os.isatty(2)


def styled(text, style: str = "") -> Text:
    """Literal text with a style."""
    return Text(terminal_safe("" if text is None else str(text)), style=style)


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
    return out


def table(title: str | None, columns, rows, caption: str | None = None) -> Table:
    t = Table(title=title, caption=caption, box=box.SIMPLE_HEAVY, show_lines=False,
              title_justify="left", caption_justify="left", expand=True)
    # Columns share the width by ratio (default 1) unless told not to wrap: free text
    # (sources, criteria) must wrap rather than push other columns off the screen.
    for col in columns:
        name, opts = col if isinstance(col, tuple) else (col, {})
        if not opts.get("no_wrap"):
            opts = {"ratio": 1, "overflow": "fold", **opts}
        t.add_column(name, **opts)
    for row in rows:
        t.add_row(*[c if isinstance(c, Text) else styled(c) for c in row])
    return t


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan",
                  "absolute": "bold red", "relative": "red", "caution": "yellow"}
