"""Virtual patients like this one: draw parameters from a model's published distributions, solve
them all exactly (batch.py) and summarise: percentiles over time, per-day Cmax and AUC, and the
chance of crossing each threshold.

Same covariates for every virtual patient (this patient's weight); parameters log-normal,
theta_i = theta_typical x exp(eta_i), eta ~ N(0, Omega) with Omega from the published CVs and
correlations. The draws come from numpy's PCG64 generator seeded with --seed, in a fixed order
(one standard-normal row per patient, one column per varying parameter in the model's order), so
the same seed gives the same virtual patients for every regimen (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ketadose.errors import KetadoseError
from ketadose.pk.batch import BatchSolver, Patients, SystemBatchSolver
from ketadose.pk.engine import CENTRAL, DEPOT, Inputs
from ketadose.pk.models import BANDS, MODELS, THRESHOLDS
from ketadose.pk.popmodels import (
    CV_CONVENTION,
    POPULATION_MODELS,
    SystemPopulationModel,
    omega2,
    system_matrices,
)
from ketadose.pk.schedule import inputs_for
from ketadose.pk.simulate import absorption

PERCENTILES = (5, 25, 50, 75, 95)
# Flint 2017 forms norketamine only from ketamine in the circulation (IV data); after oral dosing
# most norketamine forms in gut wall and liver before ketamine reaches it (Fanta 2015, PMID
# 25724645: a separate presystemic component; norketamine AUC 16.5x S-ketamine's at steady state).
FIRST_PASS_WARNING = ("Oral dosing: this model forms norketamine only from ketamine in the "
                      "circulation, not during first pass through gut and liver, so it "
                      "UNDER-predicts norketamine after oral doses (Fanta 2015, PMID 25724645: "
                      "norketamine AUC 16.5x S-ketamine's at steady state).")
MAX_N = 100_000
MAX_WORK = 2_000_000_000  # virtual patients x output points: a resource bound (minutes of CPU)
# Chosen from docs/pk-validation.md (bench/pk_validation.py, choose_defaults; checked by
# tests/test_pk_validation.py): the most observations inside the 90% interval.
DEFAULT_POPULATION_MODEL = {"racemic-ketamine": "herd-2007", "esketamine": "flint-2017"}


@dataclass(frozen=True)
class PopResult:
    """A --population run: the simulated patients' summaries and percentiles."""

    model: object
    pop: object
    n: int
    seed: int
    route: str
    f: float | None
    ka: float | None
    absorption_source: str | None
    weight_kg: float
    typical: dict
    t_h: np.ndarray
    ketamine: np.ndarray  # (len(PERCENTILES), T)
    norketamine: np.ndarray | None
    days: tuple
    thresholds: tuple
    bands: tuple
    notes: tuple
    warnings: tuple
    marks: tuple  # every UNVERIFIED / code-only / assumed entry in words
    patient_peaks: np.ndarray  # (N,) each virtual patient's highest ketamine concentration
    patient_course_auc: np.ndarray  # (N,) ketamine AUC over the course and the day after


def draw_etas(pop, n: int, seed: int, scale: float = 1.0) -> dict:
    """Between-patient deviations eta (log scale) per varying parameter, shape (n,) each."""
    names = list(pop.iiv)
    if not names:
        return {}
    sd = np.array([math.sqrt(omega2(pop.iiv[k].value)) for k in names]) * scale
    corr = np.eye(len(names))
    for a, b, r in pop.correlations:
        i, j = names.index(a), names.index(b)
        corr[i, j] = corr[j, i] = r.value
    cov = corr * np.outer(sd, sd)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(names)))
    if scale == 0.0:
        return {k: np.zeros(n) for k in names}
    chol = np.linalg.cholesky(cov)
    eta = z @ chol.T
    return {k: eta[:, i] for i, k in enumerate(names)}


def patients(pop, weight_kg: float, n: int, seed: int, f=None, ka=None, scale: float = 1.0):
    typ = pop.typical(weight_kg)
    eta = draw_etas(pop, n, seed, scale)

    def arr(name):
        if name not in typ:
            return None
        return typ[name] * np.exp(eta[name]) if name in eta else np.full(n, typ[name])

    kw = {k: arr(k) for k in ("cl", "v1", "q2", "v2", "q3", "v3")}
    if ka is not None:
        kw["ka"] = np.full(n, ka)
        # F is already applied to the doses by schedule.inputs_for (the same for every patient)
    m = pop.metabolite
    if m is not None:
        s = weight_kg / 70.0
        cl_m = m.cl_70_l_h.value / 60.0 * s ** 0.75
        kw["cl_m"] = cl_m * np.exp(eta["cl_m"]) if "cl_m" in eta else np.full(n, cl_m)
        kw["v_m"] = np.full(n, m.v_70_l.value * s)
        kw["cl_m_slope_per_min"] = m.cl_slope_per_h.value / 60.0
        kw["fm"] = m.fm.value
    return Patients(**kw), typ


def population_model_for(regimen, model_id):
    mid = model_id or DEFAULT_POPULATION_MODEL[regimen.drug]
    pop = POPULATION_MODELS.get(mid)
    if pop is None:
        have = ", ".join(POPULATION_MODELS)
        raise KetadoseError(f"model {mid!r} has no published between-patient variability; "
                            f"--population needs one of: {have}")
    return (pop.model if isinstance(pop, SystemPopulationModel) else MODELS[mid]), pop


def system_inputs(pop, plan, route):
    """Doses for a system model: IV as given; oral doses enter the gut over the model's
    zero-order time with the model's own gut fraction (its first pass does the rest)."""
    if route not in ("iv", "oral"):
        raise KetadoseError(f"model {pop.model.id} has no {route} route (IV and oral only)")
    raw, notes = inputs_for(plan, 1.0, None)
    if route == "iv":
        return raw, notes, None
    fgut, dur = pop.typical["fgut"].value, pop.typical["dpo_h"].value * 60.0
    infusions = tuple(raw.infusions) + tuple(
        (t, t + dur, mg * fgut / dur, DEPOT) for t, mg, _c in raw.impulses)
    source = (f"the model's own oral absorption: {fgut:g} of the dose escapes the gut wall, "
              f"entering over {dur:g} min, then ka {pop.typical['ka_po'].value:g}/h into the "
              f"liver ({pop.typical['fgut'].source})")
    return Inputs(infusions), [n for n in notes if "evenly spaced" in n or "Titration" in n
                               or "Conditional" in n], source


def percentiles_over_patients(block) -> np.ndarray:
    """Percentiles (rows, numpy's default linear method) over patients (axis 0) of an N x m block.

    A contiguous sort of the transposed block is several times faster than np.percentile's
    partition along axis 0 (and than np.partition at the ten ranks needed), and the result is the
    same."""
    return _sorted_percentiles(_by_time(block))


def _by_time(block) -> np.ndarray:
    """A C-ordered copy of an N x m block, transposed to m x N: per-patient reductions over time
    then run along axis 0 (vectorised over patients), and each row can be sorted in place."""
    return np.array(block.T, order="C")


def _sorted_percentiles(s) -> np.ndarray:
    """PERCENTILES of each row of s (m x N), sorting s in place."""
    s.sort(axis=1)
    n = s.shape[1]
    out = np.empty((len(PERCENTILES), s.shape[0]))
    for i, p in enumerate(PERCENTILES):
        h = (n - 1) * p / 100.0
        lo = int(math.floor(h))
        hi = min(lo + 1, n - 1)
        out[i] = s[:, lo] + (h - lo) * (s[:, hi] - s[:, lo])
    return out


class _Summary:
    """Consumes concentration blocks: percentiles over time, per-day maxima, time above."""

    def __init__(self, n: int, day_edges_min: list[float], levels, met: bool):
        self.day_edges = day_edges_min
        self.pk: list[np.ndarray] = []
        self.pm: list[np.ndarray] = []
        self.t: list[np.ndarray] = []
        self.day_max = np.zeros((n, len(day_edges_min) - 1))
        self.day_max_m = np.zeros_like(self.day_max) if met else None
        self.levels = list(levels)
        self.above_min = np.zeros((len(levels), n))  # level x patient: each row contiguous
        self.prev_t = 0.0
        self.prev_c: np.ndarray | None = None  # each patient's last concentration so far

    def __call__(self, t, ck, cm):
        self.t.append(t)
        kt = _by_time(ck)
        self._day_maxima(t, kt, self.day_max)
        self._time_above(t, ck, kt)
        self.pk.append(_sorted_percentiles(kt))  # sorts kt: last
        if cm is not None:
            mt = _by_time(cm)
            self._day_maxima(t, mt, self.day_max_m)
            self.pm.append(_sorted_percentiles(mt))

    def _day_maxima(self, t, ct, day_max):
        """Each day's highest concentration per patient (ct: m x N); a point on a day boundary
        counts for both days. t is sorted, so each day is one slice of the block."""
        for d in range(len(self.day_edges) - 1):
            if t[-1] < self.day_edges[d] or t[0] > self.day_edges[d + 1]:
                continue
            lo = np.searchsorted(t, self.day_edges[d], side="left")
            hi = np.searchsorted(t, self.day_edges[d + 1], side="right")
            if hi > lo:
                np.maximum(day_max[:, d], ct[lo:hi].max(axis=0), out=day_max[:, d])

    def _time_above(self, t, ck, kt):
        """Minutes above each level, linear between output points (as for one patient).

        Within a block most patients are wholly above or wholly below a level; only the rows
        that straddle it are looked at point by point."""
        row_max, row_min = kt.max(axis=0), kt.min(axis=0)
        prev_c = self.prev_c
        tt = t
        if prev_c is not None:
            tt = np.concatenate((np.array([self.prev_t]), t))
            row_max, row_min = np.maximum(row_max, prev_c), np.minimum(row_min, prev_c)
        self.prev_t, self.prev_c = float(t[-1]), kt[-1].copy()
        if len(tt) < 2:
            return
        dt = np.diff(tt)
        span = dt.sum()
        for i, level in enumerate(self.levels):
            above = self.above_min[i]
            above[row_min > level] += span
            rows = np.nonzero((row_min <= level) & (row_max > level))[0]
            if rows.size:
                cc = ck[rows] if prev_c is None else np.concatenate((prev_c[rows, None], ck[rows]), axis=1)
                above[rows] += _above_in_rows(cc, level, dt)


def _above_in_rows(cc, level, dt):
    """Minutes above level for each row of cc (linear between points dt apart)."""
    a = cc > level
    a0, a1 = a[:, :-1], a[:, 1:]
    out = (a0 & a1) @ dt
    # crossings are rare: interpolate only there
    rows, cols = np.nonzero(a0 != a1)
    if rows.size:
        c0, c1 = cc[rows, cols], cc[rows, cols + 1]
        frac = (level - c0) / (c1 - c0)
        part = np.where(c0 > level, frac, 1.0 - frac) * dt[cols]
        np.add.at(out, rows, part)
    return out


def _pct(values) -> dict:
    q = np.percentile(values, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, q)}


def wilson(k: int, n: int, z: float = 1.959964) -> tuple:
    """95% interval of a proportion (Wilson): the sampling error of a probability from N draws."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def simulate_population(plan, model_id=None, n=1000, seed=1, resolution_min=1.0, f=None, ka=None,
                        scale=1.0) -> PopResult:
    regimen = plan.regimen
    if not 1 <= n <= MAX_N:
        raise KetadoseError(f"--population must be between 1 and {MAX_N:,}")
    model, pop = population_model_for(regimen, model_id)
    warnings = []
    if model.drug != regimen.drug:
        warnings.append(f"Model {model.id} was built for {model.drug}, but this regimen gives "
                        f"{regimen.drug}: the prediction is an extrapolation.")
    weight = plan.weight.actual_kg
    if weight is None:
        raise KetadoseError("simulation needs the patient's weight (--weight)")
    system = isinstance(pop, SystemPopulationModel)
    inputs, notes, source, f, ka = _course(plan, model, pop, system, f, ka)
    times, day_edges = _time_grid(regimen.days, inputs, resolution_min, n)
    met = pop.metabolite is not None
    summary = _Summary(n, day_edges, [lv for _name, lv, _src in THRESHOLDS[regimen.drug]], met)
    solver, typ = _solver(plan, pop, system, weight, n, seed, f, ka, scale, notes, warnings)
    auc_k, auc_m = solver.run(inputs, times, summary, auc_times=day_edges)
    peak = summary.day_max.max(axis=1)
    thresholds = tuple(_crossing(name, level, src, peak, summary.above_min[i])
                       for i, (name, level, src) in enumerate(THRESHOLDS[regimen.drug]))
    bands = tuple(_crossing(label, level, "display band: a synthesis, not a source "
                            "(docs/evidence.md PK2)", peak, None) for level, label in BANDS)
    notes, warnings = _population_notes(regimen.route, pop, weight, system, source, notes, warnings)
    marks = tuple(pop.marks()) + tuple(x for x in pop.notes if "UNVERIFIED" in x or "ASSUMPTION" in x)
    if model.status != "verified (abstract)":
        marks = (f"model {model.id}: {model.status}",) + marks
    return PopResult(model, pop, n, seed, regimen.route, f, ka, source, weight, typ,
                     np.concatenate(summary.t) / 60.0, np.concatenate(summary.pk, axis=1),
                     np.concatenate(summary.pm, axis=1) if met else None,
                     _days(regimen.days, summary, auc_k, auc_m), thresholds, bands, tuple(notes),
                     tuple(warnings), marks, peak, auc_k[:, -1] - auc_k[:, 0])


def _course(plan, model, pop, system: bool, f, ka) -> tuple:
    """(inputs, notes, absorption source, f, ka) of the course for this model."""
    regimen = plan.regimen
    if system:
        if f is not None or ka is not None:
            raise KetadoseError(f"model {model.id} has its own absorption; leave out --f and --ka")
        inputs, notes, source = system_inputs(pop, plan, regimen.route)
        return inputs, list(notes), source, f, ka
    f, ka, source = absorption(regimen, f, ka)
    inputs, notes = inputs_for(plan, f if f is not None else 1.0, ka)
    return inputs, list(notes), source, f, ka


def _time_grid(days: int, inputs, resolution_min: float, n: int) -> tuple:
    """Output times (minutes: the grid plus every input change and day boundary) and the day
    boundaries, over the course and the day after it."""
    horizon_min = (days * 24.0 + 24.0) * 60.0
    grid = np.arange(0.0, horizon_min + resolution_min / 2, resolution_min)
    day_edges = [1440.0 * d for d in range(days + 2)]
    edges = {t for a, b, _r, _c in inputs.infusions for t in (a, b)} | \
        {t for t, _m, _c in inputs.impulses} | set(day_edges)
    times = np.union1d(grid, np.array(sorted(e for e in edges if e <= horizon_min)))
    if n * len(times) > MAX_WORK:
        raise KetadoseError(f"{n:,} virtual patients x {len(times):,} time points is too much work; "
                            "use a smaller --population or a coarser --resolution")
    return times, day_edges


def _solver(plan, pop, system: bool, weight: float, n: int, seed: int, f, ka, scale: float,
            notes: list, warnings: list) -> tuple[SystemBatchSolver | BatchSolver, dict]:
    """The batch solver for n virtual patients drawn with seed, and the typical values."""
    if not system:
        pts, typ = patients(pop, weight, n, seed, f, ka, scale)
        return BatchSolver(pts), typ
    typ = {k: v.value for k, v in pop.typical.items()}
    eta = draw_etas(pop, n, seed, scale)
    k, vc, vcn = system_matrices(pop, eta, n, plan.patient_age, plan.regimen.route == "oral")
    warnings += list(pop.warnings)
    if plan.patient_age is None:
        notes.append("Age not given: hepatic blood flow as for 60 years or younger.")
    return SystemBatchSolver(k, [(0, vc), (4, vcn)], {CENTRAL: 0, DEPOT: 6}), typ


def _days(days: int, summary: _Summary, auc_k, auc_m) -> tuple:
    """Per day (the course and the day after): percentiles of Cmax and AUC."""
    rows = []
    for d in range(days + 1):
        row = {"day": d + 1, "after_course": d + 1 > days,
               "cmax_ng_per_ml": _pct(summary.day_max[:, d]),
               "auc_ng_h_per_ml": _pct(auc_k[:, d + 1] - auc_k[:, d])}
        if summary.day_max_m is not None and auc_m is not None:
            row["norketamine_cmax_ng_per_ml"] = _pct(summary.day_max_m[:, d])
            row["norketamine_auc_ng_h_per_ml"] = _pct(auc_m[:, d + 1] - auc_m[:, d])
        rows.append(row)
    return tuple(rows)


def _population_notes(route: str, pop, weight: float, system: bool, source, notes: list,
                      warnings: list) -> tuple[list, list]:
    """The notes and warnings every population result carries, after the course's own."""
    met = pop.metabolite is not None
    notes = notes + list(pop.notes) + [
        f"Every virtual patient has this patient's weight ({weight:g} kg); parameters vary as "
        f"published ({CV_CONVENTION}).",
        "Percentiles are of the predicted plasma concentration between patients (between-patient "
        "variability only; residual/assay error is not added).",
        "Threshold probabilities are fractions of virtual patients; their 95% interval is the "
        "sampling error of N draws (Wilson), not the model's uncertainty."]
    if route in ("oral", "sc") and not system:
        notes.append("Bioavailability and absorption rate are the same for every virtual patient "
                     "(no published between-patient variability used for them).")
    if met and route == "oral" and not system:
        warnings.append(FIRST_PASS_WARNING)
    if not met:
        notes.append("Norketamine is not modelled for this model" +
                     ("; after oral dosing norketamine dominates, so parent-only predictions "
                      "understate activity." if route == "oral" else "."))
    if route == "sc" and "ASSUMPTION" in (source or ""):
        warnings.append("Subcutaneous F and ka have no human data: the values used are assumptions.")
    return notes, warnings


def _crossing(name, level, source, peak, above_min) -> dict:
    n = len(peak)
    k = int((peak > level).sum())
    lo, hi = wilson(k, n)
    out = {"name": name, "ng_per_ml": level, "source": source,
           "p_peak_above": k / n, "p_never_above": 1 - k / n, "p_peak_above_ci95": [lo, hi]}
    if above_min is not None:
        out["hours_above"] = _pct(above_min / 60.0)
    return out
