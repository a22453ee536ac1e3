"""Approved validation findings: every shipped template, and one regimen for each branch of every
regimen rule (both sides of each threshold), compared whole (rule, severity, message, path,
source) with a reviewed copy.

Regenerate after an intended change with
``KETADOSE_UPDATE_GOLDEN=1 python -m pytest tests/test_validate_golden.py`` and review the diff.
"""

from __future__ import annotations

from conftest import TEMPLATE_NAMES, assert_approved, template_data
from ketadose.io.library import limit_library, vocabulary
from ketadose.validate import validate

SRC = "test input"


def _phases(*phases, base="crps-schwartzman-2009.yaml", route=None, **schedule):
    data = template_data(base)
    data["route"] = route or data["route"]
    data["schedule"]["phases"] = [{"source": SRC, **p} for p in phases]
    data["schedule"].update(schedule)
    return data


def _titration(**p):
    return {"name": "t", "kind": "titration", "duration": "4 h", "titrate_to": "effect", **p}


def _escalation(**p):
    return {"name": "e", "kind": "escalation", "step_duration": "24 h", "hold": "2 day",
            "escalate_if": "no relief", **p}


def _changed(base="crps-schwartzman-2009.yaml", **changes):
    data = template_data(base)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


INF = {"name": "i", "kind": "infusion"}
CASES = {
    "no weight basis": _changed(weight_basis=None),
    "no weight basis, fixed dose": _changed("sci-amr-2010.yaml", weight_basis=None),
    "oral route, infusion phase": _changed(route="oral"),
    "topical route, infusion phase": _changed(route="topical"),
    "sc route, bolus": _phases({"name": "b", "kind": "bolus", "dose": "0.1 mg/kg", "over": "1 min"},
                               {**INF, "rate": "0.1 mg/kg/h", "duration": "3 h"}, route="sc"),
    "daily session 24 h": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "24 h"}),
    "daily session 25 h": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "25 h"}),
    "continuous 48 h on 2 days": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "48 h"},
                                         pattern="continuous", days=2),
    "continuous 48.5 h on 2 days": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "48.5 h"},
                                           pattern="continuous", days=2),
    "continuous 47 h on 3 days": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "47 h"},
                                         pattern="continuous", days=3),
    "infusion with rate and dose": _phases({**INF, "rate": "16 mg/h", "dose": "80 mg over 5 h",
                                            "duration": "5 h"}),
    "infusion with neither": _phases({**INF, "duration": "5 h"}),
    "infusion rate without duration": _phases({**INF, "rate": "16 mg/h"}),
    "infusion dose with duration": _phases({**INF, "dose": "80 mg over 5 h", "duration": "5 h"}),
    "titration mixed units": _titration(start="1 mg/h", max="0.2 mg/kg/h"),
    "titration step in other units": _titration(start="0.1 mg/kg/h", step="1 mg/h",
                                                max="0.3 mg/kg/h"),
    "titration start equals max": _titration(start="0.2 mg/kg/h", max="0.2 mg/kg/h"),
    "titration step equals the range": _titration(start="0.1 mg/kg/h", step="0.1 mg/kg/h",
                                                  max="0.2 mg/kg/h"),
    "titration step overshoots": _titration(start="0.1 mg/kg/h", step="0.15 mg/kg/h",
                                            max="0.2 mg/kg/h"),
    "titration 200 steps": _titration(start="0.1 mg/kg/h", step="0.001 mg/kg/h",
                                      max="0.3 mg/kg/h"),
    "titration 201 steps": _titration(start="0.1 mg/kg/h", step="0.001 mg/kg/h",
                                      max="0.301 mg/kg/h"),
    "escalation falls": _escalation(steps=["300 mg/24 h", "100 mg/24 h"]),
    "escalation repeats": _escalation(steps=["100 mg/24 h", "100 mg/24 h"]),
    "escalation mixed units": _escalation(steps=["100 mg/24 h", "0.2 mg/kg/h"]),
    "escalation hold equals a step": _escalation(steps=["100 mg/24 h", "300 mg/24 h"],
                                                 hold="24 h"),
    "escalation hold shorter": _escalation(steps=["100 mg/24 h", "300 mg/24 h"], hold="12 h"),
    "unverified names a missing number": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "4 h",
                                                  "unverified": {"max": "no such number"}}),
    "unverified names an unknown key": _phases({**INF, "rate": "0.1 mg/kg/h", "duration": "4 h",
                                                "unverified": {"colour": "blue"}}),
    "no primary evidence": None,
    "confirm an unknown limit": _changed(confirm={"KD-LIM-999": "because we always do"}),
    "confirm with a short reason": _changed(confirm={"KD-LIM-002": "123456789"}),
    "confirm with a 10-character reason": _changed(confirm={"KD-LIM-002": "1234567890"}),
    "title says S-ketamine": _changed(title="CRPS - S-ketamine infusion"),
    "title says Ketanest": _changed(title="Ketanest by infusion"),
    "esketamine drug, racemic title": _changed(drug="esketamine"),
    "80 mg over 2 h": _changed("sci-amr-2010.yaml"),
    "79 mg over 5 h": None,
    "80 mg over 2.5 h": None,
    "soft rate above the limit": _phases({**INF, "rate": "0.6 mg/kg/h", "duration": "4 h"}),
    "hard rate above the limit": _phases({**INF, "rate": "1.5 mg/kg/h", "duration": "4 h"}),
    "review article's unit error": _phases({**INF, "rate": "22.2 mg/hr/kg", "duration": "4 h"}),
    # issue 13: settings, unit slips, concentration bounds, push rate and time, oral maximum
    "IV at home": _changed(setting="home"),
    "IV continuous 7 days at home": _changed("crps-goldberg-2010.yaml", setting="home"),
    "SC at home, not confirmed": _changed("cancer-pain-burst-ketamine.yaml", setting="home"),
    "SC at home, confirmed": _changed("cancer-pain-burst-ketamine.yaml", setting="home", confirm={
        "KD-LIM-010": "500 mg/24 h is the published burst maximum (Jackson 2001, Hardy 2012)",
        "KD-V022": "community palliative syringe driver with daily nurse visits (test input)"}),
    "per-kg rate missing its /kg": _phases({**INF, "rate": "0.35 mg/h", "duration": "4 h"}),
    "1 mg/h is not a slip": _phases({**INF, "rate": "1 mg/h", "duration": "4 h"}),
    "5 mg/kg/h is not a slip (but a hard limit)": _phases(
        {**INF, "rate": "5 mg/kg/h", "duration": "4 h"}),
    "concentration 1e-12 mg/mL": _changed(preparation={
        "concentration": "1e-12 mg/mL", "volume": "100 mL", "source": SRC}),
    "concentration 0.1 mg/mL": _changed(preparation={
        "concentration": "0.1 mg/mL", "volume": "100 mL", "source": SRC}),
    "oral max_daily above the soft limit": _phases(
        {"name": "o", "kind": "oral", "dose": "0.5 mg/kg", "times_per_day": 3,
         "max_daily": "4 mg/kg/day"}, base="oral-marchetti-2015.yaml"),
    "oral max_daily below the start": _phases(
        {"name": "o", "kind": "oral", "dose": "0.5 mg/kg", "times_per_day": 3,
         "max_daily": "1 mg/kg/day"}, base="oral-marchetti-2015.yaml"),
    "oral max_daily in mg with a per-kg dose": _phases(
        {"name": "o", "kind": "oral", "dose": "0.5 mg/kg", "times_per_day": 3,
         "max_daily": "200 mg/day"}, base="oral-marchetti-2015.yaml"),
    "a bolus, then an infusion with neither": _phases(
        {"name": "b", "kind": "bolus", "dose": "0.1 mg/kg", "over": "1 min"},
        {**INF, "duration": "5 h"}),
    "escalation rising in mixed units": _escalation(steps=["0.05 mg/kg/h", "100 mg/24 h"]),
    "40 mg over 1 h, sc route": _phases({**INF, "dose": "40 mg over 1 h"}, route="sc"),
    "40 mg over 1 h, continuous": _phases({**INF, "dose": "40 mg over 24 h"},
                                          pattern="continuous", days=1),
}


def _fill():
    data = template_data()
    for e in data["evidence"]:
        e["role"] = "background"
    CASES["no primary evidence"] = data
    for name, dose in (("80 mg over 2 h", "80 mg over 2 h"), ("79 mg over 5 h", "79 mg over 5 h"),
                       ("80 mg over 2.5 h", "80 mg over 2.5 h")):
        data = template_data("sci-amr-2010.yaml")
        data["schedule"]["phases"][0]["dose"] = dose
        CASES[name] = data
    for name in ("titration mixed units", "titration step in other units",
                 "titration start equals max", "titration step equals the range",
                 "titration step overshoots", "titration 200 steps", "titration 201 steps"):
        CASES[name] = _phases(CASES[name])
    for name in [n for n in CASES if n.startswith("escalation")]:
        days = 2 if name == "escalation hold equals a step" else 5  # 24 h + a 24-h hold
        CASES[name] = _phases(CASES[name], base="cancer-pain-burst-ketamine.yaml", days=days)
    for name in TEMPLATE_NAMES:
        CASES[f"template {name}"] = template_data(name)


_fill()


def _findings(data):
    _regimen, found = validate(data, limit_library(), substances=vocabulary().substances)
    return [[f.rule, f.severity, f.message, list(f.path), f.at_key, f.source, f.unverified]
            for f in found]


def test_validation_matches_the_approved_copy():
    got = {name: _findings(data) for name, data in CASES.items()}
    assert_approved("validate.json", got)
