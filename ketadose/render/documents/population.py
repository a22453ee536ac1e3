"""`simulate --population N --format json|csv`: percentiles over virtual patients, with the
model's variability, its verification status and every UNVERIFIED or assumed entry ("marks")."""

from __future__ import annotations

from ketadose import __version__
from ketadose.simulation import PopulationSimulation

FORMAT_VERSION = 1


def r4(v, nd=4):
    """``v`` rounded to ``nd`` decimals; a negative zero (a value that rounds to 0 from below)
    becomes 0.0."""
    return round(float(v), nd) + 0.0


def pct_dict(d) -> dict:
    return {k: r4(v) for k, v in d.items()}


def model_block(res) -> dict:
    from ketadose.pk.popmodels import CV_CONVENTION, omega2

    m, pop = res.model, res.pop
    params = {k: r4(v, 6) for k, v in res.typical.items()}
    if res.ka is not None:
        params.update({"ka_per_min": res.ka, "f": res.f})
    variability = [{"parameter": k, "cv_percent": r4(s.value * 100, 2),
                    "omega2": r4(omega2(s.value), 5), "source": s.source, "status": s.status}
                   for k, s in pop.iiv.items()]
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
        out["metabolite"] = _metabolite(pop.metabolite)
    return out


def _metabolite(mm) -> dict:
    def sourced(value) -> dict:
        return {"value": value.value, "source": value.source, "status": value.status}

    return {"name": mm.name, "clearance_l_per_h_70kg": sourced(mm.cl_70_l_h),
            "volume_l_70kg": sourced(mm.v_70_l), "clearance_rise_per_h": sourced(mm.cl_slope_per_h)}


def document(run: PopulationSimulation, series: bool = True) -> dict:
    from ketadose.pk.population import PERCENTILES

    res = run.result
    data = {
        "ketadose_version": __version__, "format_version": FORMAT_VERSION, "kind": "population",
        "regimen": {"id": run.regimen.id, "sha256": run.sha256, "drug": run.regimen.drug},
        "model": model_block(res),
        "population": {"n": res.n, "seed": res.seed, "covariates_held": {"weight_kg": res.weight_kg},
                       "generator": "numpy PCG64 (numpy.random.default_rng(seed))"},
        "route": res.route,
        "unverified": list(_marks(run)),
        "percentiles": list(PERCENTILES),
        "days": [{**{k: v for k, v in d.items() if not isinstance(v, dict)},
                  **{k: pct_dict(v) for k, v in d.items() if isinstance(v, dict)}}
                 for d in res.days],
        "thresholds": [threshold(t) for t in res.thresholds],
        "bands": [threshold(t) for t in res.bands],
        "notes": list(res.notes), "warnings": list(res.warnings),
    }
    if series:
        nk = res.norketamine
        data["series"] = [
            {"t_h": r4(t, 6),
             "ketamine_ng_per_ml": {f"p{p}": r4(res.ketamine[j, i]) for j, p in enumerate(PERCENTILES)},
             "norketamine_ng_per_ml": None if nk is None else
             {f"p{p}": r4(nk[j, i]) for j, p in enumerate(PERCENTILES)}}
            for i, t in enumerate(res.t_h)]
    return data


def _marks(run: PopulationSimulation) -> tuple:
    """The model's UNVERIFIED, code-only or assumed entries and the template's UNVERIFIED dose
    and schedule fields, which every number here rests on."""
    from ketadose.simulation import template_marks

    return tuple(dict.fromkeys(tuple(run.result.marks) + template_marks(run.plan)))


def threshold(t) -> dict:
    out = {"name": t["name"], "ng_per_ml": t["ng_per_ml"], "source": t["source"],
           "p_peak_above": r4(t["p_peak_above"]), "p_never_above": r4(t["p_never_above"]),
           "p_peak_above_ci95": [r4(x) for x in t["p_peak_above_ci95"]]}
    if "hours_above" in t:
        out["hours_above"] = pct_dict(t["hours_above"])
    return out


def csv_table(run: PopulationSimulation) -> tuple[list, list]:
    """(rows, columns): percentiles per time point, each row naming the model and its status."""
    from ketadose.pk.population import PERCENTILES

    res = run.result
    marks = _marks(run)
    status = res.model.status + ("; " + " | ".join(marks) if marks else "")
    cols = ["t_h"] + [f"ketamine_p{p}" for p in PERCENTILES] + \
        [f"norketamine_p{p}" for p in PERCENTILES] + ["model", "status"]
    rows = []
    nk = res.norketamine
    for i, t in enumerate(res.t_h):
        row = {"t_h": r4(t, 6), "model": res.model.id, "status": status}
        for j, p in enumerate(PERCENTILES):
            row[f"ketamine_p{p}"] = r4(res.ketamine[j, i])
            row[f"norketamine_p{p}"] = "" if nk is None else r4(nk[j, i])
        rows.append(row)
    return rows, cols
