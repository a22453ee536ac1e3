"""Charts people read (issue 16 item 3): labelled axes with ticks (time in hours or days,
concentration in ng/mL), the display bands named with their meaning and source, a legend; the
SVG scales (viewBox) so the printable plan shows it whole; the terminal chart has time ticks."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketadose.pk import chart
from ketadose.pk.models import BANDS


def course(hours: float):
    t = np.linspace(0, hours, 2000)
    return t, 250 * (1 - np.exp(-t / 3)) * ((t % 24) < 4) + 5


def texts(svg: str) -> list[str]:
    return re.findall(r">([^<>]+)</text>", svg)


@pytest.mark.parametrize("hours,unit", [(4, "hours"), (72, "hours"), (240, "days")])
def test_svg_axes_ticks_bands_and_legend(hours, unit):
    t, c = course(hours)
    svg = chart.svg_chart(t, c, "title")
    root = ET.fromstring(svg)  # well-formed
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    words = texts(svg)
    assert f"time from the start of the course ({unit})" in words
    assert "plasma concentration (ng/mL)" in words
    numbers = [float(w) for w in words if re.fullmatch(r"[0-9.]+", w)]
    assert 0 in numbers and len(numbers) >= 6  # ticks on both axes
    for level, label in BANDS:
        if level < c.max() * 1.1:
            assert f"{level:g} ng/mL: {label}" in words
    assert any("docs/evidence.md PK2" in w for w in words)
    assert any(w.startswith("Red line") for w in words)


def test_population_svg_has_the_same_frame():
    t, c = course(120)
    pct = np.vstack([c * f for f in (0.5, 0.8, 1.0, 1.2, 1.5)])
    svg = chart.svg_band_chart(t, pct, "bands", pct_m=pct / 3)
    words = texts(svg)
    assert "time from the start of the course (days)" in words
    assert any("norketamine" in w for w in words) and "<polygon" in svg
    ET.fromstring(svg)


@pytest.mark.parametrize("hours", [1, 4, 30, 100, 240, 2160])
def test_text_chart_has_time_ticks_within_80_columns(hours):
    t, c = course(hours)
    text = chart.text_chart(t, c, "title")
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= 80
    tick_row = next(x for x in lines if x.strip().startswith("+"))
    assert tick_row.count("+") >= 4  # the corners and at least two ticks
    labels = lines[lines.index(tick_row) + 1]
    assert labels.rstrip().endswith(("hours", "days")) and labels.split()[0] == "0"


@given(st.floats(0.01, 1e6))
def test_nice_ticks(top):
    ticks = chart.nice_ticks(top)
    assert ticks[0] == 0 and all(b > a for a, b in zip(ticks, ticks[1:]))
    assert ticks[-1] <= top * (1 + 1e-9) and 2 <= len(ticks) <= 11
