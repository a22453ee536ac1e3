"""Terminal tables with rich (imported only by commands that draw tables)."""

from __future__ import annotations

import os

from rich import box
from rich.console import Console
from rich.table import Table


def console(stderr: bool = False) -> Console:
    # rich honours NO_COLOR and only colours a terminal; width falls back to 100 when piped
    # so that tables in files and pipes are not squeezed to 80 columns.
    width = None if (stderr and os.isatty(2)) or (not stderr and os.isatty(1)) else 120
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=False)


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
        t.add_row(*[("" if c is None else str(c)) for c in row])
    return t


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan",
                  "absolute": "bold red", "relative": "red", "caution": "yellow"}
