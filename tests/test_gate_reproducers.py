"""Issue 13's reproducers, through the CLI, with the expected numbers computed by hand.

Each was exit 0 with an unsafe plan before the safety gate (ketadose/gate.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import template_data

SRC = "test input (tests/test_gate_reproducers.py), not a clinical regimen"


def plan_json(run, *args):
    result = run("plan", *args, "--format", "json")
    return result, (json.loads(result.stdout) if result.stdout else None)


def regimen_file(write, base, phases, name="r.yaml", **top):
    data = template_data(base)
    data.update(top)
    data["schedule"]["phases"] = [{"source": SRC, **p} for p in phases]
    return write(data, name)


def test_devine_below_five_feet_is_refused_in_one_line():
    # Devine at 100 cm, female: 45.5 + 2.3 x (100 / 2.54 - 60) = -1.95 kg: refused, exit 2
    proc = subprocess.run([sys.executable, "-m", "ketadose", "plan", "crps-schwartzman-2009",
                           "--weight", "30kg", "--height", "100cm", "--sex", "female",
                           "--weight-basis", "ideal"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert "not defined below 152.4 cm (5 ft)" in line and "use --weight-basis actual" in line
    # the same patient on actual weight: 0.35 x 30 = 10.5 mg/h (BMI 30: plausible)
    ok = subprocess.run([sys.executable, "-m", "ketadose", "plan", "crps-schwartzman-2009",
                         "--weight", "30kg", "--height", "100cm", "--sex", "female",
                         "--weight-basis", "actual", "--format", "json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    [phase] = json.loads(ok.stdout)["sessions"][0]["phases"]
    assert phase["rate_mg_per_h"] == 10.5 and phase["rate_ml_per_h"] == 10.5


def test_mg_per_h_titration_is_held_to_the_per_kg_limit_of_a_25_kg_child(run):
    # Goldberg titrates 10-40 mg/h. At 25 kg the hard limit 1 mg/kg/h is 25 mg/h: the titration
    # stops there (KD-DOSE-003) instead of reaching 40 mg/h = 1.6 mg/kg/h. 25 mg/h = 1 mg/kg/h
    # is above the soft 0.5 mg/kg/h, which the template confirms (KD-LIM-001, info).
    # (age 8 is a relative contraindication in the screen: the clinician overrides it)
    result, data = plan_json(run, "crps-goldberg-2010", "--weight", "25kg", "--age", "8",
                             "--concentration", "1mg/mL", "--override", "test: paediatric team")
    assert result.exit_code == 0, result.stderr
    [phase] = data["sessions"][0]["phases"]
    assert phase["rate_mg_per_h_max"] == 25.0 and phase["steps"][-1]["rate_ml_per_h"] == 25.0
    rules = {(w["rule"], w["severity"]) for w in data["warnings"]}
    assert {("KD-DOSE-003", "warning"), ("KD-LIM-001", "info")} <= rules
    msg = next(w["message"] for w in data["warnings"] if w["rule"] == "KD-LIM-001")
    assert "per kg of actual weight (25 kg) 1 mg/kg/h" in msg
    # without the template's confirmation the same plan is refused (exit 1)
    from ketadose.io.library import limit_library, vocabulary
    from ketadose.io.regimens import load_regimen
    from ketadose.patient import build
    from ketadose.plan import make_plan

    regimen = load_regimen("crps-goldberg-2010")[1]
    bare = regimen.__class__(**{**regimen.__dict__, "confirm": {}})
    child, _ = build({"weight": "25 kg", "age": 8}, vocabulary())
    plan = make_plan(bare, child, limit_library())
    assert plan.blocked and any(f.rule == "KD-LIM-001" and f.severity == "error"
                                for f in plan.findings)


def test_fixed_mg_per_h_infusion_above_the_per_kg_hard_limit_is_refused(run, write):
    # 40 mg/h for 25 kg = 1.6 mg/kg/h > 1 mg/kg/h (hard, KD-LIM-001); the regimen has no per-kg
    # dose, which used to skip the per-kg limits
    path = regimen_file(write, "sci-amr-2010.yaml", [
        {"name": "i", "kind": "infusion", "rate": "40 mg/h", "duration": "4 h"}],
        confirm={"KD-LIM-002": "test input: reaching 40 mg/h on purpose"})
    result, data = plan_json(run, path, "--weight", "25kg", "--age", "30", "--height", "120cm",
                             "--override", "test: confirmed")
    assert result.exit_code == 1
    [err] = [w for w in data["warnings"] if w["severity"] == "error"]
    assert err["rule"] == "KD-LIM-001" and "1.6 mg/kg/h is above the hard limit" in err["message"]


def test_500_mg_bolus_in_25_kg_is_refused_on_mg_per_kg_and_push_rate(run, write):
    # 500 mg / 25 kg = 20 mg/kg (hard >= 1 mg/kg, KD-LIM-003); over 5 min = 4 mg/kg/min
    # (hard 0.5 mg/kg/min, KD-LIM-009)
    path = regimen_file(write, "consensus-cohen-2018.yaml", [
        {"name": "b", "kind": "bolus", "dose": "500 mg", "over": "5 min"}])
    result, data = plan_json(run, path, "--weight", "25kg", "--age", "30", "--height", "120cm")
    assert result.exit_code == 1
    errors = {w["rule"]: w["message"] for w in data["warnings"] if w["severity"] == "error"}
    assert "20 mg/kg" in errors["KD-LIM-003"] and "4 mg/kg/min" in errors["KD-LIM-009"]


def test_oral_500_mg_six_times_a_day_needs_confirmation(run, write):
    # 500 mg x 6 = 3000 mg/day / 25 kg = 120 mg/kg/day > soft 3 mg/kg/day (KD-LIM-020)
    path = regimen_file(write, "oral-marchetti-2015.yaml", [
        {"name": "o", "kind": "oral", "dose": "500 mg", "times_per_day": 6}])
    result, data = plan_json(run, path, "--weight", "25kg", "--age", "30", "--height", "120cm")
    assert result.exit_code == 1
    [w] = [w for w in data["warnings"] if w["rule"] == "KD-LIM-020"]
    assert w["severity"] == "error" and "120 mg/kg/day" in w["message"]
    result, data = plan_json(run, path, "--weight", "25kg", "--age", "30", "--height", "120cm",
                             "--override", "test: confirmed by the prescriber")
    assert result.exit_code == 0
    [w] = [w for w in data["warnings"] if w["rule"] == "KD-LIM-020"]
    assert w["severity"] == "info" and "confirmed with --override" in w["message"]


def test_bag_follows_the_session_dose_and_the_concentration(run):
    # Schwartzman, 50 kg: 0.35 x 50 = 17.5 mg/h x 4 h = 70 mg a session asked.
    # At 50 mg/mL the pump rate 0.35 mL/h is programmed 0.3 mL/h = 15 mg/h (-14.3%), so the
    # session delivers 15 x 4 = 60 mg and the bag is 60 / 50 = 1.2 mL holding 60 mg (not "5000
    # mg in 100 mL"); KD-GATE-002 suggests 5 mg/mL (17.5 / 5 = 3.5 mL/h exactly).
    result, data = plan_json(run, "crps-schwartzman-2009", "--weight", "50kg",
                             "--concentration", "50mg/mL", "--override", "test: fluid restriction")
    assert result.exit_code == 0, result.stderr
    prep = data["preparation"]
    assert (prep["drug_mg"], prep["final_volume_ml"], prep["need_mg"], prep["discard_mg"]) == (
        pytest.approx(60.0), pytest.approx(1.2), pytest.approx(60.0), None)
    [phase] = data["sessions"][0]["phases"]
    assert (phase["rate_ml_per_h"], phase["rate_mg_per_h_delivered"]) == (0.3, 15.0)
    assert phase["rounding_error_pct"] == pytest.approx(-14.29, abs=0.01)
    [w] = [w for w in data["warnings"] if w["rule"] == "KD-GATE-002"]
    assert "(-14.3%)" in w["message"] and "at 5 mg/mL the error is under 1%" in w["message"]
    # at the regimen's own 1 mg/mL the standard 100 mL bag is kept: discard 30 mL = 30 mg
    result, data = plan_json(run, "crps-schwartzman-2009", "--weight", "50kg")
    prep = data["preparation"]
    assert (prep["drug_mg"], prep["final_volume_ml"], prep["need_mg"]) == (100.0, 100.0, 70.0)
    assert (prep["discard_ml"], prep["discard_mg"]) == (30.0, 30.0)
    # with 20 mL of priming: 70 mg + 20 mL x 1 mg/mL = 90 mg, discard 10 mL
    result, data = plan_json(run, "crps-schwartzman-2009", "--weight", "50kg", "--priming", "20")
    assert data["preparation"]["discard_ml"] == pytest.approx(10.0)


def test_sc_burst_at_10_mg_per_ml_never_rounds_above_500_mg_per_24_h(run):
    # 500 mg/24 h = 20.833 mg/h / 10 mg/mL = 2.083 mL/h: programmed 2.0 mL/h = 20 mg/h =
    # 480 mg/24 h (half up gave 2.1 mL/h = 504 mg/24 h, above the 500 mg/24 h hard limit)
    result, data = plan_json(run, "cancer-pain-burst-ketamine", "--weight", "70kg",
                             "--concentration", "10mg/mL")
    assert result.exit_code == 0, result.stderr
    rates = [(p["rate_ml_per_h"], p["rate_mg_per_h_delivered"])
             for p in data["sessions"][0]["phases"]]
    assert rates == [(0.4, 4.0), (1.2, 12.0), (2.0, 20.0)]


def test_fast_bolus_push_is_refused_at_validation(run, write):
    # 0.35 mg/kg over 0.1 min = 3.5 mg/kg/min > 0.5 mg/kg/min (KD-LIM-009), and 0.1 min is
    # under the 60 s minimum (KD-LIM-011)
    path = regimen_file(write, "consensus-cohen-2018.yaml", [
        {"name": "b", "kind": "bolus", "dose": "0.35 mg/kg", "over": "0.1 min"}])
    result = run("validate", path)
    assert result.exit_code == 1
    text = result.stdout
    assert "KD-LIM-009" in text and "KD-LIM-011" in text and "3.5 mg/kg/min" in text


def test_icu_lifts_only_what_the_regimen_confirms(run, write):
    # 6.9 mg/kg/h x 150 kg = 1035 mg/h. With setting: icu and only KD-LIM-001 confirmed, the
    # absolute 40 mg/h hard limit (KD-LIM-002) still applies: refused at validation.
    phases = [{"name": "i", "kind": "infusion", "rate": "6.9 mg/kg/h", "duration": "4 h"}]
    path = regimen_file(write, "crps-schwartzman-2009.yaml", phases, setting="icu",
                        confirm={"KD-LIM-001": "test input: an ICU protocol, intubated"})
    result, data = plan_json(run, path, "--weight", "150kg", "--height", "190cm")
    assert result.exit_code in (1, 2)
    assert "KD-LIM-002" in (result.stderr + json.dumps(data))
    # without any confirm, setting: icu lifts nothing: 6.9 mg/kg/h > 1 mg/kg/h hard
    path = regimen_file(write, "crps-schwartzman-2009.yaml", phases, name="b.yaml",
                        setting="icu", confirm={})
    checked = run("validate", path)
    assert checked.exit_code == 1 and "KD-LIM-001" in checked.stdout


def test_a_concentration_of_0_01_mg_per_ml_is_refused(run):
    # 17.5 mg/h at 0.01 mg/mL would be 1750 mL/h and a 7 L bag: below the 0.1 mg/mL guard
    result, data = plan_json(run, "crps-schwartzman-2009", "--weight", "50kg",
                             "--concentration", "0.01mg/mL")
    assert result.exit_code == 1
    [w] = [w for w in data["warnings"] if w["rule"] == "KD-LIM-016"]
    assert w["severity"] == "error" and "not a clinical limit" in w["message"]
    assert w["unverified"]  # the mark travels with the finding


def test_iv_regimen_at_home_is_a_hard_error_in_validate(run, write):
    data = template_data("crps-goldberg-2010.yaml")
    data["setting"] = "home"
    result = run("validate", write(data), "--format", "json")
    assert result.exit_code == 1 and "KD-V021" in result.stdout


def test_per_kg_rate_missing_its_kg_is_a_warning_with_the_intended_value(run, write):
    path = regimen_file(write, "crps-schwartzman-2009.yaml", [
        {"name": "i", "kind": "infusion", "rate": "0.35 mg/h", "duration": "4 h"}])
    result = run("validate", path)
    assert "KD-V023" in result.stdout and "did you mean 0.35 mg/kg/h (= 24.5 mg/h at 70 kg)" \
        in result.stdout


def test_gate_findings_reach_every_format(run):
    # KD-GATE-002 (-14.3% at 50 mg/mL) on table, CSV, FHIR and HTML as on JSON
    args = ("crps-schwartzman-2009", "--weight", "50kg", "--concentration", "50mg/mL",
            "--override", "test: fluid restriction")
    for fmt in ("table", "csv", "fhir", "html", "yaml"):
        out = run("plan", *args, "--format", fmt)
        assert out.exit_code == 0, (fmt, out.stderr)
        assert "KD-GATE-002" in out.stdout, fmt
    explained = run("plan", *args, "--explain")
    assert "infusion: delivered rate per kg of actual weight (50 kg): 0.3 mg/kg/h" in explained.stdout


def test_gate_findings_reach_batch_records(run, write):
    patients = write("\n".join(json.dumps(p) for p in (
        {"id": "a", "weight": "50 kg", "age": 40},
        {"id": "b", "weight": "30 kg", "height": "100 cm", "sex": "female", "age": 40})) + "\n",
        "p.jsonl")
    out = run("plan", "crps-schwartzman-2009", "--patients", patients, "--format", "jsonl",
              "--concentration", "50mg/mL")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["exit"] for r in records] == [1, 1]
    assert any(w["rule"] == "KD-LIM-006" for w in records[0]["warnings"])
    assert any(w["rule"] == "KD-GATE-002" for w in records[0]["warnings"])


def test_an_invariant_failure_is_an_internal_error_never_a_plan():
    """KD-GATE-001: a negative, zero or non-finite delivered number, a pump above the rate
    asked, or a bag short of the session is our bug: GateError (exit 3), no plan."""
    from dataclasses import replace

    from ketadose import gate
    from ketadose.io.library import limit_library, vocabulary
    from ketadose.io.regimens import load_regimen
    from ketadose.patient import build
    from ketadose.plan import make_plan
    from ketadose.units import parse_quantity

    patient, _ = build({"weight": "50 kg", "age": 40}, vocabulary())
    plan = make_plan(load_regimen("crps-schwartzman-2009")[1], patient, limit_library(),
                     concentration=parse_quantity("1 mg/mL"))
    gate.invariants(plan)  # the real plan holds
    [phase] = plan.phases
    broken = [
        replace(plan, weight=replace(plan.weight, kg=-1.95)),
        replace(plan, phases=(replace(phase, mg_h=float("nan")),)),
        replace(plan, phases=(replace(phase, duration_h=0.0),)),
        replace(plan, phases=(replace(phase, pump=replace(phase.pump, mg_h_delivered=18.0)),)),
        replace(plan, preparation=replace(plan.preparation, final_volume_ml=60.0, drug_mg=60.0)),
        replace(plan, totals={**plan.totals, "course_mg_max": float("inf")}),
    ]
    for bad in broken:
        with pytest.raises(gate.GateError, match="^KD-GATE-001 internal error, no plan"):
            gate.invariants(bad)


def _fhir_dosages(out):
    doc = json.loads(out.stdout)
    return [d for e in doc["entry"] for d in e["resource"].get("dosageInstruction", [])]


def test_fhir_rate_is_the_delivered_rate_and_the_text_keeps_the_rate_asked(run):
    # Schwartzman, 50 kg, 50 mg/mL: asked 17.5 mg/h, the pump runs 0.3 mL/h = 15 mg/h (issue #13:
    # every format shows what is delivered). At 1 mg/mL nothing rounds: no "asked" text.
    out = run("plan", "crps-schwartzman-2009", "--weight", "50kg", "--concentration", "50mg/mL",
              "--override", "test: fluid restriction", "--format", "fhir")
    assert out.exit_code == 0, out.stderr
    rated = [d for d in _fhir_dosages(out) if "rateQuantity" in d.get("doseAndRate", [{}])[0]]
    assert rated and all(d["doseAndRate"][0]["rateQuantity"]["value"] == 15.0 for d in rated)
    assert all("asked 17.5 mg/h, delivered 15 mg/h" in d["text"] for d in rated)
    out = run("plan", "crps-schwartzman-2009", "--weight", "50kg", "--format", "fhir")
    rated = [d for d in _fhir_dosages(out) if "rateQuantity" in d.get("doseAndRate", [{}])[0]]
    assert rated and all(d["doseAndRate"][0]["rateQuantity"]["value"] == 17.5
                         and "asked" not in d["text"] for d in rated)


def test_sc_rate_above_the_syringe_driver_setting_is_refused(run):
    # KD-LIM-019 (device setting, 100 mL/h): 500 mg/24 h at 0.1 mg/mL = 208 mL/h on a driver
    out = run("plan", "cancer-pain-burst-ketamine", "--weight", "70kg", "--concentration",
              "0.1mg/mL", "--format", "json")
    assert out.exit_code == 1
    assert "KD-LIM-019" in out.stdout
