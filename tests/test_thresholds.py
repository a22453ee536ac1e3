"""Clinical thresholds of the screening rules as versioned data (ketadose/data/thresholds.yaml):
each sourced, each read by a rule that exists, the rules driven by the data (not by literals
left in code), the version in every audit block, and no cost for commands that do not screen."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ketadose.io.library import data_text, thresholds, vocabulary
from ketadose.patient import build
from ketadose.rules import registry, screening_rules
from ketadose.screen import Context, run
from ketadose.thresholds import REQUIRED, thresholds_from_data

TODAY = dt.date(2026, 1, 15)
BASE = {"weight": "72 kg", "age": 45, "sex": "male", "blood_pressure": "128/82",
        "heart_rate": 70, "conditions": [], "medications": [], "allergies": [],
        "previous_courses": []}


def raw():
    return yaml.safe_load(data_text("thresholds.yaml"))


def test_every_threshold_is_sourced_and_read_by_a_registered_rule():
    th = thresholds()
    assert th.version == raw()["version"]
    assert set(th.items) == set(REQUIRED)
    rules = registry()
    for t in th.items.values():
        assert t.source.strip() and t.what.strip() and t.unit.strip()
        assert t.rules and all(r in rules for r in t.rules), t.id


@pytest.mark.parametrize("change, message", [
    (lambda d: d["thresholds"].pop(0), "missing"),
    (lambda d: d["thresholds"].append(dict(d["thresholds"][0])), "twice"),
    (lambda d: d["thresholds"][0].update(value="180"), "number"),
    (lambda d: d["thresholds"][0].update(source=" "), "source"),
    (lambda d: d["thresholds"][0].update(compare="over"), "compare"),
    (lambda d: d["thresholds"][0].update(id="bp-typo"), "not read by any rule"),
    (lambda d: d.pop("version"), "version"),
])
def test_a_malformed_file_is_refused(change, message):
    data = raw()
    change(data)
    with pytest.raises(ValueError, match=message):
        thresholds_from_data(data)


def person(data):
    p, findings = build(data, vocabulary(), TODAY)
    assert p is not None, findings
    return p


def screen(th, **patient):
    p = person({**BASE, **patient})
    return run(p, Context(None, TODAY, vocabulary(), th), screening_rules())


def moved(tid, value):
    data = raw()
    for entry in data["thresholds"]:
        if entry["id"] == tid:
            entry["value"] = value
    return thresholds_from_data(data)


@pytest.mark.parametrize("tid, value, patient, rule", [
    ("bp-systolic-contraindication", 200, {"blood_pressure": "190/90"}, "KD-CI-002"),
    ("heart-rate-high", 140, {"heart_rate": 130}, "KD-CI-012"),
    ("adult-age", 16, {"age": 17}, "KD-CI-008"),
])
def test_the_rules_read_the_data(tid, value, patient, rule):
    """Moving a threshold in the data moves the rule: no literal is left behind in the code."""
    shipped = {(f.rule, f.severity) for f in screen(thresholds(), **patient).findings}
    after = {(f.rule, f.severity) for f in screen(moved(tid, value), **patient).findings}
    assert any(r == rule for r, _ in shipped)
    assert shipped - after and all(r == rule for r, _ in shipped - after)


def test_the_rules_refuse_to_guess_without_thresholds():
    p = person(BASE)
    with pytest.raises(ValueError, match="thresholds"):
        run(p, Context(None, TODAY, vocabulary()), screening_rules())


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=60, max_value=260), st.integers(min_value=30, max_value=160))
def test_blood_pressure_fires_exactly_beyond_the_data(systolic, diastolic):
    assume(diastolic < systolic)  # the patient format refuses the rest
    th = thresholds()
    found = {f.severity for f in screen(th, blood_pressure=f"{systolic}/{diastolic}").findings
             if f.rule == "KD-CI-002"}
    absolute = (systolic > th.value("bp-systolic-contraindication")
                or diastolic > th.value("bp-diastolic-contraindication"))
    caution = not absolute and systolic > th.value("bp-systolic-caution")
    assert found == ({"absolute"} if absolute else {"caution"} if caution else set())


def test_prolonged_course_follows_the_data():
    from ketadose.io.regimens import load_regimen

    r = load_regimen("sci-amr-2010")[1]
    four_days = dataclasses.replace(r, days=4)
    assert Context(four_days, thresholds=thresholds()).prolonged() is True
    assert Context(four_days, thresholds=moved("prolonged-course-days", 4)).prolonged() is False


def test_audit_names_the_thresholds_version(run):
    r = run("check", "--patient", "-", "--format", "json", input=json.dumps(BASE))
    audit = json.loads(r.stdout)["audit"]
    assert audit["thresholds_version"] == thresholds().version
    keys = list(audit)
    assert keys.index("thresholds_version") == keys.index("limits_version") + 1


def test_rules_command_shows_each_rules_thresholds(run):
    r = run("rules", "KD-CI-002")
    assert r.exit_code == 0
    assert f"clinical thresholds version {thresholds().version}" in r.stdout
    for t in thresholds().for_rule("KD-CI-002"):
        assert t.id in r.stdout and f"{t.value:g} {t.unit}" in r.stdout
    listed = json.loads(run("rules", "--format", "json").stdout)
    docs = {x["id"]: x["doc"] for x in listed}
    for t in thresholds().items.values():
        assert all(t.id in docs[rid] for rid in t.rules)


def test_commands_that_do_not_screen_do_not_read_the_thresholds():
    code = ("import sys; from ketadose.cli import main; sys.argv=['ketadose','validate',"
            "'crps-schwartzman-2009']\ntry:\n  main()\nexcept SystemExit:\n  pass\n"
            "print('READ' if 'ketadose.thresholds' in sys.modules else 'CLEAN', file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.stderr.strip().endswith("CLEAN")
