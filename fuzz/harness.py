"""Shared fuzz harness: feed a (mutated) regimen or patient document through load, validate,
check, plan and simulate. Only KetadoseError may escape as a refusal; anything else is a bug.
Every plan that is accepted must still satisfy the limit properties (no hard limit exceeded)."""

from __future__ import annotations

import datetime as dt

from plan_properties import PropertyViolation, check_plan, render_all  # noqa: F401 (re-exported)

from ketadose.errors import KetadoseError
from ketadose.io.library import limit_library, thresholds, vocabulary
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


def check_limits(plan, library) -> None:
    """An accepted plan keeps every delivered number within every hard limit, in every basis
    (fuzz/plan_properties.py, independent of the safety gate's code)."""
    check_plan(plan, library)


def exercise_regimen(text: str, simulate: bool = True) -> str:
    library = limit_library()
    try:
        doc = load_text(text, "fuzz.yaml")
    except KetadoseError:
        return "refused-load"
    if not isinstance(doc.data, dict):
        return "not-a-mapping"
    regimen, findings = validate(doc.data, library, substances=vocabulary().substances)
    if regimen is None or any(f.severity == "error" for f in findings):
        return "invalid"
    reached = "accepted"  # "planned" once make_plan returned a plan (printed or refused)
    for weight in ("40 kg", "72 kg", "140 kg"):
        patient, errors = build({**BASE_PATIENT, "weight": weight}, vocabulary())
        assert patient is not None, errors
        screen = run(patient, Context(regimen, TODAY, thresholds=thresholds()), screening_rules())
        try:
            plan = make_plan(regimen, patient, library, regimen_findings=findings)
        except KetadoseError:
            continue
        check_limits(plan, library)
        render_all(plan, screen, patient)
        reached = "planned"
        if simulate and not plan.blocked:
            from ketadose.pk.simulate import simulate as sim

            try:
                sim(plan, resolution_min=60.0)
            except KetadoseError:
                pass
    return reached


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
    screen = run(patient, Context(regimen, TODAY, thresholds=thresholds()), screening_rules())
    try:
        plan = make_plan(regimen, patient, limit_library())
    except KetadoseError:
        return "refused-plan"
    check_limits(plan, limit_library())
    render_all(plan, screen, patient)
    return "planned"
