"""The results of `simulate` (one patient or a population) and `compare`: plain values built by
the core from a plan and a PK model, handed to a renderer or a document module. Pure: numpy and
the PK engine are imported lazily (start-up speed), nothing is read or printed here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from ketadose.errors import KetadoseError
from ketadose.plan import Plan
from ketadose.regimen import Regimen


def regimen_of(plan: Plan) -> Regimen:
    """The plan's regimen (Plan types it loosely)."""
    return cast(Regimen, plan.regimen)


@dataclass(frozen=True)
class Simulation:
    """One patient's course under one PK model. ``explain``: the derivation steps (--explain);
    ``spread``: peak and course AUC under every model for this drug form (the table shows it)."""

    plan: Plan
    sha256: str  # of the regimen file
    result: Any  # ketadose.pk.simulate.Result
    resolution_min: float
    explain: tuple = ()
    spread: tuple = ()

    @property
    def regimen(self) -> Regimen:
        return regimen_of(self.plan)

    @property
    def title(self) -> str:
        return (f"{self.regimen.id}: predicted plasma ketamine ({self.result.model.id}, "
                f"{self.plan.weight.actual_kg:g} kg)")


@dataclass(frozen=True)
class PopulationSimulation:
    """Virtual patients like this one (`simulate --population N`)."""

    plan: Plan
    sha256: str
    result: Any  # ketadose.pk.population.PopResult

    @property
    def regimen(self) -> Regimen:
        return regimen_of(self.plan)

    @property
    def title(self) -> str:
        res = self.result
        return (f"{self.regimen.id}: plasma ketamine in {res.n:,} virtual patients "
                f"({res.model.id}, {res.weight_kg:g} kg, seed {res.seed})")


@dataclass(frozen=True)
class Compared:
    """One regimen in `compare` for one patient (maximum case); ``model`` is None with a
    ``note`` when no model could simulate it."""

    id: str
    drug: str
    route: str
    screen_status: str
    blocked_by_limits: bool
    course_mg_min: float | None
    course_mg_max: float | None
    infusion_hours: float
    model: str | None = None
    peak_ng_per_ml: float | None = None
    auc_ng_h_per_ml: float | None = None
    note: str | None = None
    explain: dict | None = None  # the inputs behind the numbers (compare --explain)
    # the model's status (verified, UNVERIFIED...): shown beside its id, as in --population
    model_status: str | None = None


@dataclass(frozen=True)
class Curve:
    """A regimen's predicted concentration over its course, for the chart of `compare`:
    ``marks`` are the UNVERIFIED, code-only or assumed entries behind it, in words."""

    regimen: str
    drug: str
    model: str
    model_status: str
    t_h: Any  # numpy arrays
    ketamine: Any
    marks: tuple = ()
    lo: Any = None  # 5th and 95th percentiles of virtual patients (compare --population)
    hi: Any = None


@dataclass(frozen=True)
class Comparison:
    """Several regimens simulated for one patient (`compare`)."""

    regimens: tuple[Compared, ...]
    curves: tuple[Curve, ...] = ()


@dataclass(frozen=True)
class PopulationCompared:
    """One regimen on the virtual patients: percentiles of each patient's peak and course AUC
    and, where it shares the first regimen's model, of the patient-by-patient peak ratio.
    ``result`` is None (with a ``note``) when no model could simulate it."""

    plan: Plan
    result: Any = None  # ketadose.pk.population.PopResult
    note: str | None = None
    peak: dict | None = None
    course_auc: dict | None = None
    peak_ratio_to_first: dict | None = None


@dataclass(frozen=True)
class PopulationComparison:
    """`compare --population N`: each regimen on the same virtual patients."""

    n: int
    seed: int
    regimens: tuple[PopulationCompared, ...]
    explain: bool = False  # compare --population --explain: the derivation goes with it

    @property
    def curves(self) -> tuple[Curve, ...]:
        """Each simulated regimen's median with its 5th-95th percentile band."""
        return tuple(Curve(regimen_of(c.plan).id, regimen_of(c.plan).drug, c.result.model.id,
                           c.result.model.status, c.result.t_h, c.result.ketamine[2],
                           tuple(c.result.marks) + template_marks(c.plan),
                           c.result.ketamine[0], c.result.ketamine[-1])
                     for c in self.regimens if c.result is not None)


# ----------------------------------------------------------------------------- one patient

def check_options(model: str | None, f: float | None) -> None:
    from ketadose.pk.models import MODELS

    if model is not None and model not in MODELS:
        from ketadose.pk.popmodels import SYSTEM_MODELS

        if model in SYSTEM_MODELS:
            raise KetadoseError(f"model {model!r} is for --population only (virtual patients)")
        raise KetadoseError(f"no model {model!r}; `ketadose models` lists them")
    if f is not None and not 0 < f <= 1:
        raise KetadoseError("--f must be a fraction between 0 and 1")


def simulate_plan(plan: Plan, model, resolution, f, ka):
    """The PK result of a plan; a model that cannot take it names the regimen."""
    from ketadose.pk.simulate import simulate

    check_options(model, f)
    try:
        return simulate(plan, model, resolution, f, ka)
    except KetadoseError as exc:
        raise KetadoseError(f"{regimen_of(plan).id}: {exc.message}") from None


def simulation(plan: Plan, sha256: str, model, resolution, f, ka, *, explain=False,
               spread=False) -> Simulation:
    res = simulate_plan(plan, model, resolution, f, ka)
    return Simulation(plan, sha256, res, resolution,
                      tuple(explain_steps(res, plan, resolution)) if explain else (),
                      tuple(model_spread(plan, res)) if spread else ())


def explain_steps(res, plan: Plan, resolution) -> list:
    m, p = res.model, res.params
    return [
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


def model_spread(plan: Plan, res) -> list:
    """(model id, status, peak, course AUC) under every model built for this drug form."""
    from ketadose.pk.models import MODELS
    from ketadose.pk.simulate import simulate

    rows = []
    for mid, model in MODELS.items():
        if model.drug != regimen_of(plan).drug:
            continue
        other = res if mid == res.model.id else simulate(plan, mid, 5.0, res.f, res.ka)
        rows.append((mid, model.status, max(d["cmax_ng_per_ml"] for d in other.days),
                     sum(d["auc_ng_h_per_ml"] for d in other.days)))
    return rows


def template_marks(plan: Plan) -> tuple:
    """The template's UNVERIFIED dose and schedule fields, which the predicted curve rests on."""
    r = regimen_of(plan)
    return tuple(f"{r.id} {where} {key}: {why}" for where, key, why in r.unverified()
                 if where == "schedule" or where.startswith("phase "))


def result_marks(plan: Plan, res) -> tuple:
    """Every UNVERIFIED, code-only or assumed entry behind one patient's prediction: the
    model's status unless verified, an assumed absorption, the template's marked doses."""
    from ketadose.pk.models import VERIFIED

    out = []
    if res.model.status != VERIFIED:
        out.append(f"model {res.model.id}: {res.model.status}")
    if res.absorption_source and ("ASSUMPTION" in res.absorption_source
                                  or "UNVERIFIED" in res.absorption_source):
        out.append(f"{regimen_of(plan).id} absorption: {res.absorption_source}")
    return tuple(out) + template_marks(plan)


def comparison(compared_rows) -> Comparison:
    """`compare` for one patient from (plan, Compared, PK result or None) triples: the rows and,
    for every regimen a model could simulate, its curve."""
    return Comparison(tuple(row for _plan, row, _res in compared_rows),
                      tuple(Curve(row.id, row.drug, res.model.id, res.model.status, res.t_h,
                                  res.ketamine, result_marks(plan, res))
                            for plan, row, res in compared_rows if res is not None))


COMPARE_GRID_MIN = 5.0


def compared(plan: Plan, screen_status: str, explain: bool = False) -> Compared:
    """A regimen's totals, hours and (default model, 5-min grid) peak and course AUC; with
    ``explain``, the inputs behind them (weight and its basis, concentration, model)."""
    return compared_with_result(plan, screen_status, explain)[0]


def compared_with_result(plan: Plan, screen_status: str, explain: bool = False) -> tuple:
    """``compared`` and the PK result behind it (None when no model could simulate it)."""
    r = regimen_of(plan)
    hours = sum((p.duration_h or 0) for p in plan.phases if p.phase_kind.infused) * \
        (r.days if r.pattern == "daily" else 1)
    row = Compared(r.id, r.drug, r.route, screen_status, plan.blocked,
                   plan.totals["course_mg_min"], plan.totals["course_mg_max"], hours)
    if explain:
        w = plan.weight
        row = _replace(row, explain={
            "dosing_weight_kg": w.kg, "weight_basis": w.basis if w.kg is not None else None,
            "weight_from": w.origin if w.kg is not None else None,
            "concentration_mg_per_ml": plan.concentration_mg_ml,
            "concentration_from": plan.concentration_origin, "calendar_days": len(plan.days),
            "course_total": "sum of the calendar days (minimum and maximum)",
            "model_status": None, "grid_min": COMPARE_GRID_MIN,
            "peak": "highest concentration over the course, every dose at its maximum",
            "auc": "sum of the daily areas under the curve"})
    try:
        res = simulate_plan(plan, None, COMPARE_GRID_MIN, None, None)
    except KetadoseError as exc:
        return _replace(row, note=exc.message), None
    if row.explain is not None:
        row = _replace(row, explain={**row.explain, "model_status": res.model.status})
    return _replace(row, model=res.model.id, model_status=res.model.status,
                    peak_ng_per_ml=round(max(d["cmax_ng_per_ml"] for d in res.days), 2),
                    auc_ng_h_per_ml=round(sum(d["auc_ng_h_per_ml"] for d in res.days), 1)), res


def _replace(row: Compared, **changes) -> Compared:
    import dataclasses

    return dataclasses.replace(row, **changes)


# ----------------------------------------------------------------------------- population

def check_seed(seed: int) -> None:
    if not 0 <= seed < 2 ** 63:
        raise KetadoseError("--seed must be a whole number from 0 to 2^63 - 1")


def population(plan: Plan, sha256: str, model, n, seed, resolution, f, ka) -> PopulationSimulation:
    from ketadose.pk.models import MODELS
    from ketadose.pk.popmodels import POPULATION_MODELS
    from ketadose.pk.population import simulate_population

    if model is not None and model not in MODELS and model not in POPULATION_MODELS:
        raise KetadoseError(f"no model {model!r}; `ketadose models` lists them")
    if f is not None and not 0 < f <= 1:
        raise KetadoseError("--f must be a fraction between 0 and 1")
    if ka is not None and not (math.isfinite(ka) and ka > 0):
        raise KetadoseError("--ka must be a positive number (1/min)")
    check_seed(seed)
    try:
        res = simulate_population(plan, model, n, seed, resolution, f, ka)
    except KetadoseError as exc:
        raise KetadoseError(f"{regimen_of(plan).id}: {exc.message}") from None
    return PopulationSimulation(plan, sha256, res)


COMPARE_POPULATION_GRID_MIN = 5.0


def population_comparison(plans, n: int, seed: int, model=None,
                          explain: bool = False) -> PopulationComparison:
    """Every regimen on the same virtual patients (same seed and model: common random
    numbers), each regimen's peak relative to the first regimen's, patient by patient, where
    both use the same model; a regimen no model can take keeps its note."""
    import numpy as np

    from ketadose.pk.population import MAX_N, _pct, simulate_population

    if not 1 <= n <= MAX_N:
        raise KetadoseError(f"--population must be between 1 and {MAX_N:,}")
    check_seed(seed)
    out, first = [], None
    for plan in plans:
        try:
            res: Any = simulate_population(plan, model, n, seed, COMPARE_POPULATION_GRID_MIN,
                                           None, None)
        except KetadoseError as exc:
            out.append(PopulationCompared(plan, note=exc.message))
            continue
        peak, ratio = res.patient_peaks, None
        if first is None:
            first = (res.model.id, peak)
        elif first[0] == res.model.id:
            ratio = _pct(peak / np.maximum(first[1], 1e-12))
        out.append(PopulationCompared(plan, res, None, _pct(peak), _pct(res.patient_course_auc),
                                      ratio))
    return PopulationComparison(n, seed, tuple(out), explain)
