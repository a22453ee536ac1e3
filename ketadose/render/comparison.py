"""`compare` as a terminal table: regimens side by side for one patient, or on the same
virtual patients, written to the stream given. The numbers shown are the document's (rounded
as in JSON), so a table and a JSON run of the same comparison agree."""

from __future__ import annotations

from typing import TextIO

from ketadose.render.documents.comparison import document, population_document
from ketadose.simulation import Comparison, Curve, PopulationComparison

NOT_ONE_TO_ONE = ("Esketamine and racemic concentrations are not comparable one to one.")


def chart_lines(curves: tuple[Curve, ...], population: bool = False) -> list:
    """The chart's lines: one per regimen, named with its model and the model's status (so an
    UNVERIFIED model is marked on its own line); text from files shown literally."""
    from ketadose.pk.chart import Line
    from ketadose.render.text import terminal_safe

    what = " median, 5th-95th percentile band" if population else ""
    return [Line(terminal_safe(f"{c.regimen}: {c.model} ({c.model_status}){what}", False),
                 c.t_h, c.ketamine, c.lo, c.hi) for c in curves]


def chart_marks(curves: tuple[Curve, ...]) -> list[str]:
    """Every UNVERIFIED/assumed entry behind the lines, once each, shown literally."""
    from ketadose.render.text import terminal_safe

    return [terminal_safe(m, False) for m in dict.fromkeys(m for c in curves for m in c.marks)]


def chart_title(comparison) -> str:
    if isinstance(comparison, PopulationComparison):
        return (f"Plasma ketamine on the same {comparison.n:,} virtual patients "
                f"(seed {comparison.seed}), each regimen's maximum case")
    return "Predicted plasma ketamine for this patient, each regimen's maximum case"


def chart_notes(curves: tuple[Curve, ...]) -> list[str]:
    return [NOT_ONE_TO_ONE] if len({c.drug for c in curves}) > 1 else []


def _mixed_forms(rows) -> str:
    """The caption's warning, only when the regimens mix esketamine and racemic ketamine."""
    return f" {NOT_ONE_TO_ONE}" if len({r["drug"] for r in rows}) > 1 else ""


def text_chart(comparison, width: int, shown=()) -> str:
    """The terminal's chart of the comparison (one line per regimen), ``width`` columns wide;
    marks already ``shown`` above it are not repeated."""
    from ketadose.pk.chart import text_lines_chart

    curves = comparison.curves
    return text_lines_chart(chart_lines(curves, isinstance(comparison, PopulationComparison)),
                            chart_title(comparison), width - 20, chart_notes(curves),
                            [m for m in chart_marks(curves) if m not in shown])


def svg_chart(comparison) -> str:
    from ketadose.pk.chart import svg_lines_chart

    curves = comparison.curves
    return svg_lines_chart(chart_lines(curves, isinstance(comparison, PopulationComparison)),
                           chart_title(comparison), chart_notes(curves), chart_marks(curves))


def png_chart(stream, comparison) -> None:
    """The same chart as ``svg_chart`` as PNG (matplotlib), into a binary stream."""
    from ketadose.pk.chart import png_lines_chart

    curves = comparison.curves
    png_lines_chart(stream, chart_lines(curves, isinstance(comparison, PopulationComparison)),
                    chart_title(comparison), chart_notes(curves), chart_marks(curves))


def _mg(lo, hi) -> str:
    if hi is None:
        return "-"
    return f"{lo:.0f}-{hi:.0f} mg" if lo is not None and abs(lo - hi) > 0.5 else f"{hi:.0f} mg"


def comparison_table(comparison: Comparison, stream: TextIO) -> None:
    from ketadose.render.table import console, table

    rows = document(comparison)["regimens"]
    console(file=stream).print(table("Regimens side by side for this patient", [
        ("regimen", {"no_wrap": True}), "drug / route", "screen", "course total", "infusion h",
        "model (status)", "peak ng/mL", "AUC ng.h/mL"],
        [(r["id"], f"{r['drug']}\n{r['route']}", r["screen_status"] +
          (" (hard limit)" if r["blocked_by_limits"] else ""), _mg(r["course_mg_min"], r["course_mg_max"]),
          f"{r['infusion_hours']:.0f}",
          r["note"] if r["model"] is None else f"{r['model']} ({r['model_status']})",
          "-" if r["peak_ng_per_ml"] is None else f"{r['peak_ng_per_ml']:.0f}",
          "-" if r["auc_ng_h_per_ml"] is None else f"{r['auc_ng_h_per_ml']:.0f}") for r in rows],
        "Peaks and AUC: the maximum case (every escalation, titration at its maximum)."
        + _mixed_forms(rows)))
    if comparison.curves:
        out = console(file=stream)
        out.print(text_chart(comparison, out.width), markup=False, highlight=False)
    if any("explain" in r for r in rows):
        console(file=stream).print(table("How each number was derived (--explain)", [
            ("regimen", {"no_wrap": True}), "dosing weight", "concentration", "course total",
            "peak and AUC"], [(r["id"], *_explained(r)) for r in rows]))


def _explained(row) -> tuple:
    from ketadose.render.numbers import number

    e = row["explain"]
    weight = (f"{number(e['dosing_weight_kg'])} kg ({e['weight_basis']} body weight, from "
              f"{e['weight_from']})" if e["dosing_weight_kg"] is not None
              else "not needed (fixed doses)")
    conc = (f"{number(e['concentration_mg_per_ml'], 3, 'mg/mL')} (from {e['concentration_from']})"
            if e["concentration_mg_per_ml"] else "not given (no pump rates)")
    total = f"{e['course_total']}: {e['calendar_days']} days"
    pk = (f"model {row['model']} ({e['model_status']}), {number(e['grid_min'])}-min steps; "
          f"peak: {e['peak']}; AUC: {e['auc']}" if row["model"] else "no prediction (see note)")
    return weight, conc, total, pk


def _band(d, nd=0) -> str:
    return f"{d['p50']:.{nd}f} ({d['p5']:.{nd}f}-{d['p95']:.{nd}f})"


def population_comparison_table(comparison: PopulationComparison, stream: TextIO) -> None:
    from ketadose.render.table import console, table

    n, seed = comparison.n, comparison.seed
    rows = population_document(comparison)["regimens"]
    out = console(file=stream)
    out.print(table(f"Regimens on the same {n:,} virtual patients (seed {seed})", [
        ("regimen", {"no_wrap": True}), "model (status)", "peak ng/mL median (5th-95th)",
        "course AUC ng.h/mL", "peak vs first regimen", "chance peak above"],
        [(r["id"], r["note"] if r["model"] is None else f"{r['model']} ({r['model_status']})",
          "-" if r["peak_ng_per_ml"] is None else _band(r["peak_ng_per_ml"]),
          "-" if r["course_auc_ng_h_per_ml"] is None else _band(r["course_auc_ng_h_per_ml"]),
          "-" if r["peak_ratio_to_first"] is None else _band(r["peak_ratio_to_first"], 2) + " x",
          "; ".join(f"{t['ng_per_ml']:g}: {t['p_peak_above']:.0%}" for t in r["thresholds"]) or "-")
         for r in rows],
        "Same seed and model: the same virtual patients under each regimen (common random "
        "numbers), so differences come from the regimen. Maximum case (every escalation)."
        + _mixed_forms(rows)), markup=False)
    shown = sorted({m for r in rows for m in r["unverified"]})
    for mark in shown:
        out.print(f"UNVERIFIED/assumed: {mark}", markup=False, highlight=False)
    if comparison.curves:
        out.print(text_chart(comparison, out.width, shown), markup=False, highlight=False)
    if comparison.explain:
        _population_explained(comparison, stream)


def _population_explained(comparison: PopulationComparison, stream: TextIO) -> None:
    """--explain: how the population summary was derived, as numbered lines."""
    from ketadose.render.documents.comparison import population_explanation
    from ketadose.render.text import terminal_safe

    e = population_explanation(comparison)
    lines = [f"virtual patients: {e['virtual_patients']}",
             f"common random numbers: {e['common_random_numbers']}",
             f"variability: {e['variability_convention']}"]
    for m in e["models"]:
        varying = "; ".join(f"{v['parameter']} (typical {v['typical']:g}) CV {v['cv_percent']:g}%, "
                            f"omega^2 {v['omega2']:g} ({v['status']}; {v['source']})"
                            if v["typical"] is not None else
                            f"{v['parameter']} CV {v['cv_percent']:g}% ({v['status']}; {v['source']})"
                            for v in m["varying"])
        lines.append(f"model {m['model']} ({m['status']}) for {', '.join(m['regimens'])}: varying "
                     f"{varying or 'nothing'} (typical values in {m['typical_units']}); held: "
                     f"weight {m['held']['weight_kg']:g} kg; covariates: {m['covariates']}")
        lines += [f"  correlation {'-'.join(c['parameters'])}: r = {c['r']:g} ({c['status']}; "
                  f"{c['source']})" for c in m["correlations"]]
        lines.append(f"  residual error: {m['residual_error']}")
    lines.append(f"percentiles: {e['percentiles']}")
    lines += [f"{k}: {v}" for k, v in e["measures"].items()]
    stream.write("How the population summary was derived (--explain):\n")
    for text in lines:
        stream.write(terminal_safe(f"  {text}") + "\n")
