"""Properties every printed plan must have, checked from the plan's own fields and the limit
library, independently of the safety gate's code (ketadose/gate.py), so that a gap in the gate
is caught here rather than mirrored.

- every number is finite and > 0 (a minimum may be 0: a conditional phase may not be given);
- no pump delivers more than the rate asked;
- every delivered number is within every hard limit, in every basis that has one: mg/h (the
  highest of the rates asked and delivered), mg/kg/h on the actual and the dosing weight, SC
  mg/24 h, the highest day, the session, bolus mg/kg, push rate and push time, oral mg/kg/day,
  concentration, pump mL/h;
- every bag holds what the session (or the day, for a continuous infusion) needs plus priming;
- implausible body measures (an adult under 30 kg, BMI outside 12-80, a child's weight outside
  the CDC's biologically implausible limits for the age) never pass without KD-GATE-004, and
  clearly plausible ones never get it (check_plausibility, printed or blocked alike).
"""

from __future__ import annotations

import math
import re
import types

from ketadose.units import Quantity, parse_unit


class PropertyViolation(AssertionError):
    pass


def _numbers(plan):
    w = plan.weight
    yield "actual weight", w.actual_kg
    yield "dosing weight", w.kg
    yield "concentration", plan.concentration_mg_ml
    for p in plan.phases:
        for name in ("mg_h", "mg_h_max", "per_kg_h", "duration_h", "bolus_mg", "bolus_ml",
                     "per_dose_mg", "ml_per_dose", "dose_mg_max"):
            yield f"{p.name} {name}", getattr(p, name)
        for s in p.steps:
            yield f"{p.name} step", s.mg_h
    for key in ("max_session_mg", "max_daily_mg", "course_mg_max"):
        yield key, plan.totals[key]
    prep = plan.preparation
    yield "bag mg", prep.drug_mg
    yield "bag mL", prep.final_volume_ml


def _values(plan):
    """(measure, value, unit, what) of every delivered number, in every basis."""
    r, w = plan.regimen, plan.weight
    kgs = [k for k in {w.actual_kg, w.kg} if k]
    out = []
    for p in plan.phases:
        pumps = [x for x in [p.pump] + [s.pump for s in p.steps] if x is not None]
        if p.kind in ("infusion", "titration", "escalation"):
            top = max([p.mg_h_max, p.mg_h] + [s.mg_h for s in p.steps]
                      + [x.mg_h_delivered for x in pumps])
            out.append(("rate", top, "mg/h", p.name))
            out += [("rate_per_kg", top / kg, "mg/kg/h", f"{p.name} on {kg} kg") for kg in kgs]
            if pumps:
                out.append(("pump_rate", max(x.ml_h for x in pumps), "mL/h", p.name))
        elif p.kind == "bolus":
            minutes = p.duration_h * 60
            out.append(("push_time", minutes, "min", p.name))
            for kg in kgs:
                out.append(("bolus_per_kg", p.bolus_mg / kg, "mg/kg", p.name))
                out.append(("push_rate_per_kg", p.bolus_mg / kg / minutes, "mg/kg/min", p.name))
        elif p.kind == "oral":
            out += [("daily_dose_per_kg", p.dose_mg_max / kg, "mg/kg/day", p.name) for kg in kgs]
    highest_day = max((d.dose_mg_max for d in plan.days if d.dose_mg_max is not None), default=None)
    if highest_day is not None and r.route == "iv":
        out.append(("daily_dose", highest_day, "mg", "highest day"))
    if highest_day is not None and r.route == "sc":
        out.append(("rate", highest_day, "mg/day", "highest day"))
    if r.route == "iv" and r.pattern == "daily":
        session = sum(p.dose_mg_max for p in plan.phases if p.dose_mg_max is not None)
        out.append(("session_dose", session, "mg", "session"))
    if plan.concentration_mg_ml is not None:
        out.append(("concentration", plan.concentration_mg_ml, "mg/mL", "concentration"))
    return out


def check_plan(plan, library) -> None:
    """Raise PropertyViolation if a printed (not blocked) plan breaks a property."""
    if plan.blocked:
        return
    for what, value in _numbers(plan):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise PropertyViolation(f"{plan.regimen.id}: {what} = {value!r}")
    r = plan.regimen
    for p in plan.phases:
        for x in [p.pump] + [s.pump for s in p.steps]:
            if x is not None and x.mg_h_delivered > x.mg_h * (1 + 1e-9):
                raise PropertyViolation(f"{r.id} {p.name}: pump {x.mg_h_delivered} > {x.mg_h}")
            if x is not None and p.kind != "bolus" and x.ml_h <= 0:
                raise PropertyViolation(f"{r.id} {p.name}: pump programmed at {x.ml_h} mL/h")
    for measure, value, unit, what in _values(plan):
        for lim in library.find(r.drug, r.route, measure):
            _soft, hard, _note, _unv = lim.bounds(r.setting, r.confirm)
            if hard is None:
                continue
            v = Quantity(value, parse_unit(unit)).magnitude(lim.unit)
            tol = abs(hard) * 1e-9
            if lim.direction == "min":
                bad = v <= hard + tol if lim.hard_inclusive else v < hard - tol
            else:
                bad = v >= hard - tol if lim.hard_inclusive else v > hard + tol
            if bad:
                raise PropertyViolation(f"{r.id} {what}: {measure} {v:.6g} {lim.unit} breaks "
                                        f"{lim.id} hard {lim.direction} {hard}")
    check_bag(plan)


def check_bag(plan) -> None:
    prep, r = plan.preparation, plan.regimen
    if r.route != "iv" or plan.concentration_mg_ml is None:
        return
    need = plan.totals["max_session_mg"] if r.pattern == "daily" else plan.totals["max_daily_mg"]
    need += (prep.priming_ml or 0.0) * plan.concentration_mg_ml
    held = prep.final_volume_ml * plan.concentration_mg_ml
    if held < need * (1 - 1e-9) or abs(held - prep.drug_mg) > 1e-6 * max(1.0, need):
        raise PropertyViolation(f"{r.id}: the bag holds {held} mg ({prep.drug_mg} said) for {need}")


NEGATIVE_ZERO = re.compile(r"(?<![\w])-0(?:\.0*)?(?![.\d])")
"""A number printed as a negative zero ('-0', '-0.0', '-0.00'), not part of a word or an id
('KD-LIM-010', 'P-0', a date)."""


def check_no_negative_zero(name: str, text: str) -> None:
    """A zero is printed as 0: a clinician reads '-0.0' as a sign that means something."""
    found = NEGATIVE_ZERO.search(text)
    if found:
        raise PropertyViolation(f"{name} prints a negative zero: "
                                f"...{text[max(0, found.start() - 80):found.end() + 20]}...")


def render_all(plan, screen, patient) -> dict:
    """Every output format of a plan, as the CLI makes them (data, CSV, FHIR, HTML, table),
    by name; none may print a negative zero."""
    import io

    from ketadose.planning import PlanOptions, PlanResult, Versions
    from ketadose.render import plan_data, plan_table
    from ketadose.render.data import to_json, to_yaml
    from ketadose.render.documents.plan import plan_body
    from ketadose.render.fhir import write_bundle
    from ketadose.render.html import write_page

    src = types.SimpleNamespace(sha256="0" * 64, name="generated.yaml")
    result = PlanResult(src, plan.regimen, patient, {}, PlanOptions(explain=True), screen, plan,
                        Versions("fuzz", "fuzz", "fuzz"))
    # the whole body, even of a refused plan (whose document keeps only the findings)
    texts = {"body json": to_json(plan_body(result, explain=True)),
             "body yaml": to_yaml(plan_body(result, explain=True))}
    writers = [plan_data.write_json, plan_data.write_yaml]
    if not plan.blocked:
        writers += [plan_data.write_csv, write_bundle, write_page, plan_table.render_plan]
    for write in writers:
        out = io.StringIO()
        write(result, out)
        texts[f"{write.__module__}.{write.__name__}"] = out.getvalue()
    for name, text in texts.items():
        check_no_negative_zero(name, text)
    return texts


# ------------------------------------------------------------------ implausible body measures

def _cdc_modified_z(kg, lam, mu, sigma):
    """The CDC SAS program's modified z: the distance from the median in half-distances to the
    z = -2 or z = +2 line (LMS method), written here afresh, not taken from ketadose.growth."""
    def at(z):
        return mu * (1.0 + lam * sigma * z) ** (1.0 / lam)
    half = (mu - at(-2.0)) / 2.0 if kg < mu else (at(2.0) - mu) / 2.0
    return (kg - mu) / half


def weight_for_age_verdict(kg, age, sex):
    """'implausible' when the weight is outside the CDC's -5/+8 modified-z limits at EVERY CDC
    row of the patient's year of age (for either sex if none is given); 'plausible' when it is
    well inside them (-4.5 to +7) at every row; else 'edge' (no claim). None: not a child the
    guard covers (20 years or more, or no age)."""
    from ketadose.growth import _rows  # the CDC data only; the arithmetic above is our own

    if age is None or kg is None or age >= 20:
        return None
    first, last = (24.0, 36.5) if age < 2 else (12.0 * age - 0.5, 12.0 * age + 12.5)
    rows = [r for r in _rows() if first <= r[1] <= last and (sex is None or r[0] == sex)]
    zs = [_cdc_modified_z(kg, *r[2:]) for r in rows]
    if age < 2:  # only too heavy counts under 2 years
        return "implausible" if all(z > 8.0 for z in zs) else \
            "plausible" if all(z < 7.0 for z in zs) else "edge"
    if all(z < -5.0 for z in zs) or all(z > 8.0 for z in zs):
        return "implausible"
    if all(-4.5 < z < 7.0 for z in zs):
        return "plausible"
    return "edge"


def check_plausibility(plan, patient, override) -> None:
    """Implausible body measures never pass without KD-GATE-004 (refused without --override,
    confirmed with it); clearly plausible ones never get it. Whether or not the plan is blocked."""
    kg = patient.weight.magnitude("kg") if patient.weight is not None else None
    cm = patient.height.magnitude("cm") if patient.height is not None else None
    age = patient.age
    wfa = weight_for_age_verdict(kg, age, patient.sex)
    adult_light = kg is not None and age is not None and age >= 18 and kg < 30.0
    bmi = kg / (cm / 100.0) ** 2 if kg is not None and cm else None
    bad_bmi = bmi is not None and not 12.0 - 1e-9 <= bmi <= 80.0 + 1e-9
    found = [f for f in plan.findings if f.rule == "KD-GATE-004"]
    if wfa == "implausible" or adult_light or bad_bmi:
        want = "info" if override else "error"
        if not any(f.severity == want for f in found):
            raise PropertyViolation(f"age {age}, sex {patient.sex}, {kg} kg, {cm} cm, BMI {bmi}: "
                                    f"implausible but KD-GATE-004 {want} missing: {found}")
        if wfa == "implausible" and not any("typing-error guard, not a clinical range"
                                            in f.message for f in found):
            raise PropertyViolation(f"age {age}, {kg} kg: not labelled a typing-error guard")
    clear_bmi = bmi is None or 12.5 <= bmi <= 79.0
    clear_adult = kg is None or age is None or age < 18 or kg >= 30.5
    if wfa in ("plausible", None) and clear_bmi and clear_adult and found:
        raise PropertyViolation(f"age {age}, sex {patient.sex}, {kg} kg, {cm} cm: plausible but "
                                f"refused as implausible: {found[0].message}")
