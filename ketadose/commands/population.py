"""`simulate --population N` and `compare --population N`: virtual patients like this one.

Every output format carries the model's verification status and every UNVERIFIED, code-only or
assumed entry ("marks"), so a clinician sees them next to the numbers.
"""

from __future__ import annotations

import math

from ketadose import __version__
from ketadose.errors import KetadoseError
from ketadose.render.data import to_csv, to_json, to_yaml
from ketadose.render.diag import emit

FORMAT_VERSION = 1


def _r(v, nd=4):
    return round(float(v), nd)


def _pct_dict(d):
    return {k: _r(v) for k, v in d.items()}


def _run(plan, model, n, seed, resolution, f, ka):
    from ketadose.pk.models import MODELS
    from ketadose.pk.popmodels import POPULATION_MODELS
    from ketadose.pk.population import simulate_population

    if model is not None and model not in MODELS and model not in POPULATION_MODELS:
        raise KetadoseError(f"no model {model!r}; `ketadose models` lists them")
    if f is not None and not 0 < f <= 1:
        raise KetadoseError("--f must be a fraction between 0 and 1")
    if ka is not None and not (math.isfinite(ka) and ka > 0):
        raise KetadoseError("--ka must be a positive number (1/min)")
    if not 0 <= seed < 2 ** 63:
        raise KetadoseError("--seed must be a whole number from 0 to 2^63 - 1")
    try:
        return simulate_population(plan, model, n, seed, resolution, f, ka)
    except KetadoseError as exc:
        raise KetadoseError(f"{plan.regimen.id}: {exc.message}") from None


def model_block(res) -> dict:
    from ketadose.pk.popmodels import CV_CONVENTION, omega2

    m, pop = res.model, res.pop
    params = {k: _r(v, 6) for k, v in res.typical.items()}
    if res.ka is not None:
        params.update({"ka_per_min": res.ka, "f": res.f})
    variability = [{"parameter": k, "cv_percent": _r(s.value * 100, 2), "omega2": _r(omega2(s.value), 5),
                    "source": s.source, "status": s.status} for k, s in pop.iiv.items()]
    out = {"id": m.id, "name": m.name, "citation": m.citation, "drug": m.drug, "status": m.status,
           "population": m.population, "covariates": pop.scaling, "weight_kg": res.weight_kg,
           "typical_parameters": params,
           "units": getattr(pop, "units", "clearances L/min, volumes L (for this weight)"),
           "variability": variability, "variability_convention": CV_CONVENTION,
           "correlations": [{"parameters": [a, b], "r": r.value, "source": r.source,
                             "status": r.status} for a, b, r in pop.correlations],
           "residual_error": [{"analyte": k, "proportional_sd": s.value, "source": s.source,
                               "status": s.status, "applied": False}
                              for k, s in pop.residual.items()],
           "metabolite": None, "absorption_source": res.absorption_source}
    if pop.metabolite is not None:
        mm = pop.metabolite
        out["metabolite"] = {
            "name": mm.name,
            "clearance_l_per_h_70kg": {"value": mm.cl_70_l_h.value, "source": mm.cl_70_l_h.source,
                                       "status": mm.cl_70_l_h.status},
            "volume_l_70kg": {"value": mm.v_70_l.value, "source": mm.v_70_l.source,
                              "status": mm.v_70_l.status},
            "clearance_rise_per_h": {"value": mm.cl_slope_per_h.value,
                                     "source": mm.cl_slope_per_h.source,
                                     "status": mm.cl_slope_per_h.status}}
    return out


def population_data(res, src, plan, series=True) -> dict:
    from ketadose.pk.population import PERCENTILES

    data = {
        "ketadose_version": __version__, "format_version": FORMAT_VERSION, "kind": "population",
        "regimen": {"id": plan.regimen.id, "sha256": src.sha256, "drug": plan.regimen.drug},
        "model": model_block(res),
        "population": {"n": res.n, "seed": res.seed, "covariates_held": {"weight_kg": res.weight_kg},
                       "generator": "numpy PCG64 (numpy.random.default_rng(seed))"},
        "route": res.route,
        "unverified": list(res.marks),
        "percentiles": list(PERCENTILES),
        "days": [{**{k: v for k, v in d.items() if not isinstance(v, dict)},
                  **{k: _pct_dict(v) for k, v in d.items() if isinstance(v, dict)}}
                 for d in res.days],
        "thresholds": [_threshold(t) for t in res.thresholds],
        "bands": [_threshold(t) for t in res.bands],
        "notes": list(res.notes), "warnings": list(res.warnings),
    }
    if series:
        nk = res.norketamine
        data["series"] = [
            {"t_h": _r(t, 6),
             "ketamine_ng_per_ml": {f"p{p}": _r(res.ketamine[j, i]) for j, p in enumerate(PERCENTILES)},
             "norketamine_ng_per_ml": None if nk is None else
             {f"p{p}": _r(nk[j, i]) for j, p in enumerate(PERCENTILES)}}
            for i, t in enumerate(res.t_h)]
    return data


def _threshold(t) -> dict:
    out = {"name": t["name"], "ng_per_ml": t["ng_per_ml"], "source": t["source"],
           "p_peak_above": _r(t["p_peak_above"]), "p_never_above": _r(t["p_never_above"]),
           "p_peak_above_ci95": [_r(x) for x in t["p_peak_above_ci95"]]}
    if "hours_above" in t:
        out["hours_above"] = _pct_dict(t["hours_above"])
    return out


def csv_rows(res):
    from ketadose.pk.population import PERCENTILES

    status = res.model.status + ("; " + " | ".join(res.marks) if res.marks else "")
    cols = ["t_h"] + [f"ketamine_p{p}" for p in PERCENTILES] + \
        [f"norketamine_p{p}" for p in PERCENTILES] + ["model", "status"]
    rows = []
    nk = res.norketamine
    for i, t in enumerate(res.t_h):
        row = {"t_h": _r(t, 6), "model": res.model.id, "status": status}
        for j, p in enumerate(PERCENTILES):
            row[f"ketamine_p{p}"] = _r(res.ketamine[j, i])
            row[f"norketamine_p{p}"] = "" if nk is None else _r(nk[j, i])
        rows.append(row)
    return rows, cols


def _title(plan, res):
    return (f"{plan.regimen.id}: plasma ketamine in {res.n:,} virtual patients "
            f"({res.model.id}, {res.weight_kg:g} kg, seed {res.seed})")


def write_plot(plot, res, title):
    """Through the CLI's one writer (as `simulate --plot`): regular files, --force to replace."""
    from ketadose.commands.simulate import write_chart

    write_chart(plot, lambda fh: fh.write(chart_svg(res, title)),
                lambda fh: _png(fh, res, title))


def chart_svg(res, title):
    from ketadose.pk import chart

    return chart.svg_band_chart(res.t_h, res.ketamine, title, res.norketamine)


def _png(fh, res, title):
    from ketadose.pk import chart

    chart.png_band_chart(fh, res.t_h, res.ketamine, title, res.norketamine)


def run_population(plan, src, model, n, seed, resolution, f, ka, fmt, plot) -> int:
    res = _run(plan, model, n, seed, resolution, f, ka)
    title = _title(plan, res)
    if plot:
        write_plot(plot, res, title)
    if fmt == "json":
        emit(to_json(population_data(res, src, plan)))
    elif fmt == "csv":
        rows, cols = csv_rows(res)
        emit(to_csv(rows, cols))
    else:
        render(res, plan, title)
    return 0


def _band(d, nd=0):
    return f"{d['p50']:.{nd}f} ({d['p5']:.{nd}f}-{d['p95']:.{nd}f})"


def render(res, plan, title) -> None:
    from ketadose.pk.chart import text_band_chart
    from ketadose.pk.popmodels import CV_CONVENTION, omega2
    from ketadose.render.table import console, line, table

    out = console()
    m = res.model
    out.print(line((m.name, "bold"), f" ({m.status}); {m.population}"))
    out.print(m.citation, markup=False)
    out.print(f"{res.n:,} virtual patients, seed {res.seed}; every one weighs {res.weight_kg:g} kg "
              f"({res.pop.scaling})", markup=False)
    out.print(table("Between-patient variability as published", [
        "parameter", ("CV %", {"no_wrap": True}), ("omega^2", {"no_wrap": True}), "status",
        ("source", {"ratio": 3})],
        [(k, f"{s.value * 100:g}", f"{omega2(s.value):.4f}", s.status, s.source)
         for k, s in res.pop.iiv.items()]
        + [(f"correlation {a}-{b}", f"r = {r.value:g}", "", r.status, r.source)
           for a, b, r in res.pop.correlations]
        + [(f"residual error, {k} (not applied)", f"{s.value * 100:g}", "", s.status, s.source)
           for k, s in res.pop.residual.items()],
        CV_CONVENTION))
    for w in res.warnings:
        out.print(line(("warning:", "yellow"), f" {w}"))
    for mark in res.marks:
        out.print(line(("UNVERIFIED/assumed:", "yellow"), f" {mark}"))
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
    out.print(table("Per day across virtual patients (day after the course last)", cols, rows))
    out.print(table("Chance of crossing each threshold (peak over the whole course)", [
        "threshold", ("ng/mL", {"no_wrap": True}), ("peak above", {"no_wrap": True}),
        ("never above", {"no_wrap": True}), ("hours above, median (5th-95th)", {"no_wrap": True}),
        ("source", {"ratio": 2})],
        [(t["name"], f"{t['ng_per_ml']:g}", _prob(t), f"{t['p_never_above']:.0%}",
          _band(t["hours_above"], 1) if "hours_above" in t else "-", t["source"])
         for t in list(res.thresholds) + list(res.bands)],
        "Percentages are fractions of virtual patients (95% sampling interval in brackets)."))
    out.print(text_band_chart(res.t_h, res.ketamine, title), markup=False, highlight=False)
    if met:
        out.print(text_band_chart(res.t_h, res.norketamine,
                                  f"{plan.regimen.id}: {res.pop.metabolite.name} (apparent units)"),
                  markup=False, highlight=False)
    for note in res.notes:
        out.print(f"- {note}", markup=False, highlight=False, style="dim")


def _prob(t) -> str:
    lo, hi = t["p_peak_above_ci95"]
    return f"{t['p_peak_above']:.0%} ({lo:.0%}-{hi:.0%})"


# ----------------------------------------------------------------------------- compare

def compare_rows(plans, n, seed, model=None) -> list:
    """One population summary per regimen on the same virtual patients (same seed and model:
    common random numbers), with each regimen's peak relative to the first regimen's, patient by
    patient, where both use the same model."""
    import numpy as np

    from ketadose.pk.population import simulate_population

    rows, first = [], None
    for _src, plan in plans:
        row = {"id": plan.regimen.id, "drug": plan.regimen.drug, "route": plan.regimen.route,
               "model": None, "model_status": None, "n": n, "seed": seed,
               "peak_ng_per_ml": None, "course_auc_ng_h_per_ml": None, "thresholds": [],
               "peak_ratio_to_first": None, "unverified": [], "note": None}
        try:
            res = simulate_population(plan, model, n, seed, 5.0, None, None)
        except KetadoseError as exc:
            row["note"] = exc.message
            rows.append(row)
            continue
        peak = res.patient_peaks
        auc = res.patient_course_auc
        row.update(model=res.model.id, model_status=res.model.status,
                   peak_ng_per_ml=_pct_dict(_np_pct(peak)),
                   course_auc_ng_h_per_ml=_pct_dict(_np_pct(auc)),
                   thresholds=[_threshold(t) for t in res.thresholds],
                   unverified=list(res.marks))
        if first is None:
            first = (res.model.id, peak, plan.regimen.id)
        elif first[0] == res.model.id:
            row["peak_ratio_to_first"] = _pct_dict(_np_pct(peak / np.maximum(first[1], 1e-12)))
        rows.append(row)
    return rows


def _np_pct(values):
    from ketadose.pk.population import _pct

    return _pct(values)


def run_compare_population(plans, n, seed, fmt) -> int:
    from ketadose.pk.population import MAX_N

    if not 1 <= n <= MAX_N:
        raise KetadoseError(f"--population must be between 1 and {MAX_N:,}")
    if not 0 <= seed < 2 ** 63:
        raise KetadoseError("--seed must be a whole number from 0 to 2^63 - 1")
    rows = compare_rows(plans, n, seed)
    doc = {"ketadose_version": __version__, "format_version": FORMAT_VERSION,
           "kind": "population-compare", "population": {"n": n, "seed": seed,
                                                        "common_random_numbers": True},
           "regimens": rows}
    if fmt == "json":
        emit(to_json(doc))
        return 0
    if fmt == "yaml":
        emit(to_yaml(doc))
        return 0
    from ketadose.render.table import console, table

    out = console()
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
        "numbers), so differences come from the regimen. Maximum case (every escalation). "
        "Esketamine and racemic concentrations are not comparable one to one."), markup=False)
    marks = sorted({m for r in rows for m in r["unverified"]})
    for mark in marks:
        out.print(f"UNVERIFIED/assumed: {mark}", markup=False, highlight=False)
    return 0
