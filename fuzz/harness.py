"""Shared fuzz harness: feed a (mutated) regimen or patient document through load, validate,
check, plan and simulate. Only KetadoseError may escape as a refusal; anything else is a bug.
Every plan that is accepted must still satisfy the limit properties (no hard limit exceeded)."""

from __future__ import annotations

import datetime as dt

from ketadose.errors import KetadoseError
from ketadose.io.library import limit_library, vocabulary
from ketadose.io.yamlsrc import load_text
from ketadose.patient import build
from ketadose.plan import make_plan
from ketadose.rules import screening_rules
from ketadose.screen import Context, run
from ketadose.validate import validate

BASE_PATIENT = {"age": 45, "sex": "female", "weight": "72 kg", "height": "168 cm",
                "pregnant": False, "breastfeeding": False, "blood_pressure": "128/82",
                "heart_rate": 72, "conditions": [], "medications": [], "allergies": [],
                "previous_courses": []}
TODAY = dt.date(2026, 11, 25)


class PropertyViolation(AssertionError):
    pass


def check_limits(plan, library) -> None:
    """An accepted plan never has a phase above a hard rate limit."""
    if plan.blocked:
        return
    r = plan.regimen
    kg = plan.weight.kg
    for p in plan.phases:
        if p.mg_h_max is None or p.kind == "bolus":
            continue
        for measure in ("rate", "rate_per_kg"):
            for lim in library.find(r.drug, r.route, measure):
                _s, hard, _n, _u = lim.bounds(r.setting)
                if hard is None:
                    continue
                from ketadose.units import parse_unit

                unit = parse_unit(lim.unit)
                if measure == "rate":
                    value = p.mg_h_max / float(unit.factor)
                elif kg:
                    value = p.mg_h_max / kg / float(unit.factor)
                else:
                    continue
                if value > hard * (1 + 1e-9):
                    raise PropertyViolation(f"{r.id} {p.name}: {value} {lim.unit} > hard {hard}")


def exercise_regimen(text: str, simulate: bool = True) -> str:
    library = limit_library()
    try:
        doc = load_text(text, "fuzz.yaml")
    except KetadoseError:
        return "refused-load"
    if not isinstance(doc.data, dict):
        return "not-a-mapping"
    regimen, findings = validate(doc.data, library)
    if regimen is None or any(f.severity == "error" for f in findings):
        return "invalid"
    for weight in ("40 kg", "72 kg", "140 kg"):
        patient, errors = build({**BASE_PATIENT, "weight": weight}, vocabulary())
        assert patient is not None, errors
        run(patient, Context(regimen, TODAY), screening_rules())
        try:
            plan = make_plan(regimen, patient, library, regimen_findings=findings)
        except KetadoseError:
            continue
        check_limits(plan, library)
        if simulate and not plan.blocked:
            from ketadose.pk.simulate import simulate as sim

            try:
                sim(plan, resolution_min=60.0)
            except KetadoseError:
                pass
    return "accepted"


def exercise_patient(text: str, regimen) -> str:
    try:
        doc = load_text(text, "patient.yaml")
    except KetadoseError:
        return "refused-load"
    if not isinstance(doc.data, dict):
        return "not-a-mapping"
    patient, errors = build(doc.data, vocabulary())
    if patient is None:
        return "invalid"
    run(patient, Context(regimen, TODAY), screening_rules())
    try:
        plan = make_plan(regimen, patient, limit_library())
    except KetadoseError:
        return "refused-plan"
    check_limits(plan, limit_library())
    return "accepted"
