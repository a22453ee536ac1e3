"""The concentration chart: text for an 80-column terminal, SVG (no dependency), PNG (matplotlib)."""

from __future__ import annotations

import io

import numpy as np

from ketadose.pk.models import BANDS

WIDTH, HEIGHT = 60, 14  # plot area; labels bring the text chart to at most 80 columns


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
    axis = f"{'':7} +{'-' * WIDTH}+"
    ticks = f"{'':8}0 h{'':{WIDTH - 10}}{t_h[-1]:.0f} h"
    legend = ("  ng/mL; dashed lines: display bands " + ", ".join(f"{lv:g}" for lv, _ in BANDS
                                                                 if lv < top)
              + " (a synthesis, not a source: docs/evidence.md PK2)")
    return "\n".join([title, *rows, axis, ticks, legend])


def svg_chart(t_h, c, title: str) -> str:
    w, h, pad = 800, 400, 50
    top = max(float(c.max()) * 1.1, 1.0)
    step = max(1, len(t_h) // 4000)
    xs = pad + (t_h[::step] - t_h[0]) / max(t_h[-1] - t_h[0], 1e-9) * (w - 2 * pad)
    ys = h - pad - c[::step] / top * (h - 2 * pad)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    bands = "".join(
        f'<line x1="{pad}" x2="{w - pad}" y1="{h - pad - lv / top * (h - 2 * pad):.1f}" '
        f'y2="{h - pad - lv / top * (h - 2 * pad):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
        f'<text x="{w - pad + 4}" y="{h - pad - lv / top * (h - 2 * pad) + 4:.1f}" '
        f'font-size="11">{lv:g}</text>' for lv, _ in BANDS if lv < top)
    esc = title.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
            f'<text x="{pad}" y="25" font-size="14">{esc}</text>'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>'
            f'<text x="{pad}" y="{h - pad + 20}" font-size="11">0 h</text>'
            f'<text x="{w - pad - 30}" y="{h - pad + 20}" font-size="11">{t_h[-1]:.0f} h</text>'
            f'<text x="5" y="{pad}" font-size="11">{top:.0f} ng/mL</text>{bands}'
            f'<polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="{points}"/>'
            f'<text x="{pad}" y="{h - 10}" font-size="10">Dashed: display bands (a synthesis, '
            f'not a source)</text></svg>\n')


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
    ax.set_xlabel("hours from the start of the course")
    ax.set_ylabel("ketamine, ng/mL")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    stream.write_bytes(buf.getvalue())


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
    axis = f"{'':7} +{'-' * WIDTH}+"
    ticks = f"{'':8}0 h{'':{WIDTH - 10}}{t_h[-1]:.0f} h"
    legend = (f"  {unit_label}; * median, : 25th-75th, . 5th-95th percentile of virtual patients;"
              "\n  dashed: display bands (a synthesis, not a source: docs/evidence.md PK2)")
    return "\n".join([title, *rows, axis, ticks, legend])


def svg_band_chart(t_h, pct, title: str, pct_m=None) -> str:
    w, h, pad = 800, 400, 50
    top = max(float(pct[-1].max()) * 1.1, 1.0)
    step = max(1, len(t_h) // 2000)
    ts = t_h[::step]
    xs = pad + (ts - t_h[0]) / max(t_h[-1] - t_h[0], 1e-9) * (w - 2 * pad)

    def ys(v):
        return h - pad - v[::step] / top * (h - 2 * pad)

    def band(lo, hi, colour, opacity):
        pts = [f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys(hi))]
        pts += [f"{x:.1f},{y:.1f}" for x, y in zip(xs[::-1], ys(lo)[::-1])]
        return f'<polygon fill="{colour}" fill-opacity="{opacity}" stroke="none" points="{" ".join(pts)}"/>'

    def line(v, colour, dash=""):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys(v)))
        return (f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} '
                f'points="{pts}"/>')

    body = band(pct[0], pct[4], "#c0392b", 0.15) + band(pct[1], pct[3], "#c0392b", 0.3) + \
        line(pct[2], "#c0392b")
    legend = "ketamine: median, 25th-75th and 5th-95th percentile bands"
    if pct_m is not None:
        body += band(pct_m[0], pct_m[4], "#2471a3", 0.12) + line(pct_m[2], "#2471a3",
                                                                 ' stroke-dasharray="6 3"')
        legend += "; norketamine (blue, dashed): median and 5th-95th"
    bands = "".join(
        f'<line x1="{pad}" x2="{w - pad}" y1="{h - pad - lv / top * (h - 2 * pad):.1f}" '
        f'y2="{h - pad - lv / top * (h - 2 * pad):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
        f'<text x="{w - pad + 4}" y="{h - pad - lv / top * (h - 2 * pad) + 4:.1f}" '
        f'font-size="11">{lv:g}</text>' for lv, _ in BANDS if lv < top)
    esc = title.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
            f'<text x="{pad}" y="25" font-size="14">{esc}</text>'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>'
            f'<text x="{pad}" y="{h - pad + 20}" font-size="11">0 h</text>'
            f'<text x="{w - pad - 30}" y="{h - pad + 20}" font-size="11">{t_h[-1]:.0f} h</text>'
            f'<text x="5" y="{pad}" font-size="11">{top:.0f} ng/mL</text>{bands}{body}'
            f'<text x="{pad}" y="{h - 10}" font-size="10">{legend}. Dashed grey: display bands '
            f'(a synthesis, not a source)</text></svg>\n')


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
    ax.set_xlabel("hours from the start of the course")
    ax.set_ylabel("plasma concentration, ng/mL")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    stream.write_bytes(buf.getvalue())
