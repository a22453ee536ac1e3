"""Charts of `compare` (one line per regimen, each named with its model and the model's status)
and the PNG path (issue 16 item 3): SVG, PNG and the terminal chart from the same series and
axes, every UNVERIFIED or assumed entry marked in each, text from files shown literally, and a
missing matplotlib refused in one line (exit 2) without slowing any other path."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_shell_boundary import EXAMPLE, KETADOSE, one_line_error

from conftest import template_data
from ketadose.pk import chart

SVG = "{http://www.w3.org/2000/svg}"
THREE = ["crps-schwartzman-2009", "crps-sigtermans-2009", "consensus-cohen-2018"]
PATIENT = ["--weight", "70kg", "--height", "175cm", "--age", "45", "--sex", "male"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def cli(*args, env=None, cwd=None):
    return subprocess.run([*KETADOSE, *args], capture_output=True, timeout=300, cwd=cwd,
                          env={**os.environ, **(env or {})})


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """compare of three regimens (two drugs) and a topical one no model takes, as SVG, PNG and
    on the terminal."""
    d = tmp_path_factory.mktemp("compare")
    args = ["compare", *THREE, "topical-rabi-2016", *PATIENT]
    out = {}
    for ext in ("svg", "png"):
        r = cli(*args, "--plot", str(d / f"c.{ext}"))
        assert r.returncode == 0, r.stderr
        out[ext] = (d / f"c.{ext}").read_bytes()
    out["table"] = r.stdout.decode()
    return out


def test_compare_svg_has_one_line_per_simulated_regimen(compared):
    svg = compared["svg"].decode()
    root = ET.fromstring(svg)
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert len(root.findall(f"{SVG}polyline")) == 3  # topical-rabi-2016 has no model
    words = texts(svg)
    for label in ("crps-schwartzman-2009: herd-2007 (verified (abstract))",
                  "crps-sigtermans-2009: flint-2017 (transcribed in code)",
                  "consensus-cohen-2018: herd-2007 (verified (abstract))"):
        assert label in words
    assert not any("topical-rabi-2016" in w for w in words)
    assert "time from the start of the course (days)" in words
    assert "plasma concentration (ng/mL)" in words
    assert any(w.startswith("200 ng/mL: ") for w in words)  # a band named with its meaning
    assert any("docs/evidence.md PK2" in w for w in words)  # the bands' source
    # the model transcribed in code and the template's UNVERIFIED titration ceiling
    assert "UNVERIFIED/assumed: model flint-2017: transcribed in code" in words
    assert any(w.startswith("UNVERIFIED/assumed: crps-sigtermans-2009 phase 'titrated infusion' "
                            "max: 7.2 mcg/kg/min") for w in words)
    assert "Esketamine and racemic concentrations are not comparable one to one." in words
    # the page grows with the legend: nothing is drawn below its bottom edge
    bottom = max(float(t.get("y")) for t in root.iter(f"{SVG}text") if t.get("y"))
    assert bottom < float(root.get("height"))


def test_compare_svg_draws_the_predicted_series():
    """The line is the model's prediction: its highest point is the table's peak."""
    from ketadose.commands.simulate import _plan
    from ketadose.io.patients import load_patient
    from ketadose.render.comparison import chart_lines
    from ketadose.simulation import compared_with_result, comparison

    patient, _ = load_patient(EXAMPLE, {})
    rows = [(plan, *compared_with_result(plan, "ok")) for plan in
            (_plan((), ref, patient)[1] for ref in THREE)]
    result = comparison(rows)
    for (_p, row, _r), curve in zip(rows, result.curves):
        assert curve.regimen == row.id and curve.model == row.model
        assert np.isclose(curve.ketamine.max(), row.peak_ng_per_ml, atol=0.01)
    _t, top = chart.lines_frame(chart_lines(result.curves))
    assert top == pytest.approx(max(r.peak_ng_per_ml for _p, r, _ in rows) * 1.1, abs=0.02)


def test_compare_png_is_a_png_of_the_same_chart(compared):
    width, height = png_size(compared["png"])
    assert width == 9 * chart.PNG_DPI and 4.5 * chart.PNG_DPI < height < 12 * chart.PNG_DPI
    assert len(compared["png"]) > 20_000  # drawn, not an empty canvas


def test_png_figure_has_the_svg_axes_lines_and_legend():
    """Same series, ticks, limits, labels and notes as the SVG, from the same Line objects."""
    pytest.importorskip("matplotlib")
    t = np.linspace(0, 240, 3000)
    a = 250 * ((t % 24) < 4) * (1 - np.exp(-(t % 24)))
    b = 120 * (1 - np.exp(-t / 10))
    lines = [chart.Line("a: herd-2007 (verified (abstract))", t, a),
             chart.Line("b: kamp-2020-opentiva (UNVERIFIED)", t[:2000], b[:2000], b[:2000] * 0.5,
                        b[:2000] * 1.5)]
    notes, marks = ["a note"], ["model kamp-2020-opentiva: UNVERIFIED"]
    svg = chart.svg_lines_chart(lines, "title", notes, marks)
    fig = chart.png_lines_figure(lines, "title", notes, marks)
    try:
        ax = fig.axes[0]
        words = texts(svg)
        _t, top = chart.lines_frame(lines)
        assert ax.get_ylim() == pytest.approx((0, top))
        yt = [f"{v:g}" for v in chart.nice_ticks(top)]
        assert [x.get_text() for x in ax.get_yticklabels()] == yt and set(yt) <= set(words)
        xt = [x.get_text() for x in ax.get_xticklabels()]
        assert xt == [label for _h, label in chart.time_ticks(240)[0]] and set(xt) <= set(words)
        assert ax.get_xlabel() in words and ax.get_ylabel() in words
        assert [ln.get_label() for ln in ax.get_legend().get_lines()] == [ln.label for ln in lines]
        drawn = [ln for ln in ax.get_lines() if ln.get_label() in {x.label for x in lines}]
        for ln, src in zip(drawn, lines):
            assert np.array_equal(ln.get_xdata(), src.t_h) and np.array_equal(ln.get_ydata(), src.c)
        below = {x.get_text() for x in fig.texts}
        assert "a note" in below and "UNVERIFIED/assumed: model kamp-2020-opentiva: UNVERIFIED" in below
        assert any("docs/evidence.md PK2" in x for x in below)
        bands = {x.get_text().strip() for x in ax.texts}
        assert {w for w in words if " ng/mL: " in w and w[0].isdigit()} == bands
    finally:
        chart.png_import().close(fig)


def test_the_terminal_compare_has_the_chart_legend_and_marks(compared):
    out = compared["table"]
    assert "Predicted plasma ketamine for this patient" in out
    assert "  * crps-schwartzman-2009: herd-2007 (verified (abstract))" in out
    assert "  o crps-sigtermans-2009: flint-2017 (transcribed in code)" in out
    assert "UNVERIFIED/assumed: model flint-2017: transcribed in code" in out
    tick_row = next(x for x in out.splitlines() if x.strip().startswith("++"))
    assert tick_row.count("+") >= 4
    assert re.search(r"^\s+0\s+5\s+10\s+days$", out, re.M)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_compare_population_chart(tmp_path, fmt):
    if fmt == "png":
        pytest.importorskip("matplotlib")
    path = tmp_path / f"p.{fmt}"
    r = cli("compare", "crps-schwartzman-2009", "crps-sigtermans-2009", *PATIENT,
            "--population", "50", "--plot", str(path))
    assert r.returncode == 0, r.stderr
    data = path.read_bytes()
    if fmt == "png":
        assert png_size(data)[0] == 9 * chart.PNG_DPI
        return
    root = ET.fromstring(data)
    assert len(root.findall(f"{SVG}polygon")) == 2 and len(root.findall(f"{SVG}polyline")) == 2
    words = texts(data.decode())
    assert any(w.startswith("crps-sigtermans-2009: ") and "5th-95th" in w for w in words)
    assert "on the same 50 virtual patients" in words[0]
    assert any(w.startswith("UNVERIFIED/assumed: ") for w in words)


@pytest.fixture
def evil(tmp_path):
    data = template_data("crps-sigtermans-2009.yaml")
    data["id"] = "evil-sigtermans"
    data["schedule"]["phases"][0]["unverified"]["max"] = "<b>&</b> \x1b]0;pwned\x07 [red]x[/red]"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_text_from_files_is_shown_literally_in_every_chart(evil, tmp_path):
    r = cli("compare", "crps-schwartzman-2009", evil, *PATIENT, "--plot", str(tmp_path / "e.svg"))
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "e.svg").read_text(encoding="utf-8")
    words = texts(svg)  # well-formed
    assert any(w.endswith("max: <b>&</b> \\x1b]0;pwned\\x07 [red]x[/red]") for w in words)
    assert "\x1b" not in svg and "\x07" not in svg
    out = r.stdout.decode()
    assert "max: <b>&</b> \\x1b]0;pwned\\x07 [red]x[/red]" in out.replace("\n  ", " ")
    assert "\x1b" not in out


# ----------------------------------------------------------------------------- without matplotlib

@pytest.fixture
def no_matplotlib(tmp_path):
    """A matplotlib that cannot be imported and leaves a trace when something tries."""
    stub = tmp_path / "stub" / "matplotlib"
    stub.mkdir(parents=True)
    trace = tmp_path / "imported"
    (stub / "__init__.py").write_text(f"open({str(trace)!r}, 'w').close()\n"
                                      "raise ImportError('blocked by the test')\n")
    return {"PYTHONPATH": str(stub.parent)}, trace


@pytest.mark.parametrize("args", [
    ["compare", "crps-schwartzman-2009", "crps-goldberg-2010", *PATIENT],
    ["compare", "crps-schwartzman-2009", "crps-goldberg-2010", *PATIENT, "--population", "20"],
    ["simulate", "crps-schwartzman-2009", *PATIENT],
    ["simulate", "crps-schwartzman-2009", *PATIENT, "--population", "20"]])
def test_png_without_matplotlib_is_one_line_exit_2(no_matplotlib, tmp_path, args):
    env, _trace = no_matplotlib
    r = cli(*args, "--plot", str(tmp_path / "x.png"), env=env)
    assert r.returncode == 2
    line = one_line_error(r)
    assert "pip install 'ketadose[plot]'" in line and "matplotlib" in line
    assert not (tmp_path / "x.png").exists() and r.stdout == b""


@pytest.mark.parametrize("args", [
    ["compare", "crps-schwartzman-2009", "crps-goldberg-2010", *PATIENT],
    ["simulate", "crps-schwartzman-2009", *PATIENT, "--format", "json"]])
def test_svg_and_tables_never_import_matplotlib(no_matplotlib, tmp_path, args):
    env, trace = no_matplotlib
    r = cli(*args, "--plot", str(tmp_path / "x.svg"), env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x.svg").exists() and not trace.exists()


def test_plot_needs_a_chart_file_name(tmp_path):
    r = cli("compare", "crps-schwartzman-2009", "crps-goldberg-2010", *PATIENT,
            "--plot", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "--plot needs a .png or .svg file name" in one_line_error(r)


def test_plot_with_nothing_simulated_is_refused(tmp_path):
    r = cli("compare", "topical-rabi-2016", "topical-rabi-2016", *PATIENT,
            "--plot", str(tmp_path / "x.svg"))
    assert r.returncode == 2 and "no regimen here could be simulated" in one_line_error(r)
    assert not (tmp_path / "x.svg").exists()


# ----------------------------------------------------------------------------- properties

_series = st.tuples(st.floats(1, 2000), st.floats(0, 5000), st.booleans())


@settings(max_examples=40, deadline=None)
@given(st.lists(_series, min_size=1, max_size=9),
       st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=200), max_size=4),
       st.integers(20, 104))
def test_every_line_label_and_mark_is_on_every_chart(series, marks, columns):
    lines = []
    for i, (hours, peak, band) in enumerate(series):
        t = np.linspace(0, hours, 300)
        c = peak * np.abs(np.sin(t / max(hours, 1) * 7))
        lines.append(chart.Line(f"regimen-{i}: model ({'UNVERIFIED' if i % 2 else 'ok'})", t, c,
                                c * 0.5 if band else None, c * 2 if band else None))
    safe = [re.sub("[\x00-\x1f\x7f-\x9f]", "?", m) for m in marks]
    svg = chart.svg_lines_chart(lines, "title", (), safe)
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}polyline")) == len(lines)
    assert len(root.findall(f"{SVG}polygon")) == sum(1 for s in series if s[2])
    joined = " ".join(texts(svg))
    assert all(ln.label in joined for ln in lines)
    assert all(" ".join(f"UNVERIFIED/assumed: {m}".split()) in " ".join(joined.split())
               for m in safe)
    assert max(float(t.get("y")) for t in root.iter(f"{SVG}text") if t.get("y")) < float(root.get("height"))
    text = chart.text_lines_chart(lines, "title", columns - 20, (), safe)
    assert max(len(x) for x in text.splitlines()[1:]) <= max(columns, 40)
    flat = " ".join(text.split())
    assert all(ln.label in flat for ln in lines)


def test_simulate_json_and_csv_carry_the_marks():
    import csv
    import io
    import json

    r = cli("simulate", "crps-sigtermans-2009", *PATIENT, "--format", "json")
    marks = json.loads(r.stdout)["unverified"]
    assert "model flint-2017: transcribed in code" in marks
    assert any("phase 'titrated infusion' max: 7.2 mcg/kg/min" in m for m in marks)
    r = cli("simulate", "crps-sigtermans-2009", *PATIENT, "--format", "csv", "--resolution", "1h")
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode())))
    assert all(row["model"] == "flint-2017" and row["status"].startswith("transcribed in code; ")
               and "7.2 mcg/kg/min" in row["status"] for row in rows)
    verified = json.loads(cli("simulate", "crps-schwartzman-2009", *PATIENT,
                              "--format", "json").stdout)
    assert verified["unverified"] == []  # herd-2007 is verified; the template marks no dose


@pytest.mark.parametrize("extra", [[], ["--population", "30"]])
def test_simulate_png(tmp_path, extra):
    pytest.importorskip("matplotlib")
    path = tmp_path / "s.png"
    r = cli("simulate", "crps-sigtermans-2009", *PATIENT, *extra, "--plot", str(path),
            "--format", "json")
    assert r.returncode == 0, r.stderr
    width, height = png_size(path.read_bytes())
    assert width == 9 * chart.PNG_DPI and height > 4.5 * chart.PNG_DPI
