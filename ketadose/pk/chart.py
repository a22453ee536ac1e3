"""The concentration chart: text for an 80-column terminal, SVG (no dependency), PNG (matplotlib)."""

from __future__ import annotations

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
              + " (a synthesis, not a source: pk.md section 2)")
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


def png_chart(path: str, t_h, c, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ketadose.errors import KetadoseError

        raise KetadoseError("a PNG chart needs matplotlib (pip install 'ketadose[plot]'); "
                            "an .svg chart needs nothing") from None
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
    fig.savefig(path, dpi=120)
    plt.close(fig)
