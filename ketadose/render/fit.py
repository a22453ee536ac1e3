"""Tables that fit the screen they are drawn on (issue 16 item 1).

Three promises, whatever the width:
- a number and its unit are never split across lines ("25.0 mL/h", "0.35 mg/kg/h", "PMID 123"):
  the space between them is held by a placeholder glyph while rich wraps, and a column is never
  narrower than its longest such token (rich's own layout shrinks columns below their widest
  word and then cuts numbers a character a line);
- long citations become short references ``[1]`` with a numbered source list under the table;
- a table whose columns cannot all get a readable width folds into stacked key/value blocks,
  one block per row, instead of crushing every column.

Widths are computed here and handed to rich as fixed column widths, so rich never has to
collapse a column.
"""

from __future__ import annotations

import re

from rich import box
from rich.cells import cell_len
from rich.padding import Padding
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

KEEP = "\ue000"
"""Stands for a space that must not break while rich wraps; shown as a space. A private-use
character: not whitespace to rich's word splitter, one cell wide; terminal_safe escapes it in
text from files, so only ``protect`` puts it there."""

_UNIT_ATOM = (r"(?:mcg|mg|ng|g|kg|lb|min|hours?|hr|h|days?|weeks?|months?|years?|mL|L|cm|m"
              r"|mmHg|bpm|U|umol|IU|mmol|L)")
_UNIT = rf"(?:%|{_UNIT_ATOM}(?:[/·](?:\d+{KEEP}?)?{_UNIT_ATOM})*)"
# A space that joins a number to its unit, 'PMID' to its number, or a date to its time.
_JOIN = re.compile(rf"(?<=\d) (?={_UNIT}(?![A-Za-z0-9]))"
                   r"|(?<=PMID) (?=\d)"
                   r"|(?<=\d{4}-\d\d-\d\d) (?=\d\d:\d\d)"
                   r"|(?<=\b[A-Z][a-z]{2}) (?=\d\d [A-Z][a-z]{2} \d\d:\d\d)"
                   r"|(?<=\b[A-Z][a-z]{2} \d\d) (?=[A-Z][a-z]{2} \d\d:\d\d)"
                   r"|(?<=\b\d\d [A-Z][a-z]{2}) (?=\d\d:\d\d)")

CITATION_HEADERS = frozenset({"source", "sources"})
"""Columns whose cells are citations: shown as [n] with the list under the table."""
INLINE_CITATION = 24
"""Citations up to this many characters stay in their cell."""
READABLE = 12
"""Below this many characters a wrapping column is unreadable: fold the table instead."""
LONG_WORD = 24
"""A word without digits longer than this may be folded (a URL, a chemical name) rather than
widen its column; a word with digits never is."""


def shown(segments):
    """Segments with the protected spaces printed as spaces (the console's last step), and
    without the spaces that pad a line at its end (a table's cells pad to the table's width):
    only the end of a line is touched, so columns keep their places and no number is split."""
    pending: list = []  # blank segments at the end of the line so far: dropped at its newline
    for seg in segments:
        if seg.control:
            yield from pending
            pending = []
            yield seg
            continue
        parts = seg.text.replace(KEEP, " ").split("\n")
        for i, part in enumerate(parts):
            if i:
                pending = []
                yield Segment("\n")
            kept = part.rstrip(" ")
            if kept:
                yield from pending
                pending = []
                yield Segment(kept, seg.style)
            if len(kept) < len(part):
                pending.append(Segment(part[len(kept):], seg.style))
    yield from pending


def protect(text: str) -> str:
    """``text`` with the spaces inside number-unit tokens replaced by ``KEEP`` (same length)."""
    return _JOIN.sub(KEEP, text)


def keep(text: Text) -> Text:
    """A copy of ``text`` (styles kept) whose number-unit tokens will not be split when a
    console that prints them through ``shown`` wraps it."""
    out = Text(protect(text.plain), style=text.style, justify=text.justify,
                   overflow=text.overflow, no_wrap=text.no_wrap, end=text.end,
                   tab_size=text.tab_size)
    out.spans = list(text.spans)
    return out


def _narrowest(plain: str) -> int:
    """The narrowest a cell can be without splitting a number (or a short word)."""
    widths = [cell_len(w) if len(w) <= LONG_WORD or any(c.isdigit() for c in w) else LONG_WORD
              for w in plain.split()]
    return max(widths, default=0)


def _widest(plain: str) -> int:
    return max((cell_len(x) for x in plain.splitlines()), default=0)


class Column:
    def __init__(self, spec):
        name, opts = spec if isinstance(spec, tuple) else (spec, {})
        self.name = name
        self.no_wrap = bool(opts.get("no_wrap"))
        self.ratio = opts.get("ratio") or 1
        self.min_width = opts.get("min_width") or 0
        self.cite = opts.get("cite", name.lower() in CITATION_HEADERS)


class FitTable:
    """A titled table laid out at print time for the width it gets (see module doc)."""

    def __init__(self, title, columns, rows, caption=None):
        self.title = title
        self.columns = [Column(c) for c in columns]
        self.rows = [[keep(c) for c in row] for row in rows]
        self.caption = caption
        self.sources: list[str] = []
        self._cite()

    def _cite(self) -> None:
        """Replace long citations by [n]; identical citations share a number."""
        for j, col in enumerate(self.columns):
            texts = [row[j].plain.replace(KEEP, " ") for row in self.rows if j < len(row)]
            if not col.cite or max(map(len, texts), default=0) <= INLINE_CITATION:
                continue
            for row in self.rows:
                plain = row[j].plain.replace(KEEP, " ").strip()
                if not plain:
                    continue
                if plain not in self.sources:
                    self.sources.append(plain)
                row[j] = Text(f"[{self.sources.index(plain) + 1}]")

    # ----------------------------------------------------------------- layout
    def _ranges(self) -> tuple[list[int], list[int]]:
        lo, hi = [], []
        for j, col in enumerate(self.columns):
            plains = [row[j].plain for row in self.rows if j < len(row)]
            head = keep(Text(col.name)).plain
            widest = max([_widest(p) for p in plains] + [_widest(head)])
            narrow = max([_narrowest(p) for p in plains] + [_narrowest(head), col.min_width])
            if col.no_wrap:
                narrow = max(narrow, *[_widest(p) for p in plains], 0)
            lo.append(narrow)
            hi.append(max(widest, narrow))
        return lo, hi

    def widths(self, width: int) -> list[int] | None:
        """Column widths (content only) for a screen ``width``, or None: fold the table."""
        lo, hi = self._ranges()
        avail = width - _overhead(len(self.columns))
        if sum(hi) <= avail:
            return hi
        readable = [min(h, max(m, READABLE)) for m, h in zip(lo, hi)]
        if sum(readable) > avail:
            return None
        return _share(readable, hi, [c.ratio for c in self.columns], avail - sum(readable))

    # ----------------------------------------------------------------- rendering
    def __rich_console__(self, console, options):
        width = options.max_width
        if self.title:
            yield keep(Text(self.title, style="table.title"))
        widths = self.widths(width)
        if widths is None:
            yield from self._stacked()
        else:
            yield self._table(widths)
        if self.sources:
            yield _numbered(self.sources)
        if self.caption:
            yield keep(Text(self.caption, style="table.caption"))

    def _table(self, widths) -> Table:
        t = Table(box=box.SIMPLE_HEAVY, show_lines=False, expand=False)
        for col, w in zip(self.columns, widths):
            t.add_column(keep(Text(col.name)), width=w, overflow="fold")
        for row in self.rows:
            t.add_row(*row)
        return t

    def _stacked(self):
        """One block per row: the first cell as a heading, then 'column  value' lines."""
        keys = [c.name for c in self.columns[1:]]
        key_w = max((cell_len(k) for k in keys), default=0)
        for row in self.rows:
            yield row[0] if not row[0].plain.strip() else _bold(row[0])
            grid = Table.grid(padding=(0, 2))
            grid.add_column(min_width=key_w, no_wrap=True, style="dim")
            grid.add_column(overflow="fold")
            for key, cell in zip(keys, row[1:]):
                if cell.plain.strip():
                    grid.add_row(keep(Text(key)), cell)
            yield Padding(grid, (0, 0, 0, 2))


def _bold(text: Text) -> Text:
    out = text.copy()
    out.stylize("bold")
    return keep(out)


def _overhead(ncols: int) -> int:
    """Cells a SIMPLE_HEAVY table spends on edges and padding (1 each side of each cell)."""
    return 2 + (ncols - 1) + 2 * ncols


def _share(widths: list[int], caps: list[int], weights: list[int], extra: int) -> list[int]:
    """Give ``extra`` cells to the columns below their cap, by weight, never above the cap."""
    widths = list(widths)
    while extra > 0:
        open_ = [j for j, (w, c) in enumerate(zip(widths, caps)) if w < c]
        if not open_:
            break
        total = sum(weights[j] for j in open_)
        given = 0
        for j in open_:
            share = min(caps[j] - widths[j], max(1, extra * weights[j] // total))
            share = min(share, extra - given)
            widths[j] += share
            given += share
            if given >= extra:
                break
        extra -= given
    return widths


def _numbered(sources: list[str]) -> Table:
    """'[1] citation' lines, the citations wrapped under themselves."""
    grid = Table.grid(padding=(0, 1))
    label_w = len(f"[{len(sources)}]")
    grid.add_column(min_width=label_w, no_wrap=True, justify="right")
    grid.add_column(overflow="fold")
    for i, src in enumerate(sources, 1):
        grid.add_row(Text(f"[{i}]"), keep(Text(src)))
    return grid
