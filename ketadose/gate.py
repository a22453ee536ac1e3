"""The safety gate: the plan as it will be delivered, against every limit basis.

    load -> validate -> screen -> plan -> **gate** -> render

The gate sees only what a nurse will program and hang: the dosing and actual weights, every
rate after caps and pump rounding, every bolus with its push time, the oral doses at the top of
their titration, the daily and session totals, the concentration and the bag. It cannot be
bypassed by how a regimen is written: a rate in mg/h is checked per kg of the patient's actual
weight as well, a daily dose per 24 h as well as per hour.

- Invariants (KD-GATE-001): every number is finite and positive, no pump delivers more than
  the rate asked, every bag holds what the session needs. A violation is our bug: the plan is
  refused as an internal error (exit 3), never printed.
- Limits: each delivered number against every limit of its measure, in every basis that has a
  limit. Hard limits refuse the plan; a soft limit needs the regimen's ``confirm:`` entry or
  ``--override "reason"`` (then it is shown with the reason), otherwise the plan is refused.
- Pump rounding (KD-GATE-002, KD-GATE-003): the error of every rounded rate; over 5% a finding
  suggests a concentration that brings it under 1%; a rate below the pump's step is refused.
- Plausibility (KD-GATE-004): body measures that look like a typing error need confirmation:
  an adult under 30 kg, a BMI under 12 or over 80, a child's weight outside the CDC's limits of
  a biologically implausible weight for the age (ketadose/growth.py).

Pure: no I/O. make_plan() runs the gate as its last step, so no caller gets an ungated plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ketadose import limits as lim
from ketadose.dosing import PUMP_STEP_ML_H
from ketadose.findings import Finding
from ketadose.rules import Rule
from ketadose.units import Quantity, parse_unit

_U = {u: parse_unit(u) for u in ("mg/h", "mg/kg/h", "mg", "mg/kg", "mg/kg/min", "min", "mg/day",
                                  "mg/kg/day", "mg/mL", "mL/h")}
PUMP_ERROR_FINDING_PCT = 5.0  # issue #13: an error above 5% is a finding
PUMP_ERROR_TARGET_PCT = 1.0  # ... that suggests a concentration bringing it under 1%
_GATE = "ketadose safety gate (docs/safety-gate.md)"
# Plausibility guards: typing-error checks, not clinical limits (no source sets them).
ADULT_AGE = 18
ADULT_MIN_KG = 30.0
BMI_MIN, BMI_MAX = 12.0, 80.0
# Measures that do not depend on the patient: checked as the regimen states them.
REGIMEN_ONLY = ("continuous_days", "course_days", "strength")

RULES = (
    Rule("KD-GATE-001", "plan-invariant", "error",
         "A delivered number is not finite and positive, or a bag does not hold the session.",
         "Every weight, rate, volume, dose and duration of the delivered plan is finite and "
         "above zero; no pump rate delivers more than the rate asked; every bag or syringe holds "
         "the dose it is prepared for. A violation is a bug in ketadose: the plan is refused as "
         "an internal error (exit 3) and never printed.\n\nFAIL: a dosing weight of -1.95 kg\n"
         "PASS: 45 kg", _GATE),
    Rule("KD-GATE-002", "pump-rounding-error", "warning",
         "Pump rounding changes the rate by more than 5%.",
         "Rates are programmed to the pump's 0.1 mL/h and never rounded above the rate asked. "
         "Where that changes the delivered mg/h by more than 5%, the finding names a "
         "concentration at which the error is under 1%.\n\n"
         "FAIL (warning): 17.5 mg/h at 50 mg/mL = 0.35 mL/h, programmed 0.3 mL/h (-14%)\n"
         "PASS: 17.5 mg/h at 1 mg/mL = 17.5 mL/h", _GATE),
    Rule("KD-GATE-003", "below-pump-resolution", "error",
         "A rate is below the pump's 0.1 mL/h at this concentration.",
         "The rate asked is less than one pump step at the chosen concentration: the pump would "
         "deliver nothing. Refused; the finding names a concentration that works.\n\n"
         "FAIL: 4 mg/h at 50 mg/mL (0.08 mL/h)\nPASS: 4 mg/h at 1 mg/mL", _GATE),
    Rule("KD-GATE-004", "implausible-body-measures", "error",
         "Body measures that look like a typing error need confirming with --override.",
         "An adult under 30 kg, a BMI under 12 or over 80, or a child's weight that the CDC "
         "would flag as biologically implausible for the age (modified z-score below -5 or "
         "above +8 on the CDC 2000 weight-for-age charts, 2-19 years; under 2 years only the "
         "upper bound of a 2-year-old) is more often a typing error (lb for kg, a swapped "
         "height, a wrong age) than a patient. The plan is refused until the clinician "
         "confirms the measures with --override \"reason\". These are typing-error guards, "
         "not clinical limits: the adult and BMI bounds are ketadose settings; the CDC charts "
         "are sourced (docs/evidence.md E1).\n\n"
         "FAIL: age 45, 25 kg; age 10, 150 kg\n"
         "PASS: age 45, 25 kg with --override \"cachexia, weighed today\"; age 10, 35 kg",
         "ketadose plausibility guard (not a clinical limit); weight for age: CDC 2000 growth "
         "charts (Kuczmarski 2002, PMID 12043359)"),
)


class GateError(Exception):
    """An invariant of the delivered plan does not hold: a bug, reported with exit 3."""

    def __init__(self, message: str):
        super().__init__(f"KD-GATE-001 internal error, no plan: {message}")


@dataclass(frozen=True)
class Measured:
    """One delivered number in one basis."""

    measure: str
    qty: Quantity
    what: str


def run(plan, library, override: str | None = None, explain: bool = True, dosing=None):
    """Check the delivered plan; return it with the gate's findings and, when ``explain``, the
    limits consulted (--explain shows them; a batch line does not, and skips recording them).

    ``dosing`` is ``dosing_verdict`` of this plan when the caller has it (a batch remembers it
    per dosing weight: plan.DosingMemo); the checks and their order are the same.
    Raises GateError when an invariant does not hold.
    """
    verdict = dosing if dosing is not None else dosing_verdict(plan, library, override, explain)
    findings, consulted = patient_verdict(plan.weight, verdict, plan.patient_age,
                                          plan.patient_sex, override)
    return _replaced(plan, findings=tuple(plan.findings) + findings,
                     consulted=tuple(plan.consulted) + consulted)


def patient_verdict(weight, verdict, age, sex, override: str | None) -> tuple:
    """(the findings the gate adds to a plan, the limits consulted) for a patient's weight and
    the dosing's verdict (``dosing_verdict``): the weight's invariants first (raised), then the
    verdict's failed invariant (raised), its limit and pump findings, and the plausibility
    guard's finding. ``run`` for a Plan; a batch line (commands/plan_lines.py) calls it without
    making the Plan objects."""
    measures = patient_checks(weight, verdict, age, sex, override)
    findings = verdict[1]
    # KD-GATE-004 comes from plausibility alone: unique over all = unique over each part
    return (findings + tuple(measures) if measures else findings), verdict[2]


def patient_checks(weight, verdict, age, sex, override: str | None) -> list:
    """What ``patient_verdict`` checks for the patient, in its order: the weight's invariants
    (raised), the verdict's failed invariant (raised); returns the plausibility guard's
    finding (KD-GATE-004) or none. The gate adds the verdict's findings, then these."""
    weight_invariants(weight)
    if verdict[0] is not None:
        raise verdict[0]
    return body_measures(weight, age, sex, override)


def _replaced(plan, **changes):
    """dataclasses.replace for a Plan (a frozen dataclass without __post_init__ or slots): the
    same fields with ``changes``, without a call of __init__ (a tenth of the time; a batch
    plans for every patient)."""
    new = object.__new__(plan.__class__)
    new.__dict__.update(plan.__dict__)
    new.__dict__.update(changes)
    return new


# What the checks of the dosing read of the plan's weight (the rest of the plan they read is
# the dosing's own: phases, calendar, totals, bag, concentration): plan.DosingMemo keys a
# remembered verdict by exactly these, and runs the checks on a weight that has no other field.
DOSING_WEIGHT_READS = ("kg", "actual_kg", "basis")


def dosing_verdict(plan, library, override: str | None, explain: bool) -> tuple:
    """(the GateError of the first dosing invariant that fails, or None; the limit and pump
    findings of the delivered doses, each once; the limits consulted when ``explain``): what
    the gate decides from the dosing, the regimen, the library and --override, without the
    patient's other measures. The limits are not checked when an invariant fails."""
    try:
        dosing_invariants(plan)
    except GateError as exc:
        return exc, (), ()
    r = plan.regimen
    ctx = lim.LimitContext(r.drug, r.route, r.setting, r.confirm)
    findings: list = []
    consulted: list | None = [] if explain else None
    for m in delivered(plan):
        for f in lim.check(library, ctx, m.measure, m.qty, m.what, consulted=consulted):
            findings.append(_soft_needs_confirm(f, override))
    findings += pump_findings(plan, library)
    return None, tuple(_unique(findings)), tuple(consulted or ())


def _unique(findings):
    seen = set()
    for f in findings:
        key = (f.rule, f.severity, f.message)
        if key not in seen:
            seen.add(key)
            yield f


def _soft_needs_confirm(f: Finding, override: str | None) -> Finding:
    """An unconfirmed soft limit on the delivered plan: --override confirms it, else refused."""
    if f.severity != "warning":
        return f
    if override:
        return replace(f, severity="info", message=f.message.split("; confirm it")[0]
                       + f"; confirmed with --override: {override}")
    return replace(f, severity="error", message=f.message + " or with --override \"reason\"; "
                   "no plan until it is confirmed")


# ------------------------------------------------------------------------- the delivered numbers

def _weights(plan):
    """(kg, label) of every weight a per-kg limit is checked on: actual, and dosing if it
    differs (a per-kg limit must hold whatever weight the regimen doses on)."""
    w = plan.weight
    out = []
    if w.actual_kg:
        out.append((w.actual_kg, f"per kg of actual weight ({w.actual_kg:.4g} kg)"))
    if w.kg and w.actual_kg and abs(w.kg - w.actual_kg) > 1e-9:
        out.append((w.kg, f"per kg of {w.basis} dosing weight ({w.kg:.4g} kg)"))
    return out


def delivered(plan) -> list:
    """Every delivered number the limit library governs, in every basis that has a limit."""
    r = plan.regimen
    out = []
    weights = _weights(plan)

    def add(measure, value, unit, what):
        out.append(Measured(measure, Quantity(value, _U[unit]), what))

    for p in plan.phases:  # what each kind delivers, its class says (dosing.PhaseKind.delivered)
        for measure, value, unit, what in p.phase_kind.delivered(p, weights):
            add(measure, value, unit, what)
    # Numbers the regimen fixes for every patient (course length, topical strength): as written
    out += _regimen_only(r)
    t = plan.totals
    if r.route == "iv":
        if r.pattern == "daily" and t["max_session_mg"] is not None:
            add("session_dose", t["max_session_mg"], "mg", "session dose")
        if t["max_daily_mg"] is not None:
            add("daily_dose", t["max_daily_mg"], "mg", "highest daily dose")
    if r.route == "sc" and t["max_daily_mg"] is not None:
        # the SC limits are per 24 h: a calendar day's total as well as each rate
        add("rate", t["max_daily_mg"], "mg/day", "highest daily dose")
    if plan.concentration_mg_ml is not None:
        add("concentration", plan.concentration_mg_ml, "mg/mL", "concentration")
    return out


_regimen_only_cache: dict = {}


def _regimen_only(r) -> list:
    """The measures of REGIMEN_ONLY the regimen fixes, once per regimen object (a batch plans
    for one regimen; the value is the same for every patient)."""
    got = _regimen_only_cache.get(id(r))
    if got is None or got[0] is not r:
        from ketadose.validate import regimen_measures

        if len(_regimen_only_cache) >= 8:
            _regimen_only_cache.clear()
        got = _regimen_only_cache[id(r)] = (r, [
            Measured(measure, qty, what) for measure, qty, what, _path in regimen_measures(r)
            if measure in REGIMEN_ONLY])
    return got[1]


# ------------------------------------------------------------------------------- pump rounding

# Concentrations tried for a suggestion, most concentrated first: 1 and 2 mg/mL are the usual
# infusion strengths (Trissel, docs/evidence.md C3); the others are the same decades' round numbers.
_SUGGESTED = (50.0, 20.0, 10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1)


def suggest_concentration(rates_mg_h, library=None, drug=None, route=None) -> float | None:
    """The most concentrated round concentration at which every rate rounds with an error
    under 1% (the pump rounds down, so each needs at least 10 mL/h... or an exact step)."""
    for c in _SUGGESTED:
        if all(_floor_error_pct(mg_h, c) < PUMP_ERROR_TARGET_PCT for mg_h in rates_mg_h):
            return c
    return None


def _floor_error_pct(mg_h, conc):
    steps = math.floor(mg_h / conc / PUMP_STEP_ML_H + 1e-9)
    return 100.0 * (mg_h - steps * PUMP_STEP_ML_H * conc) / mg_h


def pump_findings(plan, library) -> list:
    out = []
    for p in plan.phases:
        pumps = p.phase_kind.pumps(p)
        if not pumps:
            continue
        asked = [x.mg_h for x in pumps]
        conc = pumps[0].conc_mg_ml or plan.concentration_mg_ml
        zero = [x for x in pumps if x.ml_h <= 0]
        worst = max(pumps, key=lambda x: abs(x.error_pct))
        better = suggest_concentration(asked)
        hint = (f"; at {better:g} mg/mL the error is under {PUMP_ERROR_TARGET_PCT:g}%"
                if better is not None else "; no usual concentration brings it under 1%")
        if zero:
            out.append(Finding("KD-GATE-003", "error", f"{p.name}: {zero[0].mg_h:.4g} mg/h at "
                               f"{conc:g} mg/mL is {zero[0].ml_h_exact:.3g} mL/h, below the pump's "
                               f"0.1 mL/h step: the pump would deliver nothing{hint}", _GATE,
                               title="Below pump resolution"))
        elif abs(worst.error_pct) > PUMP_ERROR_FINDING_PCT:
            out.append(Finding("KD-GATE-002", "warning", f"{p.name}: {worst.mg_h:.4g} mg/h is "
                               f"programmed as {worst.ml_h:g} mL/h at {conc:g} mg/mL, delivering "
                               f"{worst.mg_h_delivered:.4g} mg/h ({worst.error_pct:+.1f}%){hint}",
                               _GATE, title="Pump rounding error"))
    return out


# -------------------------------------------------------------------------------- plausibility

def plausibility(plan, override: str | None) -> list:
    return body_measures(plan.weight, getattr(plan, "patient_age", None),
                         getattr(plan, "patient_sex", None), override)


def body_measures(w, age: int | None, sex: str | None, override: str | None) -> list:
    """KD-GATE-004: the plausibility guard's finding on the weight ``w`` (dosing.DosingWeight)
    of a patient of ``age`` and ``sex``, or none."""
    problems = []
    sources = [_PLAUSIBILITY_SOURCE]
    if w.actual_kg is not None and age is not None and age >= ADULT_AGE \
            and w.actual_kg < ADULT_MIN_KG:
        problems.append(f"an adult ({age} y) weighing {w.actual_kg:g} kg (under {ADULT_MIN_KG:g} kg)")
    wfa = weight_for_age(w.actual_kg, age, sex)
    if wfa is not None:
        problems.append(wfa)
        sources.append("weight for age: " + _growth().SOURCE)
    if w.bmi is not None and not BMI_MIN <= w.bmi <= BMI_MAX:
        problems.append(f"BMI {w.bmi:.1f} ({w.actual_kg:g} kg, {w.height_cm:g} cm; outside "
                        f"{BMI_MIN:g}-{BMI_MAX:g})")
    if not problems:
        return []
    text = "implausible body measures: " + "; ".join(problems)
    src = "; ".join(sources)
    if override:
        return [Finding("KD-GATE-004", "info", f"{text}; confirmed with --override: {override}",
                        src, title="Body measures")]
    return [Finding("KD-GATE-004", "error", f"{text}: check weight, height and age (kg, cm, "
                    "years); if they are right, confirm with --override \"reason\"", src,
                    title="Body measures")]


_PLAUSIBILITY_SOURCE = "ketadose plausibility guard (a typing-error check, not a clinical limit)"


_growth_module = None


def _growth():
    global _growth_module
    if _growth_module is None:
        from ketadose import growth  # the CDC table is parsed only when a child is planned for

        _growth_module = growth
    return _growth_module


def weight_for_age(kg: float | None, age: int | None, sex: str | None) -> str | None:
    """The problem text when a child's weight is outside the CDC's biologically implausible
    limits for the age (ketadose/growth.py), else None."""
    if kg is None or age is None or age > _growth().LAST_AGE:
        return None
    low, high = _growth().implausible_outside(age, sex)
    if (low is None or kg >= low) and kg <= high:
        return None
    # shown rounded inwards, so a flagged weight is always outside the range as printed
    shown_low = math.ceil(low * 10) / 10 if low is not None else None
    shown_high = math.floor(high * 10) / 10
    who = f"{sex}, " if sex else "either sex, "
    if shown_low is None:  # under 2 years: the upper bound of the 2-year range only
        limits = (f"above {shown_high:.1f} kg, more than the CDC 2000 weight-for-age charts "
                  "allow a 2-year-old before calling it biologically implausible")
    else:
        limits = (f"outside {shown_low:.1f}-{shown_high:.1f} kg: a biologically implausible "
                  "weight for the age by the CDC 2000 weight-for-age charts")
    return (f"weight {kg:g} kg at age {age} y ({who}{limits}; a typing-error guard, not a "
            "clinical range)")


# ---------------------------------------------------------------------------------- invariants

def _positive(value, what, allow_zero=False):
    if _bad(value, allow_zero):
        raise GateError(f"{what} is {value!r}; every delivered number must be finite and "
                        f"{'non-negative' if allow_zero else 'positive'}")


def _bad(value, allow_zero=False) -> bool:
    """Whether ``value`` breaks _positive (None is not checked)."""
    if value is None:
        return False
    if value.__class__ is float:  # the usual case, the same answer: NaN and inf fail both tests
        return not (0.0 <= value < _INF) if allow_zero else not (0.0 < value < _INF)
    return not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or \
        (value == 0 and not allow_zero)


_INF = math.inf


_PHASE_NUMBERS = ("mg_h", "mg_h_max", "per_kg_h", "duration_h", "bolus_mg", "bolus_ml",
                  "per_dose_mg", "per_dose_mg_max", "ml_per_dose", "dose_mg_max")


def invariants(plan) -> None:
    """Every delivered number finite and positive, no pump above the rate asked, the bag holds
    the session. The checks run in order and the first that fails raises; the message (with
    the phase's name) is made only then."""
    weight_invariants(plan.weight)
    dosing_invariants(plan)


def weight_invariants(w) -> None:
    """The weights finite and positive (the first checks of ``invariants``)."""
    _positive(w.actual_kg, "the actual weight")
    _positive(w.kg, "the dosing weight")
    _positive(w.ideal_kg, "the ideal weight")
    _positive(w.adjusted_kg, "the adjusted weight")


def dosing_invariants(plan) -> None:
    """The rest of ``invariants``: the concentration, the phases, the days, the totals, the bag."""
    _positive(plan.concentration_mg_ml, "the concentration")
    # Doses are what the pumps deliver: a rate below the pump's step is programmed at 0 mL/h
    # and gives nothing, which KD-GATE-003 refuses (an error finding, not our bug); the doses,
    # days, totals and bag it empties may then be 0.
    starved = False
    for p in plan.phases:
        empty = any(x.ml_h <= 0 for x in p.phase_kind.pumps(p))
        starved = starved or empty
        for name in _PHASE_NUMBERS:
            value = getattr(p, name)
            zero_ok = empty and name == "dose_mg_max"
            if _bad(value, zero_ok):
                _positive(value, f"{p.name}: {name}", allow_zero=zero_ok)
        # a conditional phase or a later escalation step may not be given: its minimum is 0
        if _bad(p.dose_mg_min, True):
            _positive(p.dose_mg_min, f"{p.name}: dose_mg_min", allow_zero=True)
        for s in p.steps:
            if _bad(s.mg_h):
                _positive(s.mg_h, f"{p.name}: a titration step")
        for pump in [p.pump] + [s.pump for s in p.steps]:
            if pump is None:
                continue
            if _bad(pump.ml_h, True):  # 0: KD-GATE-003
                _positive(pump.ml_h, f"{p.name}: pump rate", allow_zero=True)
            if _bad(pump.mg_h_delivered, True):
                _positive(pump.mg_h_delivered, f"{p.name}: delivered rate", allow_zero=True)
            if pump.mg_h_delivered > pump.mg_h * (1 + 1e-9):
                raise GateError(f"{p.name}: the pump delivers {pump.mg_h_delivered:g} mg/h, more "
                                f"than the {pump.mg_h:g} mg/h asked")
    for d in plan.days:
        if _bad(d.dose_mg_max, True) or _bad(d.cumulative_mg_max, starved) or \
                _bad(d.dose_mg_min, True):
            _positive(d.dose_mg_max, f"day {d.day}: dose", allow_zero=True)
            _positive(d.cumulative_mg_max, f"day {d.day}: cumulative dose", allow_zero=starved)
            _positive(d.dose_mg_min, f"day {d.day}: minimum dose", allow_zero=True)
    for key, value in plan.totals.items():
        _positive(value, key, allow_zero=starved or key.endswith("_min") or key == "min_session_mg")
    bag(plan, starved)


def bag(plan, starved: bool = False) -> None:
    """The bag or syringe holds what the session (or the 24 h) needs, plus priming (which may
    be nothing when ``starved``: every pump at 0 mL/h, refused by KD-GATE-003)."""
    prep = plan.preparation
    if prep.drug_mg is None or prep.concentration_mg_ml is None:
        return
    _positive(prep.drug_mg, "the drug in the bag", allow_zero=starved)
    _positive(prep.final_volume_ml, "the bag volume", allow_zero=starved)
    need = (prep.need_mg or 0.0) + (prep.priming_ml or 0.0) * prep.concentration_mg_ml
    if prep.final_volume_ml * prep.concentration_mg_ml < need * (1 - 1e-9):
        raise GateError(f"the bag holds {prep.final_volume_ml * prep.concentration_mg_ml:g} mg "
                        f"but the {prep.per} needs {need:g} mg")
    if abs(prep.drug_mg - prep.final_volume_ml * prep.concentration_mg_ml) > 1e-6 * max(1, need):
        raise GateError(f"the bag says {prep.drug_mg:g} mg in {prep.final_volume_ml:g} mL at "
                        f"{prep.concentration_mg_ml:g} mg/mL")
