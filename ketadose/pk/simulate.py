"""Simulate a plan with a model: series, per-day summaries and time above thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ketadose.errors import KetadoseError
from ketadose.pk.engine import CENTRAL, ELIMINATED, METABOLITE, Solver, with_points
from ketadose.pk.models import DEFAULT_MODEL, MODELS, ROUTE_DEFAULTS, THRESHOLDS
from ketadose.pk.popmodels import POPULATION_MODELS
from ketadose.pk.schedule import inputs_for

MAX_POINTS = 1_000_000  # a resource bound on the output series (about 50 MB in memory)


@dataclass(frozen=True)
class Result:
    """One patient's simulated course: the series, per-day summaries, thresholds, notes."""

    model: object
    params: object
    route: str
    f: float | None
    ka: float | None
    absorption_source: str | None
    t_h: object  # numpy arrays
    ketamine: object
    norketamine: object  # or None
    days: tuple  # dicts
    thresholds: tuple  # dicts
    notes: tuple
    warnings: tuple


def choose_model(regimen, model_id: str | None):
    model = MODELS[model_id or DEFAULT_MODEL[regimen.drug]]
    warnings = []
    if model.drug != regimen.drug:
        warnings.append(f"Model {model.id} was built for {model.drug}, but this regimen gives "
                        f"{regimen.drug}: the prediction is an extrapolation.")
    return model, warnings


def absorption(regimen, f, ka) -> tuple:
    """Oral/SC bioavailability and absorption rate: the command line's values, else the route's
    sourced defaults; IV has none. One place, so one-patient and population runs never differ."""
    if regimen.route not in ("oral", "sc"):
        given = [name for name, v in (("--f (bioavailability)", f), ("--ka (absorption)", ka))
                 if v is not None]
        if given:  # never silently ignored (issue 16): the prescriber expects it to count
            raise KetadoseError(f"{' and '.join(given)} does not apply to an "
                                f"{regimen.route.upper()} regimen: only SC and oral doses are "
                                "absorbed; leave it out")
        return None, None, None
    f0, ka0, source = ROUTE_DEFAULTS[(regimen.route, regimen.drug)]
    if f is not None or ka is not None:
        source = "set on the command line (--f/--ka)" + (f"; defaults were: {source}")
    return (f0 if f is None else f), (ka0 if ka is None else ka), source


def simulate(plan, model_id=None, resolution_min=1.0, f=None, ka=None) -> Result:
    regimen = plan.regimen
    model, warnings = choose_model(regimen, model_id)
    weight = plan.weight.actual_kg
    if weight is None:
        raise KetadoseError("simulation needs the patient's weight (--weight)")
    params = model.params(weight)
    f, ka, source = absorption(regimen, f, ka)
    inputs, notes = inputs_for(plan, f if f is not None else 1.0, ka)
    horizon_min = (regimen.days * 24.0 + 24.0) * 60.0  # the course and one day after
    if horizon_min / resolution_min > MAX_POINTS:
        raise KetadoseError(f"{regimen.days} days at {resolution_min:g}-min resolution is more than "
                            f"{MAX_POINTS:,} points; use a coarser --resolution")
    grid = np.arange(0.0, horizon_min + resolution_min / 2, resolution_min)
    edges = {t for a, b, _r, _c in inputs.infusions for t in (a, b)} | \
        {t for t, _m, _c in inputs.impulses}
    times = with_points(grid, [e for e in edges if e <= horizon_min])
    amounts = Solver(params, ka).run(inputs, times)
    conc = amounts[:, CENTRAL] / params.v1_l * 1000.0  # mg/L -> ng/mL
    norket = None
    norket_auc = None
    pop = POPULATION_MODELS.get(model.id)
    if params.fm is not None:
        norket = amounts[:, METABOLITE] / params.vm_l * 1000.0
    elif pop is not None and pop.metabolite is not None:
        norket, norket_auc = _typical_metabolite(pop, weight, f, ka, inputs, times, regimen.days)
        if regimen.route == "oral":
            from ketadose.pk.population import FIRST_PASS_WARNING

            warnings.append(FIRST_PASS_WARNING)
        notes.append(f"{pop.metabolite.name}: {pop.metabolite.cl_70_l_h.source}; apparent units "
                     "(CL/fm, V/fm).")
    else:
        notes.append("Norketamine is not modelled for this model" +
                     ("; after oral dosing norketamine dominates, so parent-only predictions "
                      "understate activity." if regimen.route == "oral" else "."))
    t_h = times / 60.0
    auc_factor = 1000.0 / 60.0 / (params.k10 * params.v1_l)  # eliminated mg -> ng.h/mL
    days = []
    n_days = regimen.days + 1
    for d in range(n_days):
        a, b = 24.0 * d, 24.0 * (d + 1)
        sel = (t_h >= a) & (t_h <= b)
        c = conc[sel]
        i = int(np.argmax(c))
        at_b = np.searchsorted(t_h, b)
        days.append({"day": d + 1, "after_course": d + 1 > regimen.days,
                     "cmax_ng_per_ml": float(c[i]), "tmax_h": float(t_h[sel][i]),
                     "trough_ng_per_ml": float(conc[min(at_b, len(conc) - 1)]),
                     "auc_ng_h_per_ml": float((_at(amounts[:, ELIMINATED], t_h, b) -
                                               _at(amounts[:, ELIMINATED], t_h, a)) * auc_factor)})
        if norket is not None and norket_auc is not None:
            days[-1]["norketamine_cmax_ng_per_ml"] = float(norket[sel].max())
            days[-1]["norketamine_auc_ng_h_per_ml"] = float(norket_auc[d + 1] - norket_auc[d])
    thresholds = []
    for name, level, src in THRESHOLDS[regimen.drug]:
        thresholds.append({"name": name, "ng_per_ml": level,
                           "hours_above": _hours_above(t_h, conc, level), "source": src})
    if regimen.route == "sc" and "ASSUMPTION" in (source or ""):
        warnings.append("Subcutaneous F and ka have no human data: the values used are assumptions.")
    return Result(model, params, regimen.route, f, ka, source, t_h, conc, norket, tuple(days),
                  tuple(thresholds), tuple(notes), tuple(warnings))


def _typical_metabolite(pop, weight, f, ka, inputs, times, days):
    """The metabolite for the typical patient (one virtual patient, no variability)."""
    from ketadose.pk.batch import BatchSolver
    from ketadose.pk.population import patients

    pts, _typ = patients(pop, weight, 1, 0, f, ka, scale=0.0)
    blocks = []
    day_edges = [1440.0 * d for d in range(days + 2)]
    _k, auc_m = BatchSolver(pts).run(inputs, times, lambda t, ck, cm: blocks.append(cm[0]),
                                     auc_times=day_edges)
    return np.concatenate(blocks), auc_m[0]


def _at(values, t_h, t):
    i = min(np.searchsorted(t_h, t), len(t_h) - 1)
    return float(values[i])


def _hours_above(t_h, c, level) -> float:
    """Time above a level, linear between points (exact at the resolution used)."""
    above0 = c[:-1] > level
    above1 = c[1:] > level
    dt = np.diff(t_h)
    both = above0 & above1
    total = float(dt[both].sum())
    cross = above0 != above1
    if cross.any():
        c0, c1, d = c[:-1][cross], c[1:][cross], dt[cross]
        frac = (level - c0) / (c1 - c0)
        part = np.where(above0[cross], frac * d, (1 - frac) * d)
        total += float(part.sum())
    return total
