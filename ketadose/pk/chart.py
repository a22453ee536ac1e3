"""The concentration chart: text for an 80-column terminal, SVG (no dependency), PNG (matplotlib)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from ketadose.pk.models import BANDS

WIDTH, HEIGHT = 60, 14  # plot area; labels bring the text chart to at most 80 columns
BAND_SOURCE = ("display bands: a synthesis of published concentration ranges, not a target "
               "or a source (docs/evidence.md PK2)")


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """0 and multiples of a 1-2-5 step up to ``top`` (about ``n`` of them)."""
    import math

    if not top > 0:
        return [0.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(top / step + 1e-9) + 1)]


def time_ticks(t_end_h: float) -> tuple[list[tuple[float, str]], str]:
    """Ticks of the time axis as (hours, label) and the axis unit: hours up to 3 days, then days."""
    scale, unit = (24.0, "days") if t_end_h > 72 else (1.0, "hours")
    return [(v * scale, f"{v:g}") for v in nice_ticks(t_end_h / scale)], unit


def _text_time_axis(t_h, width: int = WIDTH) -> str:
    """The labels under the text chart's time axis, each centred on its column."""
    ticks, unit = time_ticks(float(t_h[-1] - t_h[0]))
    line = [" "] * (width + 12)
    span = max(float(t_h[-1] - t_h[0]), 1e-9)
    last = -2
    for hours, label in ticks:
        x = 9 + int(round(hours / span * (width - 1)))
        start = max(x - len(label) // 2, last + 2)
        if start + len(label) > len(line):
            break
        line[start:start + len(label)] = label
        last = start + len(label)
    return "".join(line).rstrip() + f"  {unit}"


def _text_tick_row(t_h, width: int = WIDTH) -> str:
    ticks, _ = time_ticks(float(t_h[-1] - t_h[0]))
    span = max(float(t_h[-1] - t_h[0]), 1e-9)
    axis = ["-"] * width
    for hours, _label in ticks:
        axis[min(int(round(hours / span * (width - 1))), width - 1)] = "+"
    return f"{'':7} +{''.join(axis)}+"


def text_chart(t_h, c, title: str, marks=()) -> str:
    top = max(float(c.max()) * 1.1, 1.0)
    bins = np.linspace(t_h[0], t_h[-1], WIDTH + 1)
    idx = np.clip(np.searchsorted(bins, t_h, side="right") - 1, 0, WIDTH - 1)
    col_max = np.zeros(WIDTH)
    np.maximum.at(col_max, idx, c)
    rows = []
    band_rows = {}
    for level, label in BANDS:
        if level < top:
            band_rows[int((1 - level / top) * (HEIGHT - 1))] = (level, label)
    for r in range(HEIGHT):
        y = top * (1 - r / (HEIGHT - 1))
        line = []
        for x in range(WIDTH):
            h = int((1 - col_max[x] / top) * (HEIGHT - 1) + 0.5)
            if h == r:
                line.append("*")
            elif h < r:
                line.append(":")
            else:
                line.append("-" if r in band_rows else " ")
        band = band_rows.get(r)
        right = f" {band[0]:g}" if band else ""
        rows.append(f"{y:7.0f} |{''.join(line)}|{right}")
    axis = _text_tick_row(t_h)
    ticks = _text_time_axis(t_h)
    legend = wrap("plasma ketamine (ng/mL) over time; dashed lines at " + ", ".join(
        f"{lv:g}" for lv, _ in BANDS if lv < top) + f" ng/mL: {BAND_SOURCE}", 78, "  ")
    legend += [x for m in marks_legend(marks) for x in wrap(m, 78, "  ")]
    return "\n".join([title, *rows, axis, ticks, *legend])


W, H, LEFT, RIGHT, TOP, BOTTOM = 900, 460, 70, 270, 40, 90  # SVG size and plot margins


def _esc(text: str) -> str:
    """XML text. Labels from files arrive already made visible by the renderer; XML 1.0 cannot
    carry control characters at all, so any left are shown as escapes, never sent raw."""
    import re

    text = re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group(0)):02x}",
                  str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` characters; a number is never parted from the unit
    after it (the 60-column screen test reads "200 ng/mL" as one token)."""
    import re
    import textwrap

    glued = re.sub(r"(\d) (?=[A-Za-z%])", "\\1\xa0", text)  # textwrap does not break at U+00A0
    return [line.replace("\xa0", " ") for line in textwrap.wrap(
        glued, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)]


def marks_legend(marks) -> list[str]:
    """The UNVERIFIED (or code-only, or assumed) entries behind a chart, one legend line each:
    a chart is an output format too, and the mark must be seen beside the number."""
    return [f"UNVERIFIED/assumed: {m}" for m in marks]


def svg_frame(t_h, top: float, title: str, draw, legend: list[str],
              keys: list | None = None) -> str:
    """An SVG chart: title, axes with ticks and labels (time in hours or days, concentration in
    ng/mL), the display bands labelled with what they mean, and a legend. ``draw(x, y)`` returns
    the data elements, given the functions mapping hours and ng/mL to the page. ``keys``: the
    (colour, dash) of the line each legend entry names (None for a line of text only); the
    page grows with the legend, so no entry (an UNVERIFIED mark) is ever cut off."""
    legend = [*legend, f"Dashed grey lines: {BAND_SOURCE}."]
    keys = (keys or []) + [None] * (len(legend) - len(keys or []))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    height = H + 14 * max(0, len(legend) - 2)
    t0, span = float(t_h[0]), max(float(t_h[-1] - t_h[0]), 1e-9)

    def x(t):
        return LEFT + (t - t0) / span * pw

    def y(v):
        return TOP + ph - v / top * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
           f'viewBox="0 0 {W} {height}" font-family="sans-serif">'
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="24" font-size="14">{_esc(title)}</text>']
    for v in nice_ticks(top):
        out.append(f'<line x1="{LEFT - 5}" x2="{LEFT + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#eee"/><text x="{LEFT - 8}" y="{y(v) + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{v:g}</text>')
    ticks, unit = time_ticks(span)
    for hours, label in ticks:
        out.append(f'<line x1="{x(t0 + hours):.1f}" x2="{x(t0 + hours):.1f}" y1="{TOP + ph}" '
                   f'y2="{TOP + ph + 5}" stroke="black"/><text x="{x(t0 + hours):.1f}" '
                   f'y="{TOP + ph + 18}" font-size="11" text-anchor="middle">{label}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + ph}" x2="{LEFT + pw}" y2="{TOP + ph}" '
               f'stroke="black"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + ph}" '
               'stroke="black"/>')
    out.append(f'<text x="{LEFT + pw / 2:.0f}" y="{TOP + ph + 36}" font-size="12" '
               f'text-anchor="middle">time from the start of the course ({unit})</text>')
    out.append(f'<text transform="translate(16 {TOP + ph / 2:.0f}) rotate(-90)" font-size="12" '
               'text-anchor="middle">plasma concentration (ng/mL)</text>')
    below = float("inf")  # labels of close bands (50 and 70 ng/mL) pushed apart, never overlaid
    for level, label in sorted(BANDS):
        if level < top:
            at = min(y(level) + 4, below - 11)
            below = at
            out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(level):.1f}" '
                       f'y2="{y(level):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
                       f'<text x="{LEFT + pw + 6}" y="{at:.1f}" font-size="10">'
                       f'{level:g} ng/mL: {_esc(label)}</text>')
    out.append(draw(x, y))
    for i, (text, key) in enumerate(zip(legend, keys)):
        at = TOP + ph + 56 + 14 * i
        if key is not None:
            out.append(f'<line x1="{LEFT}" x2="{LEFT + 26}" y1="{at - 4}" y2="{at - 4}" '
                       f'stroke="{key[0]}" stroke-width="2"{key[1]}/>')
        out.append(f'<text x="{LEFT + (32 if key is not None else 0)}" y="{at}" font-size="10">'
                   f'{_esc(text)}</text>')
    return "".join(out) + "</svg>\n"


def _polyline(xs, ys, colour, dash="") -> str:
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys))
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{pts}"/>'


def svg_chart(t_h, c, title: str, marks=()) -> str:
    top = max(float(c.max()) * 1.1, 1.0)
    step = max(1, len(t_h) // 4000)

    def draw(x, y):
        return _polyline(x(t_h[::step]), y(c[::step]), "#c0392b")

    return svg_frame(t_h, top, title, draw, ["Red line: predicted plasma ketamine (one patient, "
                                            "the plan's maximum doses).", *_svg_marks(marks)])


def _svg_marks(marks) -> list[str]:
    return [x for m in marks_legend(marks) for x in wrap(m, SVG_LEGEND_CHARS)]


SVG_LEGEND_CHARS = 140  # about what fits across the page at 10 px


def png_import():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ketadose.errors import KetadoseError

        raise KetadoseError("a PNG chart needs matplotlib (pip install 'ketadose[plot]'); "
                            "an .svg chart needs nothing") from None
    return plt


def png_chart(stream, t_h, c, title: str, marks=()) -> None:
    """Write the chart as PNG to a binary stream (the CLI's atomic writer)."""
    top = max(float(c.max()) * 1.1, 1.0)
    fig, ax = _png_figure()
    ax.plot(t_h, c, color="#c0392b", lw=1.2, label="predicted plasma ketamine (one patient, "
            "the plan's maximum doses)")
    _png_frame(fig, ax, t_h, top, title, marks)
    _png_write(stream, fig)


def _png_figure():
    """A figure 9 x 4.5 in (1080 x 540 px at 120 dpi); ``_png_frame`` makes it taller by a line
    per line of notes under the plot, as the SVG grows with its legend."""
    plt = png_import()
    return plt.subplots(figsize=(9, 4.5))


def _png_frame(fig, ax, t_h, top: float, title: str, marks=(), notes=()) -> None:
    """Everything the SVG frame has, from the same numbers: concentration axis 0 to ``top``
    with the same ticks, time ticks in hours up to 3 days then days, the display bands with
    their meaning, the legend, the bands' source and every UNVERIFIED mark under the plot."""
    ticks, unit = time_ticks(float(t_h[-1] - t_h[0]))
    ax.set_xlim(float(t_h[0]), float(t_h[-1]))
    ax.set_xticks([t_h[0] + h for h, _ in ticks], [label for _, label in ticks])
    ax.set_ylim(0, top)
    ax.set_yticks(nice_ticks(top), [f"{v:g}" for v in nice_ticks(top)])
    above = -float("inf")  # labels of close bands (50 and 70 ng/mL) pushed apart, as in the SVG
    for level, label in sorted(BANDS):
        if level < top:
            at = max(level, above + top * 0.045)
            above = at
            ax.axhline(level, color="#999", ls="--", lw=0.8)
            ax.text(t_h[-1], at, f" {level:g} ng/mL: {label}", va="center", fontsize=7)
    ax.set_xlabel(f"time from the start of the course ({unit})")
    ax.set_ylabel("plasma concentration (ng/mL)")
    ax.set_title(title, fontsize=10, loc="left")  # a long title is not cut at the left edge
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    below = [x for n in [*notes, *marks_legend(marks), f"Dashed grey lines: {BAND_SOURCE}."]
             for x in wrap(n, PNG_NOTE_CHARS)]
    fig.set_size_inches(9, 4.5 + 0.13 * len(below))
    inch = fig.get_size_inches()[1]
    for i, text in enumerate(reversed(below)):
        fig.text(0.01, (0.05 + 0.13 * i) / inch, text, fontsize=6)
    fig.tight_layout(rect=(0, (0.1 + 0.13 * len(below)) / inch, 0.82, 1))


PNG_NOTE_CHARS = 190  # a 6-point line across a 9-inch figure


def _png_write(stream, fig) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    png_import().close(fig)
    stream.write_bytes(buf.getvalue())


PNG_DPI = 120


# ----------------------------------------------------------------------------- population bands

def _column_envelopes(t_h, rows):
    """Per text column, the highest value of each percentile row within that column's time bin
    (the rows stay ordered because each is a maximum of ordered series)."""
    bins = np.linspace(t_h[0], t_h[-1], WIDTH + 1)
    idx = np.clip(np.searchsorted(bins, t_h, side="right") - 1, 0, WIDTH - 1)
    env = np.zeros((rows.shape[0], WIDTH))
    for r in range(rows.shape[0]):
        np.maximum.at(env[r], idx, rows[r])
    return env


def text_band_chart(t_h, pct, title: str, unit_label: str = "ng/mL") -> str:
    """Percentile bands over time: ':' 25th-75th, '.' 5th-95th, '*' median (rows of pct:
    5th, 25th, 50th, 75th, 95th)."""
    top = max(float(pct[-1].max()) * 1.1, 1.0)
    env = _column_envelopes(t_h, pct)
    band_rows = {}
    for level, label in BANDS:
        if level < top:
            band_rows[int((1 - level / top) * (HEIGHT - 1))] = (level, label)

    def row_of(v):
        return int((1 - v / top) * (HEIGHT - 1) + 0.5)

    grid = [[" "] * WIDTH for _ in range(HEIGHT)]
    for r in band_rows:
        grid[r] = ["-"] * WIDTH
    for x in range(WIDTH):
        p5, p25, p50, p75, p95 = (row_of(env[i, x]) for i in range(5))
        for r in range(p95, p5 + 1):
            grid[r][x] = "."
        for r in range(p75, p25 + 1):
            grid[r][x] = ":"
        grid[p50][x] = "*"
    rows = []
    for r in range(HEIGHT):
        y = top * (1 - r / (HEIGHT - 1))
        band = band_rows.get(r)
        right = f" {band[0]:g}" if band else ""
        rows.append(f"{y:7.0f} |{''.join(grid[r])}|{right}")
    axis = _text_tick_row(t_h)
    ticks = _text_time_axis(t_h)
    legend = (f"  {unit_label}; * median, : 25th-75th, . 5th-95th percentile of virtual patients;"
              "\n  dashed: display bands (a synthesis, not a source: docs/evidence.md PK2)")
    return "\n".join([title, *rows, axis, ticks, legend])


def band_top(pct, pct_m=None) -> float:
    """The concentration axis' top: above every 95th percentile drawn (norketamine's too)."""
    return max(max(float(p[-1].max()) for p in (pct, pct_m) if p is not None) * 1.1, 1.0)


def svg_band_chart(t_h, pct, title: str, pct_m=None, marks=()) -> str:
    top = band_top(pct, pct_m)
    step = max(1, len(t_h) // 2000)
    ts = t_h[::step]

    def draw(x, y):
        xs = x(ts)

        def band(lo, hi, colour, opacity):
            pts = [f"{a:.1f},{b:.1f}" for a, b in zip(xs, y(hi[::step]))]
            pts += [f"{a:.1f},{b:.1f}" for a, b in zip(xs[::-1], y(lo[::step])[::-1])]
            return (f'<polygon fill="{colour}" fill-opacity="{opacity}" stroke="none" '
                    f'points="{" ".join(pts)}"/>')

        body = band(pct[0], pct[4], "#c0392b", 0.15) + band(pct[1], pct[3], "#c0392b", 0.3) + \
            _polyline(xs, y(pct[2][::step]), "#c0392b")
        if pct_m is not None:
            body += band(pct_m[0], pct_m[4], "#2471a3", 0.12) + _polyline(
                xs, y(pct_m[2][::step]), "#2471a3", ' stroke-dasharray="6 3"')
        return body

    legend = ["Red: ketamine, median line, 25th-75th (dark) and 5th-95th (light) percentile "
              "bands of the virtual patients."]
    if pct_m is not None:
        legend.append("Blue, dashed: norketamine, median and 5th-95th percentile band.")
    return svg_frame(t_h, top, title, draw, legend + _svg_marks(marks))


def png_band_chart(stream, t_h, pct, title: str, pct_m=None, marks=()) -> None:
    """Percentile bands as PNG, written to a binary stream (the CLI's atomic writer)."""
    top = band_top(pct, pct_m)
    fig, ax = _png_figure()
    ax.fill_between(t_h, pct[0], pct[4], color="#c0392b", alpha=0.15, lw=0, label="ketamine 5th-95th")
    ax.fill_between(t_h, pct[1], pct[3], color="#c0392b", alpha=0.3, lw=0, label="25th-75th")
    ax.plot(t_h, pct[2], color="#c0392b", lw=1.2, label="median")
    if pct_m is not None:
        ax.fill_between(t_h, pct_m[0], pct_m[4], color="#2471a3", alpha=0.12, lw=0,
                        label="norketamine 5th-95th")
        ax.plot(t_h, pct_m[2], color="#2471a3", lw=1.0, ls="--", label="norketamine median")
    _png_frame(fig, ax, t_h, top, title, marks)
    _png_write(stream, fig)


# ----------------------------------------------------------------------------- several lines

@dataclass(frozen=True)
class Line:
    """One curve of a chart with several (`compare`: a regimen under its model). ``label`` is
    shown as given (the renderer makes text from files visible first); ``lo``/``hi``: an optional
    band around it (the 5th and 95th percentiles of virtual patients)."""

    label: str
    t_h: Any
    c: Any
    lo: Any = None
    hi: Any = None

    @property
    def top(self) -> float:
        return float((self.c if self.hi is None else self.hi).max())


# Colour and dash per line, so that the lines stay apart on a grey print; the text chart's
# mark per line.
STYLES = (("#c0392b", "", "-"), ("#2471a3", ' stroke-dasharray="8 3"', "--"),
          ("#1e8449", ' stroke-dasharray="2 2"', ":"), ("#7d3c98", ' stroke-dasharray="10 3 2 3"', "-."),
          ("#b9770e", ' stroke-dasharray="4 2"', (0, (4, 2))), ("#17202a", "", "-"))
TEXT_MARKS = "*o#x@%&="


def _style(i: int) -> tuple:
    return STYLES[i % len(STYLES)]


def lines_frame(lines) -> tuple:
    """The time axis (0 to the end of the longest line) and the top of the concentration axis
    shared by every format of one chart."""
    end = max(float(ln.t_h[-1]) for ln in lines)
    return np.array([0.0, max(end, 1e-6)]), max(max(ln.top for ln in lines) * 1.1, 1.0)


def svg_lines_chart(lines, title: str, notes=(), marks=()) -> str:
    """Several lines on one frame (each with its band when it has one), a legend key per line,
    then ``notes`` and every UNVERIFIED mark."""
    t_axis, top = lines_frame(lines)

    def draw(x, y):
        body = []
        for i, ln in enumerate(lines):
            step = max(1, len(ln.t_h) // 2000)
            ts = ln.t_h[::step]
            if ln.lo is not None:
                pts = [f"{a:.1f},{b:.1f}" for a, b in zip(x(ts), y(ln.hi[::step]))]
                pts += [f"{a:.1f},{b:.1f}" for a, b in zip(x(ts)[::-1], y(ln.lo[::step])[::-1])]
                body.append(f'<polygon fill="{_style(i)[0]}" fill-opacity="0.12" stroke="none" '
                            f'points="{" ".join(pts)}"/>')
        for i, ln in enumerate(lines):  # lines over every band
            step = max(1, len(ln.t_h) // 2000)
            body.append(_polyline(x(ln.t_h[::step]), y(ln.c[::step]), *_style(i)[:2]))
        return "".join(body)

    legend = [ln.label for ln in lines]
    extra = [x for n in notes for x in wrap(n, SVG_LEGEND_CHARS)] + _svg_marks(marks)
    keys = [_style(i)[:2] for i in range(len(lines))]
    return svg_frame(t_axis, top, title, draw, legend + extra, keys)


def png_lines_chart(stream, lines, title: str, notes=(), marks=()) -> None:
    """The same chart as ``svg_lines_chart`` (same axes, lines, legend and notes) as PNG."""
    fig = png_lines_figure(lines, title, notes, marks)
    _png_write(stream, fig)


def png_lines_figure(lines, title: str, notes=(), marks=()):
    t_axis, top = lines_frame(lines)
    fig, ax = _png_figure()
    for i, ln in enumerate(lines):
        colour, _dash, style = _style(i)
        if ln.lo is not None:
            ax.fill_between(ln.t_h, ln.lo, ln.hi, color=colour, alpha=0.12, lw=0)
        ax.plot(ln.t_h, ln.c, color=colour, ls=style, lw=1.3, label=ln.label)
    _png_frame(fig, ax, t_axis, top, title, marks, notes)
    return fig


def text_lines_chart(lines, title: str, width: int = WIDTH, notes=(), marks=()) -> str:
    """Several lines on an 80-column (or narrower: ``width`` is the plot's; every line is at most
    ``width`` + 19 wide) text chart, each drawn with its own mark at its highest value in every
    column; a legend names each mark."""
    t_axis, top = lines_frame(lines)
    width = max(20, min(width, WIDTH))
    bins = np.linspace(0.0, t_axis[-1], width + 1)
    band_rows = {int((1 - level / top) * (HEIGHT - 1)): level for level, _ in BANDS if level < top}
    grid = [["-" if r in band_rows else " "] * width for r in range(HEIGHT)]
    for i, ln in enumerate(lines):
        idx = np.clip(np.searchsorted(bins, ln.t_h, side="right") - 1, 0, width - 1)
        col = np.full(width, -1.0)
        np.maximum.at(col, idx, ln.c)
        for x in range(width):
            if col[x] >= 0:
                grid[int((1 - col[x] / top) * (HEIGHT - 1) + 0.5)][x] = TEXT_MARKS[i % len(TEXT_MARKS)]
    rows = [f"{top * (1 - r / (HEIGHT - 1)):7.0f} |{''.join(grid[r])}|"
            + (f" {band_rows[r]:g}" if r in band_rows else "") for r in range(HEIGHT)]
    legend = [x for i, ln in enumerate(lines)
              for x in wrap(f"{TEXT_MARKS[i % len(TEXT_MARKS)]} {ln.label}", width + 16, "  ")]
    legend += wrap("plasma concentration (ng/mL) over time; dashed lines at " + ", ".join(
        f"{lv:g}" for lv in band_rows.values()) + f" ng/mL: {BAND_SOURCE}", width + 16, "  ")
    legend += [x for n in [*notes, *marks_legend(marks)] for x in wrap(n, width + 16, "  ")]
    return "\n".join([title, *rows, _text_tick_row(t_axis, width), _text_time_axis(t_axis, width),
                      *legend])
