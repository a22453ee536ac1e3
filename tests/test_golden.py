"""Approved plans: every shipped template, for six patients, compared whole with a reviewed copy.

The other tests check the numbers a clinician would check by hand; these pin down everything
else a plan says (every derivation step, unit, message, limit consulted and calendar day), so
that no change to the dose calculators goes unnoticed. When a change is intended, regenerate
with ``KETADOSE_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review the diff of
``tests/golden/`` like a change to a drug library: every changed number needs a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE_NAMES, assert_approved

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "patient.yaml")

# Six patients chosen to reach every branch of the calculators: the README's example patient;
# a heavy man (rate caps bind, obesity findings); a small woman dosed on ideal weight with a
# concentrated solution; an obese woman on adjusted weight with a priming volume and a start time;
# a short thin woman (ideal and adjusted weights above her actual weight); the same woman below
# 152.4 cm, where Devine is undefined (refused on a per-kg regimen); a patient whose height and
# sex were not recorded (no ideal weight, no BMI). Concentrations above the 2 mg/mL soft limit
# are confirmed with --override, as a clinician would.
SCENARIOS = {
    "example": ({}, []),
    "heavy-man": ({"weight": "125 kg", "height": "185 cm", "sex": "male"}, []),
    "ideal-small": ({"weight": "48 kg", "height": "155 cm"},
                    ["--weight-basis", "ideal", "--concentration", "10mg/mL",
                     "--override", "golden test: a concentrated solution, confirmed"]),
    "adjusted-obese": ({"weight": "110 kg", "height": "160 cm"},
                       ["--weight-basis", "adjusted", "--concentration", "2mg/mL",
                        "--priming", "20", "--start", "2026-12-01T09:00"]),
    "short-thin": ({"weight": "40 kg", "height": "153 cm"}, ["--weight-basis", "adjusted"]),
    "below-five-feet": ({"weight": "40 kg", "height": "150 cm"}, ["--weight-basis", "adjusted"]),
    "no-height": ({"height": None, "sex": None}, ["--concentration", "50mg/mL", "--override",
                                                  "golden test: a concentrated solution, confirmed"]),
}


def _normalise(data: dict) -> dict:
    # The path of the installed file and the package version are not part of the plan.
    for block in (data.get("regimen", {}), data.get("audit", {})):
        for key in ("file", "regimen_file"):
            if key in block:
                block[key] = Path(block[key]).name
    data.pop("ketadose_version", None)
    # Sessions of a long course repeat one another; the first two and the last are kept.
    sessions = data.get("sessions") or []
    if len(sessions) > 3:
        data["sessions"] = sessions[:2] + sessions[-1:]
        data["session_count"] = len(sessions)
    data.get("audit", {}).pop("ketadose_version", None)
    # The screening date is recorded for `verify`; without --start it is the day the test runs.
    options = data.get("audit", {}).get("inputs", {}).get("options", {})
    if "date" in options and not options.get("start"):
        options["date"] = "(today)"
    return data


def _applicable(template: str, args: list) -> list:
    """The scenario's options that apply to the template (one that does not is an error, exit 2,
    tested in test_messages_i16_inputs): --priming on IV only, --concentration not on topicals,
    --weight-basis only where the regimen doses per kg."""
    from ketadose.io.regimens import load_regimen

    regimen = load_regimen(template.removesuffix(".yaml"))[1]
    drop = {"--priming": regimen.route != "iv", "--concentration": regimen.route == "topical",
            "--weight-basis": not regimen.weight_based()}
    out: list = []
    pairs = iter(args)
    for arg in pairs:
        value = next(pairs)
        if not drop.get(arg):
            out += [arg, value]
    return out


def _plan(run, write, template: str, name: str) -> dict:
    example = yaml.safe_load(Path(EXAMPLE).read_text(encoding="utf-8"))
    changes, args = SCENARIOS[name]
    args = _applicable(template, args)
    record = {k: v for k, v in {**example, **changes}.items() if v is not None}
    patient = write(record, f"{name}.yaml")
    result = run("plan", template.removesuffix(".yaml"), "--patient", patient, *args,
                 "--format", "json", "--explain", "--reproducible")
    return {"exit_code": result.exit_code, "stderr": result.stderr.splitlines(),
            "plan": _normalise(json.loads(result.stdout)) if result.stdout else None}


# One test per template and patient, so that a failure names both and the paths that changed.
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_plan_matches_the_approved_copy(run, write, template, scenario):
    assert_approved(f"plan-{template.removesuffix('.yaml')}.json",
                    _plan(run, write, template, scenario), key=scenario)


# Regimens written to reach the calculators' branches that no shipped template uses: boluses
# and oral doses in fixed mg with a maximum that binds or not, a topical amount by mass and by
# volume, titration staircases with step times and caps, a per-kg escalation under a cap, and a
# conditional infusion. Each is a shipped template with its phases replaced (they are test
# inputs, not regimens for patients; `SRC` marks them as such).
SRC = "test input (tests/test_golden.py), not a clinical regimen"
EDGES = {
    # no preparation: boluses without a concentration have no volume
    "boluses-and-capped-infusion": ("consensus-cohen-2018.yaml", {"preparation": None}, {}, [
        {"name": "fixed bolus", "kind": "bolus", "dose": "30 mg", "over": "2 min",
         "max_dose": "20 mg", "source": SRC},
        {"name": "per-kg bolus", "kind": "bolus", "dose": "0.1 mg/kg", "over": "1 min",
         "max_dose": "7.2 mg", "source": SRC},  # equal to 0.1 mg/kg x 72 kg: does not bind
        {"name": "capped infusion", "kind": "infusion", "rate": "0.35 mg/kg/h", "duration": "4 h",
         "max_rate": "20 mg/h", "conditional": "only if the bolus was tolerated", "source": SRC},
    ]),
    "titration-staircases": ("crps-ketcrps2-esketamine.yaml", {}, {"days": 3}, [
        # the last step (8.5 mg/h) is within 1 mg/h of the cap; 8.96 mg/h is not a whole pump step
        {"name": "timed staircase", "kind": "titration", "start": "1 mg/h", "step": "2.5 mg/h",
         "step_every": "30 min", "max": "10 mg/h", "max_rate": "8.96 mg/h", "duration": "6 h",
         "titrate_to": "relief", "source": SRC},
        {"name": "untimed per-kg", "kind": "titration", "start": "0.05 mg/kg/h",
         "step": "0.05 mg/kg/h", "max": "0.2 mg/kg/h", "duration": "24 h",
         "titrate_to": "relief", "source": SRC},
        {"name": "start above cap", "kind": "titration", "start": "0.15 mg/kg/h",
         "max": "0.2 mg/kg/h", "max_rate": "5 mg/h", "duration": "12 h", "titrate_to": "relief",
         "source": SRC},
        # no cap of its own: stops at the hard limit for a 72 kg patient (30.24 mg/h)
        {"name": "to the hard limit", "kind": "titration", "start": "1 mcg/kg/min",
         "step": "1 mcg/kg/min", "max": "7.2 mcg/kg/min", "duration": "12 h",
         "titrate_to": "relief", "source": SRC},
    ]),
    # step 2 starts half an hour before the end of day 1; a short infusion follows the hold
    "escalation-per-kg": ("cancer-pain-burst-ketamine.yaml", {}, {"days": 5}, [
        {"name": "per-kg burst", "kind": "escalation",
         "steps": ["0.05 mg/kg/h", "0.1 mg/kg/h", "0.2 mg/kg/h", "0.3 mg/kg/h"],
         "step_duration": "23.5 h", "hold": "2 day", "max_rate": "14.95 mg/h",
         "escalate_if": "no relief and tolerated", "source": SRC},
        {"name": "taper", "kind": "infusion", "rate": "0.05 mg/kg/h", "duration": "1.5 h",
         "source": SRC},
    ]),
    "oral-fixed-and-capped": ("oral-marchetti-2015.yaml", {}, {}, [
        {"name": "fixed oral", "kind": "oral", "dose": "50 mg", "times_per_day": 3,
         "max_dose": "40 mg", "titrate": "by effect", "source": SRC},
        {"name": "per-kg oral", "kind": "oral", "dose": "0.25 mg/kg", "times_per_day": 2,
         "max_dose": "18 mg", "titrate": "by effect", "source": SRC},  # = 0.25 x 72: not binding
    ]),
    "topical-amounts": ("topical-rabi-2016.yaml", {}, {}, [
        {"name": "by mass", "kind": "topical", "strength": "5%", "applications_per_day": 2,
         "amount": "1 g", "site": "the painful area", "source": SRC},
        {"name": "by volume", "kind": "topical", "strength": "10%", "applications_per_day": 3,
         "amount": "2 mL", "site": "the painful area", "source": SRC},
    ]),
}


def _edge_plans(run, write, name: str) -> dict:
    from conftest import template_data

    base, top, schedule, phases = EDGES[name]
    data = template_data(base)
    for key, value in top.items():
        data.pop(key) if value is None else data.__setitem__(key, value)
    data["id"] = f"test-{name}"
    data["weight_basis"] = "actual"
    # the soft limits these test inputs reach are confirmed, so that their plans are printed
    data["confirm"] = {**data.get("confirm", {}), **{
        rule: "test input: confirmed to reach the calculators" for rule in (
            "KD-LIM-006", "KD-LIM-101", "KD-LIM-102", "KD-LIM-104")}}
    data["schedule"].update(schedule, phases=phases)
    regimen = write(data, f"{name}.yaml")
    checked = run("validate", regimen, "--format", "json")
    assert checked.exit_code == 0, checked.stdout  # the edge regimens are valid regimens
    example = yaml.safe_load(Path(EXAMPLE).read_text(encoding="utf-8"))
    patient = write(example, "patient.yaml")
    out = {}
    for conc in ("none", "3mg/mL"):
        args = [] if conc == "none" else ["--concentration", conc]
        result = run("plan", regimen, "--patient", patient, *args, "--format", "json",
                     "--explain", "--reproducible")
        out[conc] = {"exit_code": result.exit_code, "stderr": result.stderr.splitlines(),
                     "plan": _normalise(json.loads(result.stdout)) if result.stdout else None}
    return out


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_regimen_plan_matches_the_approved_copy(run, write, name):
    got = _edge_plans(run, write, name)
    assert_approved(f"edge-{name}.json", got)
    if name in ("titration-staircases", "escalation-per-kg"):  # one continuous session
        for case in got.values():
            totals = case["plan"]["totals"]
            assert totals["course_mg_max"] == pytest.approx(totals["max_session_mg"])
            assert totals["course_mg_min"] == pytest.approx(totals["min_session_mg"])
