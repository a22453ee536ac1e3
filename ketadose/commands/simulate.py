"""`ketadose simulate`, `compare` and `models` (the only commands that import numpy)."""

from __future__ import annotations

import click

from ketadose import __version__
from ketadose.errors import KetadoseError
from ketadose.io.library import limit_library
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.plan import make_plan
from ketadose.render.data import Rows, to_csv, to_json, to_yaml
from ketadose.render.diag import emit, emit_line


def _plan(dirs, ref, patient):
    src, regimen, findings = load_regimen(ref, dirs)
    return src, make_plan(regimen, patient, limit_library(), regimen_findings=findings)


def _simulate(plan, model, resolution, f, ka):
    from ketadose.pk.models import MODELS
    from ketadose.pk.simulate import simulate

    if model is not None and model not in MODELS:
        from ketadose.pk.popmodels import SYSTEM_MODELS

        if model in SYSTEM_MODELS:
            raise KetadoseError(f"model {model!r} is for --population only (virtual patients)")
        raise KetadoseError(f"no model {model!r}; `ketadose models` lists them")
    if f is not None and not 0 < f <= 1:
        raise KetadoseError("--f must be a fraction between 0 and 1")
    try:
        return simulate(plan, model, resolution, f, ka)
    except KetadoseError as exc:
        raise KetadoseError(f"{plan.regimen.id}: {exc.message}") from None


def result_data(res, src, plan, series=True) -> dict:
    p = res.params
    params = p.as_dict()
    if res.ka is not None:
        params.update({"ka_per_min": res.ka, "f": res.f})
    data = {
        "ketadose_version": __version__,
        "regimen": {"id": plan.regimen.id, "sha256": src.sha256, "drug": plan.regimen.drug},
        "model": {"id": res.model.id, "name": res.model.name, "citation": res.model.citation,
                  "drug": res.model.drug, "status": res.model.status,
                  "population": res.model.population, "covariates": res.model.covariates,
                  "weight_kg": plan.weight.actual_kg, "parameters": params,
                  "absorption_source": res.absorption_source},
        "route": res.route,
        "days": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}
                 for d in res.days],
        "thresholds": [{**t, "hours_above": round(t["hours_above"], 4)} for t in res.thresholds],
        "bands_note": "display bands are a synthesis, not a source (docs/evidence.md PK2)",
        "notes": list(res.notes), "warnings": list(res.warnings),
    }
    if series:
        data["series"] = Rows(series_columns(res, None))
    return data


def series_columns(res, missing) -> dict:
    """t_h, ketamine and norketamine as Python floats, each rounded by round() (correctly
    rounded decimals, unlike numpy's round); `missing` where the model has no norketamine."""
    t_h = [round(t, 6) for t in res.t_h.tolist()]
    nk = res.norketamine
    return {"t_h": t_h,
            "ketamine_ng_per_ml": [round(c, 4) for c in res.ketamine.tolist()],
            "norketamine_ng_per_ml": [missing] * len(t_h) if nk is None else
            [round(c, 4) for c in nk.tolist()]}


def simulation_explain(res, plan, resolution) -> list:
    m, p = res.model, res.params
    steps = [
        {"what": "model", "expression": f"{m.name} ({m.status}); covariates: {m.covariates}",
         "source": m.citation},
        {"what": "weight", "expression": f"{plan.weight.actual_kg:g} kg actual weight (PK models "
         "scale on total body weight)", "source": None},
        {"what": "patient parameters", "expression": f"V1 {p.v1_l:.4g} L, k10 {p.k10:.4g}, k12 "
         f"{p.k12:.4g}, k21 {p.k21:.4g}, k13 {p.k13:.4g}, k31 {p.k31:.4g} /min; clearance "
         f"{p.cl_l_min:.4g} L/min", "source": m.citation},
        {"what": "inputs", "expression": "the plan's rates in mg/h (maximum case), "
         + ("into the central compartment" if res.route == "iv" else
            f"x F {res.f:g} into an absorption depot, ka {res.ka:.4g}/min"),
         "source": res.absorption_source},
        {"what": "solution", "expression": "exact: modal closed form between input changes "
         f"(no step-size error); output every {resolution:g} min plus every input change",
         "source": None},
        {"what": "AUC", "expression": "exact: amount eliminated / (k10 x V1), per day", "source": None},
        {"what": "time above a threshold", "expression": "linear between output points", "source": None},
    ]
    return steps


def run_simulate(dirs, ref, patient_path, flags, model, resolution, f, ka, fmt, plot,
                 explain=False, population=None, seed=1) -> int:
    patient, patient_data = load_patient(patient_path, flags)
    src, plan = _plan(dirs, ref, patient)
    if population is not None:
        from ketadose.commands.population import run_population

        if explain:
            raise KetadoseError("--explain is for one patient; leave it out with --population")
        return run_population(plan, src, model, population, seed, resolution, f, ka, fmt, plot)
    res = _simulate(plan, model, resolution, f, ka)
    title = f"{plan.regimen.id}: predicted plasma ketamine ({res.model.id}, {plan.weight.actual_kg:g} kg)"
    if plot:
        _plot(plot, res, title)
    if fmt == "json":
        data = result_data(res, src, plan)
        if explain:
            data["explain"] = simulation_explain(res, plan, resolution)
        emit(to_json(data))
    elif fmt == "csv":
        rows = Rows(series_columns(res, "")).as_list()
        emit(to_csv(rows, ("t_h", "ketamine_ng_per_ml", "norketamine_ng_per_ml")))
    else:
        render_simulation(res, plan, title)
        if explain:
            emit_line("Explanation (--explain):")
            for step in simulation_explain(res, plan, resolution):
                emit_line(f"  {step['what']}: {step['expression']}"
                           + (f"  [{step['source']}]" if step["source"] else ""))
    return 0


def _plot(path, res, title) -> None:
    from ketadose.pk import chart

    write_chart(path, lambda fh: fh.write(chart.svg_chart(res.t_h, res.ketamine, title)),
                lambda fh: chart.png_chart(fh, res.t_h, res.ketamine, title))


def write_chart(path, svg, png) -> None:
    """A chart through the same writer as -o: regular files only, --force to replace, never
    through a symlink without --force. ``svg``/``png`` write into the open file."""
    from ketadose.io.writer import AtomicFile
    from ketadose.pk import chart

    low = path.lower()
    if not low.endswith((".svg", ".png")):
        raise KetadoseError("--plot needs a .png or .svg file name", path)
    force = bool(click.get_current_context().meta.get("force"))
    if low.endswith(".png"):
        chart.png_import()  # a missing matplotlib is refused before the file is created
    with AtomicFile(path, force, what="a chart") as fh:
        (svg if low.endswith(".svg") else png)(fh)


def render_simulation(res, plan, title) -> None:
    from ketadose.pk.chart import text_chart
    from ketadose.render.table import console, line, styled, table

    out = console()
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
    out.print(text_chart(res.t_h, res.ketamine, title), markup=False, highlight=False)
    for n in res.notes:
        out.print(styled(f"- {n}", "dim"))
    spread = model_spread(plan, res)
    if len(spread) > 1:
        out.print(table("Spread between models for this plan (peak and total exposure)",
                        ["model", "status", "peak ng/mL", "course AUC ng.h/mL"],
                        [(mid, st, f"{pk:.1f}", f"{auc:.0f}") for mid, st, pk, auc in spread],
                        "Published models differ by up to about 1.5x (docs/evidence.md PK0)."))


def model_spread(plan, res) -> list:
    """Peak and course AUC under every model built for this drug form."""
    from ketadose.pk.models import MODELS
    from ketadose.pk.simulate import simulate

    rows = []
    for mid, model in MODELS.items():
        if model.drug != plan.regimen.drug:
            continue
        other = res if mid == res.model.id else simulate(plan, mid, 5.0, res.f, res.ka)
        rows.append((mid, model.status, max(d["cmax_ng_per_ml"] for d in other.days),
                     sum(d["auc_ng_h_per_ml"] for d in other.days)))
    return rows


def run_compare(dirs, refs, patient_path, flags, fmt, population=None, seed=1) -> int:
    from ketadose.commands.check import screen_for

    patient, patient_data = load_patient(patient_path, flags)
    if population is not None:
        from ketadose.commands.population import run_compare_population

        return run_compare_population([_plan(dirs, ref, patient) for ref in refs], population,
                                      seed, fmt)
    import datetime as dt

    rows = []
    for ref in refs:
        src, plan = _plan(dirs, ref, patient)
        screen = screen_for(patient, plan.regimen, dt.date.today(), None)
        row = {"id": plan.regimen.id, "drug": plan.regimen.drug, "route": plan.regimen.route,
               "screen_status": screen.status, "blocked_by_limits": plan.blocked,
               "course_mg_min": plan.totals["course_mg_min"],
               "course_mg_max": plan.totals["course_mg_max"],
               "infusion_hours": sum((p.duration_h or 0) for p in plan.phases
                                     if p.kind in ("infusion", "titration", "escalation", "bolus"))
               * (plan.regimen.days if plan.regimen.pattern == "daily" else 1),
               "model": None, "peak_ng_per_ml": None, "auc_ng_h_per_ml": None, "note": None}
        try:
            res = _simulate(plan, None, 5.0, None, None)
            row.update(model=res.model.id,
                       peak_ng_per_ml=round(max(d["cmax_ng_per_ml"] for d in res.days), 2),
                       auc_ng_h_per_ml=round(sum(d["auc_ng_h_per_ml"] for d in res.days), 1))
        except KetadoseError as exc:
            row["note"] = exc.message
        rows.append(row)
    if fmt == "json":
        emit(to_json({"ketadose_version": __version__, "regimens": rows}))
        return 0
    if fmt == "yaml":
        emit(to_yaml({"ketadose_version": __version__, "regimens": rows}))
        return 0
    from ketadose.render.table import console, table

    def mg(lo, hi):
        if hi is None:
            return "-"
        return f"{lo:.0f}-{hi:.0f} mg" if lo is not None and abs(lo - hi) > 0.5 else f"{hi:.0f} mg"

    console().print(table("Regimens side by side for this patient", [
        ("regimen", {"no_wrap": True}), "drug / route", "screen", "course total", "infusion h",
        "model", "peak ng/mL", "AUC ng.h/mL"],
        [(r["id"], f"{r['drug']}\n{r['route']}", r["screen_status"] +
          (" (hard limit)" if r["blocked_by_limits"] else ""), mg(r["course_mg_min"], r["course_mg_max"]),
          f"{r['infusion_hours']:.0f}", r["model"] or r["note"],
          "-" if r["peak_ng_per_ml"] is None else f"{r['peak_ng_per_ml']:.0f}",
          "-" if r["auc_ng_h_per_ml"] is None else f"{r['auc_ng_h_per_ml']:.0f}") for r in rows],
        "Peaks and AUC: the maximum case (every escalation, titration at its maximum); "
        "esketamine and racemic concentrations are not comparable one to one."))
    return 0


def show_models(fmt) -> None:
    from ketadose.pk.models import DEFAULT_MODEL, MODELS

    rows = []
    for m in MODELS.values():
        p = m.params(70.0)
        rows.append({"id": m.id, "name": m.name, "drug": m.drug, "status": m.status,
                     "default_for": [d for d, mid in DEFAULT_MODEL.items() if mid == m.id],
                     "population": m.population, "citation": m.citation, "covariates": m.covariates,
                     "sampling": m.sampling, "notes": m.notes, "parameters_70kg": p.as_dict(),
                     "clearance_l_per_min_70kg": round(p.cl_l_min, 4),
                     "css_ng_per_ml_per_mg_per_h": round(1000 / 60 / p.cl_l_min, 2),
                     **_variability_listing(m.id)})
    from ketadose.pk.popmodels import SYSTEM_MODELS

    for sm in SYSTEM_MODELS.values():  # models for --population only (not one patient)
        m, cl = sm.model, sm.clearance_l_per_min
        rows.append({"id": m.id, "name": m.name, "drug": m.drug, "status": m.status,
                     "default_for": [], "population": m.population, "citation": m.citation,
                     "covariates": m.covariates, "sampling": m.sampling,
                     "notes": m.notes, "parameters_70kg": {k: v.value for k, v in sm.typical.items()},
                     "clearance_l_per_min_70kg": round(cl, 4),
                     "css_ng_per_ml_per_mg_per_h": round(1000 / 60 / cl, 2),
                     **_variability_listing(m.id)})
    if fmt == "json":
        emit(to_json(rows))
        return
    from ketadose.render.table import console, table

    console().print(table("Pharmacokinetic models", [
        ("id", {"no_wrap": True}), ("drug", {"no_wrap": True}), ("status", {"no_wrap": True}),
        ("population", {"ratio": 1}), ("CL L/min", {"no_wrap": True}),
        ("Css/(mg/h)", {"no_wrap": True}), ("citation and notes", {"ratio": 3})],
        [(r["id"] + (" (default)" if r["default_for"] else ""), r["drug"], r["status"],
          r["population"], f"{r['clearance_l_per_min_70kg']:.2f}",
          f"{r['css_ng_per_ml_per_mg_per_h']:.2f} ng/mL", f"{r['citation']}. {r['notes']}"
          + _variability_text(r))
         for r in rows]))


def _variability_listing(model_id) -> dict:
    """Published between-patient variability (for --population), with status and source."""
    from ketadose.pk.popmodels import POPULATION_MODELS
    from ketadose.pk.population import DEFAULT_POPULATION_MODEL

    pop = POPULATION_MODELS.get(model_id)
    if pop is None:
        return {"variability": None, "population_default_for": [], "unverified": []}
    return {"variability": [{"parameter": k, "cv_percent": round(v.value * 100, 2),
                             "status": v.status, "source": v.source} for k, v in pop.iiv.items()],
            "population_default_for": [d for d, mid in DEFAULT_POPULATION_MODEL.items()
                                       if mid == model_id],
            "unverified": pop.marks() + [n for n in pop.notes if "UNVERIFIED" in n
                                         or "ASSUMPTION" in n]}


def _variability_text(r) -> str:
    if not r["variability"]:
        return " No published between-patient variability: not usable with --population."
    text = " Between-patient variability (--population): " + ", ".join(
        f"{v['parameter']} {v['cv_percent']:g}% ({v['status']})" for v in r["variability"]) + "."
    if r["population_default_for"]:
        text += " Default for --population (" + ", ".join(r["population_default_for"]) + ")."
    return text
