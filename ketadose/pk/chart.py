"""The concentration chart: text for an 80-column terminal, SVG (no dependency), PNG (matplotlib)."""

from __future__ import annotations

import io

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


def _text_time_axis(t_h) -> str:
    """The labels under the text chart's time axis, each centred on its column."""
    ticks, unit = time_ticks(float(t_h[-1] - t_h[0]))
    line = [" "] * (WIDTH + 12)
    span = max(float(t_h[-1] - t_h[0]), 1e-9)
    last = -2
    for hours, label in ticks:
        x = 9 + int(round(hours / span * (WIDTH - 1)))
        start = max(x - len(label) // 2, last + 2)
        if start + len(label) > len(line):
            break
        line[start:start + len(label)] = label
        last = start + len(label)
    return "".join(line).rstrip() + f"  {unit}"


def _text_tick_row(t_h) -> str:
    ticks, _ = time_ticks(float(t_h[-1] - t_h[0]))
    span = max(float(t_h[-1] - t_h[0]), 1e-9)
    axis = ["-"] * WIDTH
    for hours, _label in ticks:
        axis[min(int(round(hours / span * (WIDTH - 1))), WIDTH - 1)] = "+"
    return f"{'':7} +{''.join(axis)}+"


def text_chart(t_h, c, title: str) -> str:
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
    import textwrap

    legend = "\n".join(textwrap.wrap(
        "plasma ketamine (ng/mL) over time; dashed lines at " + ", ".join(
            f"{lv:g}" for lv, _ in BANDS if lv < top) + f" ng/mL: {BAND_SOURCE}", 76,
        initial_indent="  ", subsequent_indent="  "))
    return "\n".join([title, *rows, axis, ticks, legend])


W, H, LEFT, RIGHT, TOP, BOTTOM = 900, 460, 70, 270, 40, 90  # SVG size and plot margins


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_frame(t_h, top: float, title: str, draw, legend: list[str]) -> str:
    """An SVG chart: title, axes with ticks and labels (time in hours or days, concentration in
    ng/mL), the display bands labelled with what they mean, and a legend. ``draw(x, y)`` returns
    the data elements, given the functions mapping hours and ng/mL to the page."""
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    t0, span = float(t_h[0]), max(float(t_h[-1] - t_h[0]), 1e-9)

    def x(t):
        return LEFT + (t - t0) / span * pw

    def y(v):
        return TOP + ph - v / top * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif">'
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
    for level, label in BANDS:
        if level < top:
            out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(level):.1f}" '
                       f'y2="{y(level):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
                       f'<text x="{LEFT + pw + 6}" y="{y(level) + 4:.1f}" font-size="10">'
                       f'{level:g} ng/mL: {_esc(label)}</text>')
    out.append(draw(x, y))
    for i, text in enumerate([*legend, f"Dashed grey lines: {BAND_SOURCE}."]):
        out.append(f'<text x="{LEFT}" y="{TOP + ph + 56 + 14 * i}" font-size="10">'
                   f'{_esc(text)}</text>')
    return "".join(out) + "</svg>\n"


def _polyline(xs, ys, colour, dash="") -> str:
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys))
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{pts}"/>'


def svg_chart(t_h, c, title: str) -> str:
    top = max(float(c.max()) * 1.1, 1.0)
    step = max(1, len(t_h) // 4000)

    def draw(x, y):
        return _polyline(x(t_h[::step]), y(c[::step]), "#c0392b")

    return svg_frame(t_h, top, title, draw, ["Red line: predicted plasma ketamine (one patient, "
                                            "the plan's maximum doses)."])


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


def png_chart(stream, t_h, c, title: str) -> None:
    """Write the chart as PNG to a binary stream (the CLI's atomic writer)."""
    plt = png_import()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(t_h, c, color="#c0392b", lw=1.2)
    for level, label in BANDS:
        if level < c.max() * 1.1:
            ax.axhline(level, color="#999", ls="--", lw=0.8)
            ax.text(t_h[-1], level, f" {label}", va="center", fontsize=7)
    _png_axes(fig, ax, t_h, title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    stream.write_bytes(buf.getvalue())


def _png_axes(fig, ax, t_h, title: str) -> None:
    """Axis labels and ticks as in the SVG (hours up to 3 days, then days) and the bands' source."""
    ticks, unit = time_ticks(float(t_h[-1] - t_h[0]))
    ax.set_xticks([t_h[0] + h for h, _ in ticks], [label for _, label in ticks])
    ax.set_xlabel(f"time from the start of the course ({unit})")
    ax.set_ylabel("plasma concentration (ng/mL)")
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.01, f"Dashed grey lines: {BAND_SOURCE}.", fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))


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


def svg_band_chart(t_h, pct, title: str, pct_m=None) -> str:
    top = max(float(pct[-1].max()) * 1.1, 1.0)
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
    return svg_frame(t_h, top, title, draw, legend)


def png_band_chart(stream, t_h, pct, title: str, pct_m=None) -> None:
    """Percentile bands as PNG, written to a binary stream (the CLI's atomic writer)."""
    plt = png_import()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.fill_between(t_h, pct[0], pct[4], color="#c0392b", alpha=0.15, lw=0, label="ketamine 5th-95th")
    ax.fill_between(t_h, pct[1], pct[3], color="#c0392b", alpha=0.3, lw=0, label="25th-75th")
    ax.plot(t_h, pct[2], color="#c0392b", lw=1.2, label="median")
    if pct_m is not None:
        ax.fill_between(t_h, pct_m[0], pct_m[4], color="#2471a3", alpha=0.12, lw=0,
                        label="norketamine 5th-95th")
        ax.plot(t_h, pct_m[2], color="#2471a3", lw=1.0, ls="--", label="norketamine median")
    for level, label in BANDS:
        if level < pct[4].max() * 1.1:
            ax.axhline(level, color="#999", ls="--", lw=0.8)
            ax.text(t_h[-1], level, f" {label}", va="center", fontsize=7)
    ax.legend(fontsize=7, loc="upper left")
    _png_axes(fig, ax, t_h, title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    stream.write_bytes(buf.getvalue())
