"""No output prints a negative zero (nit23 item 1).

Approved plans once held ``"rounding_error_mg_per_h": -0.0``: a pump rate that is an exact
0.1 mL/h step (1.2 mL/h x 3 mg/mL = 3.5999999999999996 mg/h for 3.6 asked) had a rounding
"error" of float noise, which round() made -0.0, and the HTML page printed "(-0.00%)". A
clinician reads a minus as meaning something. Here: the number helpers over generated values,
generated regimens whose rates are exact pump steps (the case that made -0.0) rendered in every
plan format (fuzz/plan_properties.render_all checks every text), and the shell's outputs,
batch lines included.
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fuzz"))

from plan_properties import NEGATIVE_ZERO, PropertyViolation, check_no_negative_zero, render_all
from test_gate_properties import SRC, patients

from conftest import budget, template_data
from ketadose.commands.plan_lines import _number
from ketadose.render.data import Rounded, to_json
from ketadose.render.numbers import machine, number, signed

NEAR_ZERO = st.one_of(st.floats(-1.0, 1.0), st.floats(-1e-9, 1e-9), st.just(-0.0))


def _positive_zero(x) -> bool:
    return x == 0 and math.copysign(1.0, x) > 0


def test_the_pattern_finds_negative_zeros_and_nothing_else():
    for text in ("-0", "-0.0", "(-0.00%)", "x -0 mg", "[-0.0, 1]"):
        assert NEGATIVE_ZERO.search(text), text
    for text in ("0.0", "-0.25", "-0.05", "KD-LIM-010", "P-0", "2026-01-05", "T09:00-00:00",
                 "-1", "10-0.5 mg"):
        assert not NEGATIVE_ZERO.search(text), text
    with pytest.raises(PropertyViolation):
        check_no_negative_zero("table", "rate 1.2 mL/h (-0.00%)")


@settings(max_examples=budget(300), deadline=None, derandomize=True, database=None)
@given(NEAR_ZERO, st.integers(0, 6))
def test_the_number_helpers_never_write_a_negative_zero(x, digits):
    for text in (number(x, digits), number(x, digits, "mg"), signed(x, max(digits, 1)),
                 json.dumps(machine(x, max(digits, 1)))):
        assert not NEGATIVE_ZERO.search(text), (x, digits, text)
    if machine(x, max(digits, 1)) == 0:
        assert _positive_zero(machine(x, max(digits, 1)))
    # the batch lines' short cut writes what the general path writes
    for nd in (1, 2):
        assert _number(x, nd) == json.dumps(machine(x, nd)), (x, nd)


@settings(max_examples=budget(200), deadline=None, derandomize=True, database=None)
@given(st.lists(NEAR_ZERO, min_size=1, max_size=20), st.integers(1, 6))
def test_a_rounded_series_writes_no_negative_zero_either_way(values, digits):
    column = Rounded(np.array(values, dtype=np.float64), digits)
    texts = column.json_texts()
    slow = [json.dumps(v) for v in column]
    if texts is not None:
        assert texts == slow
    assert not any(NEGATIVE_ZERO.search(t) for t in slow), slow


# ------------------------------------------------------------- plans whose pumps are exact steps

CONCENTRATIONS = (0.3, 0.7, 1.0, 1.5, 3.0, 6.0, 7.0)  # most give float noise


@st.composite
def exact_step_regimens(draw):
    """An IV regimen at a concentration whose infusion rates (mg/h) are whole 0.1 mL/h steps:
    the pump delivers the rate asked, up to float noise (which once printed as -0.0)."""
    conc = draw(st.sampled_from(CONCENTRATIONS))
    phases = []
    for i in range(draw(st.integers(1, 3))):
        mg_h = round(draw(st.integers(1, 150)) * 0.1 * conc, 6)
        if mg_h > 40:  # below the hard limits for most patients
            mg_h = round(draw(st.integers(1, 40)) * 0.1 * conc, 6)
        phase = {"name": f"phase {i + 1}", "kind": "infusion", "rate": f"{mg_h:g} mg/h",
                 "duration": f"{draw(st.sampled_from([0.5, 1, 2, 4]))} h", "source": SRC}
        phases.append(phase)
    doc = template_data("crps-schwartzman-2009.yaml")
    doc.update(id="generated", route="iv", drug="racemic-ketamine", setting="inpatient",
               title="generated regimen", weight_basis="actual")
    doc.pop("adjuncts", None)
    doc["preparation"] = {"concentration": f"{conc:g} mg/mL", "source": SRC}
    doc["schedule"] = {"pattern": "daily", "days": draw(st.integers(1, 3)), "phases": phases,
                       "source": SRC}
    doc["confirm"] = {"KD-LIM-006": "generated: confirmed for the property test"}
    return doc


def test_plans_with_exact_pump_steps_print_no_negative_zero_in_any_format():
    """Every format of every printed plan (render_all checks each text); the rounding errors
    of exact steps are a positive 0.0 in the document."""
    from ketadose.io.library import limit_library, thresholds, vocabulary
    from ketadose.plan import make_plan
    from ketadose.render.documents.plan import phase_data
    from ketadose.validate import validate

    library = limit_library()
    printed = []

    @settings(max_examples=budget(25), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(exact_step_regimens(), patients())
    def each(doc, patient):
        from ketadose.errors import KetadoseError
        from ketadose.rules import screening_rules
        from ketadose.screen import Context, run

        regimen, findings = validate(doc, library, substances=vocabulary().substances)
        assert regimen is not None, findings
        try:
            plan = make_plan(regimen, patient, library, regimen_findings=findings,
                             override="generated: the clinician confirms")
        except KetadoseError:
            return
        screen = run(patient, Context(regimen, None, thresholds=thresholds()), screening_rules())
        texts = render_all(plan, screen, patient)
        assert texts
        for p in plan.phases:
            data = phase_data(p)
            for key in ("rounding_error_mg_per_h", "rounding_error_pct"):
                if data[key] == 0:
                    assert _positive_zero(data[key]), (p.name, key)
            assert not NEGATIVE_ZERO.search(to_json(data))
        printed.append(not plan.blocked)

    each()
    assert sum(printed) >= 0.5 * len(printed), printed  # the generator reaches printed plans


# ------------------------------------------------------------------------------ the shell

EXACT = {"kind": "escalation",
         "steps": ["0.05 mg/kg/h", "0.1 mg/kg/h", "0.2 mg/kg/h"], "step_duration": "23.5 h",
         "hold": "1 day", "escalate_if": "no relief and tolerated"}


def _exact_regimen(write) -> str:
    data = template_data("cancer-pain-burst-ketamine.yaml")
    data["id"] = "test-exact-steps"
    data["weight_basis"] = "actual"
    data["schedule"].update(days=3, phases=[{**EXACT, "name": "per-kg burst", "source": SRC}])
    data["confirm"] = {**data.get("confirm", {}), "KD-LIM-006": "test input: confirmed"}
    return write(data, "exact.yaml")


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "csv", "fhir", "html"])
def test_the_shell_prints_no_negative_zero_for_exact_steps(run, write, fmt):
    """72 kg at 3 mg/mL: 3.6, 7.2 and 14.4 mg/h are 1.2, 2.4 and 4.8 mL/h exactly (the plan
    that printed -0.0 in json, yaml and csv and -0.00% on the page)."""
    patient = write({"weight": "72 kg", "height": "175 cm", "sex": "male", "age": 60},
                    "p.yaml")
    result = run("plan", _exact_regimen(write), "--patient", patient, "--concentration",
                 "3mg/mL", "--format", fmt, "--explain", "--reproducible")
    assert result.exit_code == 0, result.stderr
    check_no_negative_zero(fmt, result.stdout)
    if fmt == "json":
        phases = json.loads(result.stdout)["sessions"][0]["phases"]
        assert [p["rounding_error_mg_per_h"] for p in phases] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_lines_print_no_negative_zero(run, write, jobs):
    """`plan --patients` (its fast lines and the general path) for weights whose rates are
    exact steps at 3 mg/mL (multiples of 6 kg) and others."""
    lines = "".join(json.dumps({"id": f"p{kg}", "weight": f"{kg} kg", "height": "175 cm",
                                "sex": "male", "age": 60}) + "\n" for kg in range(48, 97, 6))
    patients_file = write(lines, "cohort.jsonl")
    result = run("plan", _exact_regimen(write), "--patients", patients_file, "--concentration",
                 "3mg/mL", "--jobs", jobs)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 9
    check_no_negative_zero("jsonl", result.stdout)
