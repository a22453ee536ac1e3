"""`ketadose simulate`, `compare` and `models` (the only commands that import numpy)."""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.io.library import limit_library
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.plan import make_plan
from ketadose.render.data import to_csv, to_json
from ketadose.render.diag import output

_SECONDS = r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:s|sec|secs|second|seconds)\s*"


def resolution_minutes(value: str) -> float:
    """--resolution as minutes, 6 s to 1 h."""
    import re

    from ketadose.units import parse_quantity

    # Seconds are a unit of this option only (issue 18: `--resolution 6s`); the dose vocabulary
    # has none, so a regimen or a rate can still not be written in seconds.
    seconds = re.fullmatch(_SECONDS, value)
    if seconds:
        minutes = float(seconds.group(1)) / 60
    else:
        minutes = parse_quantity(value, ("duration",)).magnitude("min")
    if not 0.1 <= minutes <= 60:  # also refuses NaN
        raise KetadoseError("--resolution must be between 6 s (0.1 min) and 1 h, e.g. 6s, 1min, 1h")
    return minutes


def _plan(dirs, ref, patient, concentration=None, weight_basis=None):
    src, regimen, findings = load_regimen(ref, dirs)
    return src, make_plan(regimen, patient, limit_library(), basis=weight_basis,
                          concentration=concentration, regimen_findings=findings)


def run_simulate(dirs, ref, patient_path, flags, model, resolution, f, ka, fmt, plot,
                 explain=False, population=None, seed=1) -> int:
    patient, _patient_data = load_patient(patient_path, flags)
    src, plan = _plan(dirs, ref, patient)
    if population is not None:
        from ketadose.commands.population import run_population

        if explain:
            # the population run's derivations are written by compare's population explanation;
            # simulate's --explain derives one patient's parameters, which N patients do not have
            raise KetadoseError("--explain derives one patient's parameters, not N virtual patients'; "
                                "for how the virtual patients are drawn, run `ketadose compare "
                                "ID --population N --explain`")
        return run_population(plan, src, model, population, seed, resolution, f, ka, fmt, plot)
    from ketadose.simulation import simulation

    run = simulation(plan, src.sha256, model, resolution, f, ka, explain=explain,
                     spread=fmt not in ("json", "csv"))  # the spread is a table's
    if plot:
        _plot(plot, run)
    if fmt == "json":
        from ketadose.render.documents.simulation import document

        output().write(to_json(document(run)))
    elif fmt == "csv":
        from ketadose.render.documents.simulation import CSV_COLUMNS, csv_rows

        output().write(to_csv(csv_rows(run), CSV_COLUMNS))
    else:
        from ketadose.render.simulation import simulation_tables

        simulation_tables(run, output())
    return 0


def _plot(path, run) -> None:
    from ketadose.pk import chart
    from ketadose.render.simulation import chart_marks

    res, title, marks = run.result, run.title, chart_marks(run)
    write_chart(path, lambda fh: fh.write(chart.svg_chart(res.t_h, res.ketamine, title, marks)),
                lambda fh: chart.png_chart(fh, res.t_h, res.ketamine, title, marks))


def check_chart_path(path) -> None:
    """A chart's file name, and for a PNG matplotlib, checked before any work is done."""
    from ketadose.pk import chart

    low = path.lower()
    if not low.endswith((".svg", ".png")):
        raise KetadoseError("--plot needs a .png or .svg file name", path)
    if low.endswith(".png"):
        chart.png_import()  # a missing matplotlib is refused before the file is created


def plot_comparison(path, result) -> None:
    """`compare --plot`: one line per regimen (with its model), SVG or PNG."""
    from ketadose.render import comparison as render

    if not result.curves:
        raise KetadoseError("--plot: no regimen here could be simulated, so there is no chart")
    write_chart(path, lambda fh: fh.write(render.svg_chart(result)),
                lambda fh: render.png_chart(fh, result))


def write_chart(path, svg, png) -> None:
    """A chart through the same writer as -o: regular files only, --force to replace, never
    through a symlink without --force. ``svg``/``png`` write into the open file."""
    from ketadose.io.writer import AtomicFile

    check_chart_path(path)
    low = path.lower()
    from ketadose.runmeta import meta

    force = bool((meta() or {}).get("force"))
    with AtomicFile(path, force, what="a chart") as fh:
        (svg if low.endswith(".svg") else png)(fh)


def run_compare(dirs, refs, patient_path, flags, fmt, population=None, seed=1,
                concentration=None, weight_basis=None, explain=False, plot=None) -> int:
    if plot:
        check_chart_path(plot)
    patient, _patient_data = load_patient(patient_path, flags)
    if population is not None:
        from ketadose.commands.population import run_compare_population

        return run_compare_population([_plan(dirs, ref, patient, concentration, weight_basis)[1]
                                       for ref in refs], population, seed, fmt, explain, plot)
    import datetime as dt

    from ketadose.commands.check import screen_for
    from ketadose.simulation import compared_with_result, comparison

    regimens = []
    for ref in refs:
        _src, plan = _plan(dirs, ref, patient, concentration, weight_basis)
        screen = screen_for(patient, plan.regimen, dt.date.today(), None)
        regimens.append((plan, *compared_with_result(plan, screen.status, explain)))
    result = comparison(regimens)
    if plot:
        plot_comparison(plot, result)
    if fmt in ("json", "yaml"):
        from ketadose.render.data import write_document
        from ketadose.render.documents.comparison import document

        write_document(document(result), output(), fmt)
    elif fmt == "csv":
        from ketadose.render.documents.comparison import csv_rows

        output().write(to_csv(*csv_rows(result)))
    else:
        from ketadose.render.comparison import comparison_table

        comparison_table(result, output())
    return 0


def show_models(fmt) -> None:
    from ketadose.pk.catalogue import model_catalogue

    result = model_catalogue()
    if fmt == "json":
        from ketadose.render.data import write_document
        from ketadose.render.documents.models import document

        write_document(document(result), output(), fmt)
    else:
        from ketadose.render.models import models_table

        models_table(result, output())
