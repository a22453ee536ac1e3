"""Properties of the safety gate over GENERATED regimens and patients (issue 13).

Regimens are generated from the format itself, not taken from the shipped templates: every phase
kind, every unit form (per kg and absolute; per h, per min, per day, per 24 h; fixed amounts over
a time), caps, titration staircases, escalations, settings and confirmations. Patients span
heights 100-220 cm, weights 2-250 kg, both sexes, every weight basis, and every concentration
the limit library allows. For every plan that is printed (not refused):

- every delivered number is finite and > 0, and within every hard limit in every basis;
- no pump delivers more than the rate asked, and no rate is programmed at 0 mL/h;
- every bag holds what the session (or the day) needs plus priming;
- every output format renders, and none prints a negative zero (-0.0).

A refusal (KetadoseError, exit 2) or a blocked plan (exit 1) is an allowed outcome; an
invariant failure of the gate (GateError, exit 3) is a bug and fails the test. The checks are
in fuzz/plan_properties.py and do not reuse the gate's code.
"""

from __future__ import annotations

import copy
import math
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fuzz"))

from plan_properties import check_plan, check_plausibility, render_all

from conftest import budget, template_data
from ketadose.errors import KetadoseError
from ketadose.io.library import limit_library, thresholds, vocabulary
from ketadose.patient import build
from ketadose.plan import make_plan
from ketadose.rules import screening_rules
from ketadose.screen import Context, run
from ketadose.units import parse_quantity, parse_unit
from ketadose.validate import validate

EXAMPLES = budget(int(os.environ.get("KETADOSE_GATE_EXAMPLES", "120")))
SRC = "generated test input (tests/test_gate_properties.py), not a clinical regimen"

PER_KG_UNITS = ("mg/kg/h", "mcg/kg/min", "mg/kg/day")
ABS_UNITS = ("mg/h", "mg/day", "mg/24 h", "mcg/min")


def _num(x: float) -> str:
    return f"{x:.6g}"


@st.composite
def rate(draw, per_kg=None, lo=None, hi=None):
    """A rate in any unit form; magnitudes in mg/kg/h or mg/h, reaching past the hard limits."""
    per_kg = draw(st.booleans()) if per_kg is None else per_kg
    unit = draw(st.sampled_from(PER_KG_UNITS if per_kg else ABS_UNITS))
    lo = lo if lo is not None else (0.01 if per_kg else 1.0)
    hi = hi if hi is not None else (1.5 if per_kg else 60.0)
    canonical = draw(st.floats(lo, hi))
    return f"{_num(canonical / float(parse_unit(unit).factor))} {unit}", canonical, per_kg


def hours(draw, lo=0.25, hi=8.0):
    return draw(st.floats(lo, hi))


@st.composite
def infusion(draw, per_kg=None):
    if draw(st.booleans()):
        text, _c, pk = draw(rate(per_kg))
        phase = {"kind": "infusion", "rate": text, "duration": f"{_num(hours(draw))} h"}
    else:
        pk = draw(st.booleans()) if per_kg is None else per_kg
        h = hours(draw, 0.5, 8)
        amount = draw(st.floats(0.05, 4.0)) if pk else draw(st.floats(5, 300))
        phase = {"kind": "infusion", "dose": f"{_num(amount)} {'mg/kg' if pk else 'mg'} over "
                                             f"{_num(h)} h"}
    if draw(st.booleans()):
        phase["max_rate"] = f"{_num(draw(st.floats(2, 50)))} mg/h"
    if draw(st.integers(0, 4)) == 0:
        phase["conditional"] = "if tolerated"
    return phase


@st.composite
def bolus(draw):
    pk = draw(st.booleans())
    dose = f"{_num(draw(st.floats(0.05, 1.2)))} mg/kg" if pk else f"{_num(draw(st.floats(2, 100)))} mg"
    phase = {"kind": "bolus", "dose": dose,
             "over": draw(st.sampled_from(["0.1 min", "0.5 min", "1 min", "2 min", "5 min", "10 min"]))}
    if draw(st.booleans()):
        phase["max_dose"] = f"{_num(draw(st.floats(5, 60)))} mg"
    return phase


@st.composite
def titration(draw):
    pk = draw(st.booleans())
    unit = draw(st.sampled_from(PER_KG_UNITS if pk else ABS_UNITS))
    f = float(parse_unit(unit).factor)
    start = draw(st.floats(0.01, 0.5) if pk else st.floats(1, 20))
    top = start * draw(st.floats(1.2, 6))
    phase = {"kind": "titration", "start": f"{_num(start / f)} {unit}",
             "max": f"{_num(top / f)} {unit}", "duration": f"{_num(hours(draw, 1, 24))} h",
             "titrate_to": "relief and tolerability"}
    if draw(st.booleans()):
        n = draw(st.integers(1, 8))
        phase["step"] = f"{_num((top - start) / n / f)} {unit}"
        if draw(st.booleans()):
            phase["step_every"] = draw(st.sampled_from(["15 min", "30 min", "1 h", "2 h"]))
    if draw(st.booleans()):
        phase["max_rate"] = f"{_num(draw(st.floats(2, 50)))} mg/h"
    return phase


@st.composite
def escalation(draw, sc=False):
    pk = draw(st.booleans())
    unit = draw(st.sampled_from(PER_KG_UNITS if pk else (("mg/24 h", "mg/day") if sc else ABS_UNITS)))
    f = float(parse_unit(unit).factor)
    n = draw(st.integers(1, 4))
    first = draw(st.floats(0.02, 0.3) if pk else st.floats(2, 15))
    values, v = [], first
    for _ in range(n):
        values.append(v)
        v *= draw(st.floats(1.3, 3))
    phase = {"kind": "escalation", "steps": [f"{_num(x / f)} {unit}" for x in values],
             "step_duration": draw(st.sampled_from(["12 h", "24 h"])),
             "hold": draw(st.sampled_from(["1 day", "2 day", "3 day"])),
             "escalate_if": "pain not controlled"}
    if draw(st.booleans()):
        phase["max_rate"] = f"{_num(draw(st.floats(2, 50)))} mg/h"
    return phase


@st.composite
def oral(draw):
    pk = draw(st.booleans())
    dose = draw(st.floats(0.1, 2)) if pk else draw(st.floats(5, 200))
    times = draw(st.integers(1, 6))
    phase = {"kind": "oral", "dose": f"{_num(dose)} {'mg/kg' if pk else 'mg'}",
             "times_per_day": times, "titrate": "by effect"}
    if draw(st.booleans()):
        phase["max_dose"] = f"{_num(draw(st.floats(5, 300)))} mg"
    if draw(st.booleans()):
        top = dose * times * draw(st.floats(1, 4))
        phase["max_daily"] = f"{_num(top)} {'mg/kg/day' if pk else 'mg/day'}"
    return phase


@st.composite
def topical(draw):
    phase = {"kind": "topical", "strength": f"{draw(st.sampled_from([1, 2, 5, 10, 15]))}%",
             "applications_per_day": draw(st.integers(1, 6))}
    if draw(st.booleans()):
        phase["amount"] = draw(st.sampled_from(["1 g", "500 mg", "2 mL"]))
    return phase


SOFT_IDS = tuple(lim.id for lim in limit_library().limits if lim.soft is not None)


@st.composite
def regimens(draw):
    route = draw(st.sampled_from(["iv", "iv", "iv", "sc", "oral", "topical"]))
    drug = draw(st.sampled_from(["racemic-ketamine", "esketamine"]))
    if route == "iv":
        kinds = st.sampled_from([infusion(), infusion(), bolus(), titration(), escalation()])
        setting = draw(st.sampled_from(["monitored-outpatient", "inpatient", "icu"]))
    elif route == "sc":
        kinds = st.sampled_from([infusion(), titration(), escalation(sc=True)])
        setting = draw(st.sampled_from(["inpatient", "home"]))
    elif route == "oral":
        kinds, setting = st.just(oral()), "home"
    else:
        kinds, setting = st.just(topical()), "home"
    phases = [draw(draw(kinds)) for _ in range(draw(st.integers(1, 3)))]
    for i, p in enumerate(phases):
        p.update(name=f"phase {i + 1}", source=SRC)
    doc = copy.deepcopy(template_data("crps-schwartzman-2009.yaml"))
    doc.update(id="generated", route=route, drug=drug, setting=setting,
               title="generated esketamine regimen" if drug == "esketamine" else "generated regimen",
               weight_basis=draw(st.sampled_from(["actual", "ideal", "adjusted"])))
    doc.pop("preparation", None)
    doc.pop("adjuncts", None)
    total = sum(_phase_hours(p) or 0.0 for p in phases)
    continuous = route in ("iv", "sc") and (total > 24 or draw(st.booleans()))
    doc["schedule"] = {"pattern": "continuous" if continuous else "daily",
                       "days": max(1, math.ceil(total / 24 - 1e-9)) if continuous
                       else draw(st.integers(1, 30)),
                       "phases": phases, "source": SRC}
    if route in ("iv", "sc") and draw(st.booleans()):
        doc["preparation"] = {"concentration": f"{_num(draw(st.floats(0.1, 50)))} mg/mL",
                              "source": SRC}
        if draw(st.booleans()):
            doc["preparation"]["volume"] = draw(st.sampled_from(["50 mL", "100 mL", "500 mL"]))
    confirm = draw(st.lists(st.sampled_from(SOFT_IDS + ("KD-V022",)), max_size=6, unique=True))
    doc["confirm"] = {rid: "generated: confirmed for the property test" for rid in confirm}
    return doc


def _phase_hours(p):
    def h(text):
        return parse_quantity(text).magnitude("h")

    if p["kind"] == "infusion":
        return h(p["duration"]) if "rate" in p else h(p["dose"].split(" over ")[1])
    if p["kind"] == "bolus":
        return h(p["over"])
    if p["kind"] == "titration":
        return h(p["duration"])
    if p["kind"] == "escalation":
        return (len(p["steps"]) - 1) * h(p["step_duration"]) + h(p["hold"])
    return None


@st.composite
def patients(draw):
    height = draw(st.floats(100, 220))
    if draw(st.integers(0, 3)):  # mostly a plausible build (BMI 13-60), sometimes anything
        weight = min(250.0, max(2.0, draw(st.floats(13, 60)) * (height / 100) ** 2))
    else:
        weight = draw(st.floats(2, 250))
    data = {"age": draw(st.integers(1, 100)), "sex": draw(st.sampled_from(["female", "male"])),
            "weight": f"{_num(weight)} kg", "height": f"{_num(height)} cm",
            "pregnant": False, "breastfeeding": False, "blood_pressure": "128/82",
            "heart_rate": 72, "conditions": [], "medications": [], "allergies": [],
            "previous_courses": []}
    patient, errors = build(data, vocabulary())
    assert patient is not None, errors
    return patient


OPTIONS = st.fixed_dictionaries({
    "basis": st.sampled_from([None, "actual", "ideal", "adjusted"]),
    "concentration": st.one_of(st.none(), st.floats(0.1, 100).map(lambda c: f"{_num(c)} mg/mL")),
    "priming_ml": st.one_of(st.none(), st.floats(0, 30)),
    "override": st.sampled_from([None, "generated: the clinician confirms"]),
})

def plan_and_check(doc, patient, opts) -> str:
    library = limit_library()
    regimen, findings = validate(doc, library, substances=vocabulary().substances)
    if regimen is None or any(f.severity == "error" for f in findings):
        return "invalid"
    conc = parse_quantity(opts["concentration"]) if opts["concentration"] else None
    try:
        plan = make_plan(regimen, patient, library, basis=opts["basis"], concentration=conc,
                         priming_ml=opts["priming_ml"], regimen_findings=findings,
                         override=opts["override"])
    except KetadoseError:
        return "refused"
    check_plan(plan, library)
    check_plausibility(plan, patient, opts["override"])
    screen = run(patient, Context(regimen, None, thresholds=thresholds()), screening_rules())
    render_all(plan, screen, patient)
    return "blocked" if plan.blocked else "printed"


def test_every_printed_plan_is_within_every_hard_limit():
    """The property over generated inputs; and the generator must be useful: most regimens
    are valid and reach make_plan, and many plans are printed (not only refused)."""
    outcomes: list = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(regimens(), patients(), OPTIONS)
    def each(doc, patient, opts):
        outcomes.append(plan_and_check(doc, patient, opts))

    each()
    made = sum(o in ("printed", "blocked") for o in outcomes)
    assert made >= 0.5 * len(outcomes), {o: outcomes.count(o) for o in set(outcomes)}
    assert outcomes.count("printed") >= 0.1 * len(outcomes), {o: outcomes.count(o)
                                                              for o in set(outcomes)}


@st.composite
def measured_patients(draw):
    """Patients of every age a plan is made for, with weights from 2 to 400 kg (log-uniform, so
    that each decade of weight is as likely), with or without a sex and a height."""
    data = {"age": draw(st.one_of(st.integers(0, 21), st.integers(0, 120))),
            "weight": f"{_num(math.exp(draw(st.floats(math.log(2.0), math.log(400.0)))))} kg"}
    sex = draw(st.sampled_from(["female", "male", None]))
    if sex is not None:
        data["sex"] = sex
    if draw(st.booleans()):
        data["height"] = f"{_num(draw(st.floats(45, 250)))} cm"
    patient, errors = build(data, vocabulary())
    assert patient is not None, errors
    return patient


def test_implausible_body_measures_never_pass_without_the_finding():
    """KD-GATE-004 over generated patients: an implausible age/weight combination (a child's
    weight outside the CDC's biologically implausible limits for the age, an adult under 30 kg,
    a BMI outside 12-80) is refused without --override and confirmed with it, never silent;
    a clearly plausible one is never refused as implausible. The verdict is computed in
    fuzz/plan_properties.py from the CDC data with its own arithmetic."""
    from plan_properties import weight_for_age_verdict

    from ketadose.io.regimens import load_regimen

    regimen = load_regimen("crps-schwartzman-2009")[1]
    library = limit_library()
    verdicts: list = []

    @settings(max_examples=budget(300), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(measured_patients(), st.sampled_from([None, "generated: the clinician confirms"]))
    def each(patient, override):
        plan = make_plan(regimen, patient, library, override=override)
        check_plausibility(plan, patient, override)
        verdicts.append(weight_for_age_verdict(patient.weight.magnitude("kg"), patient.age,
                                               patient.sex))

    each()
    # the generator reaches both sides of the CDC limits, not only adults
    assert verdicts.count("implausible") >= 0.1 * len(verdicts), verdicts
    assert verdicts.count("plausible") >= 0.1 * len(verdicts), verdicts
