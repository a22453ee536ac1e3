"""`simulate` as terminal tables and a text chart, for one patient or virtual patients,
written to the stream given."""

from __future__ import annotations

from typing import TextIO

from ketadose.simulation import PopulationSimulation, Simulation


def chart_marks(run: Simulation | PopulationSimulation) -> list[str]:
    """The UNVERIFIED/assumed entries a chart of this run must carry, shown literally."""
    from ketadose.render.text import terminal_safe
    from ketadose.simulation import result_marks, template_marks

    marks = (tuple(run.result.marks) + template_marks(run.plan)
             if isinstance(run, PopulationSimulation) else result_marks(run.plan, run.result))
    return [terminal_safe(m, False) for m in dict.fromkeys(marks)]


def simulation_tables(run: Simulation, stream: TextIO) -> None:
    from ketadose.pk.chart import text_chart
    from ketadose.render.table import console, line, styled, table

    res = run.result
    out = console(file=stream)
    m = res.model
    out.print(line((m.name, "bold"), f" ({m.status}); {m.population}"))
    out.print(f"{m.citation}")
    p = res.params
    out.print(f"Patient parameters: V1 {p.v1_l:.3g} L, k10 {p.k10:.4g}/min, k12 {p.k12:.4g}, "
              f"k21 {p.k21:.4g}, k13 {p.k13:.4g}, k31 {p.k31:.4g}/min"
              + (f"; F {res.f:g}, ka {res.ka:.4g}/min ({res.absorption_source})" if res.ka else ""))
    for w in res.warnings:
        out.print(line(("warning:", "yellow"), f" {w}"))
    out.print(table("Per day (day after the course last)", [
        "day", "Cmax ng/mL", "Tmax h", "end of day ng/mL", "AUC ng.h/mL"],
        [(f"{d['day']}" + (" (after)" if d["after_course"] else ""), f"{d['cmax_ng_per_ml']:.1f}",
          f"{d['tmax_h']:.2f}", f"{d['trough_ng_per_ml']:.1f}", f"{d['auc_ng_h_per_ml']:.0f}")
         for d in res.days]))
    out.print(table("Time above thresholds", ["threshold", ("ng/mL", {"no_wrap": True}),
                                              ("hours above", {"no_wrap": True}), "source"],
                    [(t["name"], f"{t['ng_per_ml']:g}", f"{t['hours_above']:.1f}", t["source"])
                     for t in res.thresholds]))
    out.print(text_chart(res.t_h, res.ketamine, run.title, chart_marks(run)), markup=False,
              highlight=False)
    for n in res.notes:
        out.print(styled(f"- {n}", "dim"))
    if len(run.spread) > 1:
        out.print(table("Spread between models for this plan (peak and total exposure)",
                        ["model", "status", "peak ng/mL", "course AUC ng.h/mL"],
                        [(mid, st, f"{pk:.1f}", f"{auc:.0f}") for mid, st, pk, auc in run.spread],
                        "Published models differ by up to about 1.5x (docs/evidence.md PK0)."))
    if run.explain:
        _explain_lines(run, stream)


def _explain_lines(run: Simulation, stream: TextIO) -> None:
    from ketadose.render.text import terminal_safe

    stream.write("Explanation (--explain):\n")
    for step in run.explain:
        stream.write(terminal_safe(f"  {step['what']}: {step['expression']}"
                                   + (f"  [{step['source']}]" if step["source"] else "")) + "\n")


def _band(d, nd=0) -> str:
    return f"{d['p50']:.{nd}f} ({d['p5']:.{nd}f}-{d['p95']:.{nd}f})"


def _prob(t) -> str:
    lo, hi = t["p_peak_above_ci95"]
    return f"{t['p_peak_above']:.0%} ({lo:.0%}-{hi:.0%})"


def population_tables(run: PopulationSimulation, stream: TextIO) -> None:
    from ketadose.pk.chart import text_band_chart
    from ketadose.render.table import console, line

    res = run.result
    out = console(file=stream)
    m = res.model
    out.print(line((m.name, "bold"), f" ({m.status}); {m.population}"))
    out.print(m.citation, markup=False)
    out.print(f"{res.n:,} virtual patients, seed {res.seed}; every one weighs {res.weight_kg:g} kg "
              f"({res.pop.scaling})", markup=False)
    out.print(_variability_table(res))
    for w in res.warnings:
        out.print(line(("warning:", "yellow"), f" {w}"))
    for mark in chart_marks(run):  # the model's and the template's
        out.print(line(("UNVERIFIED/assumed:", "yellow"), f" {mark}"))
    out.print(_days_table(res))
    out.print(_crossing_table(res))
    out.print(text_band_chart(res.t_h, res.ketamine, run.title), markup=False, highlight=False)
    if res.norketamine is not None:
        out.print(text_band_chart(res.t_h, res.norketamine,
                                  f"{run.regimen.id}: {res.pop.metabolite.name} (apparent units)"),
                  markup=False, highlight=False)
    for note in res.notes:
        out.print(f"- {note}", markup=False, highlight=False, style="dim")


def _variability_table(res):
    from ketadose.pk.popmodels import CV_CONVENTION, omega2
    from ketadose.render.table import table

    return table("Between-patient variability as published", [
        "parameter", ("CV %", {"no_wrap": True}), ("omega^2", {"no_wrap": True}), "status",
        ("source", {"ratio": 3})],
        [(k, f"{s.value * 100:g}", f"{omega2(s.value):.4f}", s.status, s.source)
         for k, s in res.pop.iiv.items()]
        + [(f"correlation {a}-{b}", f"r = {r.value:g}", "", r.status, r.source)
           for a, b, r in res.pop.correlations]
        + [(f"residual error, {k} (not applied)", f"{s.value * 100:g}", "", s.status, s.source)
           for k, s in res.pop.residual.items()],
        CV_CONVENTION)


def _days_table(res):
    from ketadose.render.table import table

    met = res.norketamine is not None
    cols = ["day", "Cmax ng/mL median (5th-95th)", "AUC ng.h/mL median (5th-95th)"]
    if met:
        cols += [f"{res.pop.metabolite.name} Cmax", f"{res.pop.metabolite.name} AUC"]
    rows = []
    for d in res.days:
        row = [f"{d['day']}" + (" (after)" if d["after_course"] else ""),
               _band(d["cmax_ng_per_ml"], 1), _band(d["auc_ng_h_per_ml"])]
        if met:
            row += [_band(d["norketamine_cmax_ng_per_ml"], 1), _band(d["norketamine_auc_ng_h_per_ml"])]
        rows.append(row)
    return table("Per day across virtual patients (day after the course last)", cols, rows)


def _crossing_table(res):
    from ketadose.render.table import table

    return table("Chance of crossing each threshold (peak over the whole course)", [
        "threshold", ("ng/mL", {"no_wrap": True}), ("peak above", {"no_wrap": True}),
        ("never above", {"no_wrap": True}), ("hours above, median (5th-95th)", {"no_wrap": True}),
        ("source", {"ratio": 2})],
        [(t["name"], f"{t['ng_per_ml']:g}", _prob(t), f"{t['p_never_above']:.0%}",
          _band(t["hours_above"], 1) if "hours_above" in t else "-", t["source"])
         for t in list(res.thresholds) + list(res.bands)],
        "Percentages are fractions of virtual patients (95% sampling interval in brackets).")
