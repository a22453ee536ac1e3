"""Plans reproduce their source trials' numbers; properties of the calculators."""

import csv
import io
import json
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TEMPLATE_NAMES, budget, template_text
from ketadose.dosing import ideal_weight_kg, pump_rate
from ketadose.io.library import limit_library, vocabulary
from ketadose.io.regimens import load_regimen
from ketadose.patient import build
from ketadose.plan import make_plan
from ketadose.units import parse_quantity

IDS = [n[:-5] for n in TEMPLATE_NAMES]


def person(weight="70 kg", height="175 cm", sex="male"):
    p, errors = build({"weight": weight, "height": height, "sex": sex}, vocabulary())
    assert p is not None, errors
    return p


def plan_for(rid, weight="70 kg", **kw):
    _src, regimen, findings = load_regimen(rid)
    conc = kw.pop("concentration", None)
    return make_plan(regimen, person(weight, kw.pop("height", "175 cm")), limit_library(),
                     concentration=parse_quantity(conc) if conc else None,
                     regimen_findings=findings, **kw)


def close(a, b, tol=1e-9):
    return math.isclose(a, b, rel_tol=tol, abs_tol=1e-9)


def test_schwartzman_70kg_and_heavy_patient_cap():
    p = plan_for("crps-schwartzman-2009")
    [ph] = p.phases
    assert close(ph.mg_h, 24.5) and not ph.cap_binds
    assert close(p.totals["max_session_mg"], 98) and close(p.totals["course_mg_max"], 980)
    assert ph.pump.ml_h == 24.5  # 1 mg/mL from the regimen's preparation
    heavy = plan_for("crps-schwartzman-2009", "100 kg")
    [ph] = heavy.phases
    assert ph.mg_h == 25 and ph.cap_binds
    assert close(heavy.totals["max_session_mg"], 100) and close(heavy.totals["course_mg_max"], 1000)
    assert len(heavy.days) == 10


def test_amr_numbers():
    p = plan_for("sci-amr-2010")
    [ph] = p.phases
    assert close(ph.mg_h, 16) and close(ph.dose_mg_max, 80)
    assert ph.pump.ml_h == 100.0  # 80 mg in 500 mL over 5 h
    assert close(p.totals["course_mg_max"], 560) and len(p.days) == 7
    assert p.weight.kg is None  # a fixed dose needs no weight


def test_sigtermans_numbers_and_ceiling():
    p = plan_for("crps-sigtermans-2009")
    [ph] = p.phases
    assert close(ph.mg_h, 5.04) and close(ph.mg_h_max, 30.24)  # docs/evidence.md A1 check values
    assert close(p.totals["course_mg_min"], 504) and close(p.totals["course_mg_max"], 3024)
    assert not p.blocked
    heavy = plan_for("crps-sigtermans-2009", "90 kg")
    [ph] = heavy.phases
    assert ph.ceiling_lowered and close(ph.mg_h_max, 30.24)
    assert "KD-DOSE-003" in {f.rule for f in heavy.findings} and not heavy.blocked


def test_burst_minimum_and_maximum_course():
    p = plan_for("cancer-pain-burst-ketamine", concentration="10 mg/mL")
    assert [round(ph.mg_h, 2) for ph in p.phases] == [4.17, 12.5, 20.83]
    assert [ph.conditional for ph in p.phases] == [False, True, True]
    # at 10 mg/mL the pump delivers 0.4, 1.2 and 2.0 mL/h = 4, 12 and 20 mg/h (96, 288 and
    # 480 mg a day, not 100, 300 and 500): 3 days at step 1 = 288 mg, 96 + 288 + 3 x 480 mg
    assert close(p.totals["course_mg_min"], 288) and close(p.totals["course_mg_max"], 1824)
    assert [d.conditional for d in p.days] == [False, True, True, True, True]
    assert [round(mg) for _n, mg, _ml in p.preparation.syringes] == [96, 288, 480]
    asked = plan_for("cancer-pain-burst-ketamine")  # no concentration: no pump, the rates asked
    assert close(asked.totals["course_mg_min"], 300) and close(asked.totals["course_mg_max"], 1900)


def test_consensus_bolus_and_session():
    p = plan_for("consensus-cohen-2018")
    bolus, infusion = p.phases
    assert close(bolus.bolus_mg, 24.5) and close(infusion.mg_h, 20)
    assert close(p.totals["max_session_mg"], 104.5)


def test_oral_and_topical():
    p = plan_for("oral-marchetti-2015")
    [ph] = p.phases
    assert close(ph.per_dose_mg, 35) and ph.times_per_day == 3
    # the course maximum is the top of the titration (3 mg/kg/day x 70 kg x 90 days), twice the
    # start dose; the minimum is the start dose (0.5 mg/kg x 3 x 70 kg x 90 days)
    assert close(p.totals["course_mg_max"], 3 * 70 * 90)
    assert close(p.totals["course_mg_min"], 105 * 90)
    t = plan_for("topical-rabi-2016")
    [ph] = t.phases
    assert ph.strength == "10%" and ph.times_per_day == 3 and t.totals["course_mg_max"] is None


def test_goldberg_and_ketcrps2():
    g = plan_for("crps-goldberg-2010", concentration="1 mg/mL")
    assert close(g.phases[0].mg_h, 10) and close(g.phases[0].mg_h_max, 40)
    assert close(g.totals["course_mg_min"], 1200) and close(g.totals["course_mg_max"], 4800)
    k = plan_for("crps-ketcrps2-esketamine")
    assert close(k.phases[0].mg_h, 3.5) and close(k.phases[0].mg_h_max, 14)
    assert close(k.totals["course_mg_max"], 14 * 144)


def test_devine_ideal_weight():
    # 5 ft 10 in man: 50 + 2.3 x 10 = 73 kg; same height woman: 45.5 + 23 = 68.5 kg
    assert close(ideal_weight_kg("male", 70 * 2.54), 73.0)
    assert close(ideal_weight_kg("female", 70 * 2.54), 68.5)


@settings(max_examples=budget(200), deadline=None)
@given(st.floats(min_value=0.1, max_value=200), st.sampled_from([0.16, 1.0, 2.0, 10.0, 50.0]))
def test_pump_rate_times_concentration_is_mg_per_h(mg_h, conc):
    pump = pump_rate(mg_h, conc)
    assert close(pump.mg_h_delivered, pump.ml_h * conc)
    # never above the rate asked, and less than one 0.1 mL/h step below it
    assert -1e-9 <= mg_h / conc - pump.ml_h < 0.1 + 1e-9
    assert pump.mg_h_delivered <= mg_h * (1 + 1e-12)
    assert close(pump.error_mg_h, pump.mg_h_delivered - mg_h)
    assert abs(round(pump.ml_h * 10) - pump.ml_h * 10) < 1e-9


@settings(max_examples=budget(100), deadline=None)
@given(st.floats(min_value=0.1, max_value=200), st.floats(min_value=0.5, max_value=5))
def test_pump_never_rounds_above_a_cap(mg_h, conc):
    pump = pump_rate(mg_h, conc, ceiling_mg_h=mg_h)
    assert pump.mg_h_delivered <= mg_h * (1 + 1e-12)


@settings(max_examples=budget(80), deadline=None)
@given(st.floats(min_value=30, max_value=250))
def test_rates_scale_with_weight_until_the_cap(kg):
    p = plan_for("crps-schwartzman-2009", f"{kg!r} kg", height="250 cm")
    [ph] = p.phases
    assert close(ph.mg_h, min(0.35 * kg, 25.0))
    assert ph.mg_h <= 25.0 + 1e-12
    assert ph.cap_binds == (0.35 * kg > 25.0)


@settings(max_examples=budget(80), deadline=None)
@given(st.sampled_from(IDS), st.floats(min_value=35, max_value=250),
       st.sampled_from([None, "1 mg/mL", "2 mg/mL"]))
def test_no_accepted_plan_exceeds_a_hard_limit_and_totals_add_up(rid, kg, conc):
    p = plan_for(rid, f"{kg!r} kg", height="250 cm", concentration=conc)
    lib = limit_library()
    if not p.blocked:
        for ph in p.phases:
            if ph.mg_h_max is None or ph.kind == "bolus":
                continue
            for measure, value in (("rate", ph.mg_h_max), ("rate_per_kg",
                                                           ph.mg_h_max / kg if p.weight.kg else None)):
                for lim in lib.find(p.regimen.drug, p.regimen.route, measure):
                    _s, hard, _n, _u = lim.bounds(p.regimen.setting)
                    if hard is not None and value is not None:
                        unit = parse_quantity(f"1 {lim.unit}")
                        limit_mg_h = hard * unit.magnitude("mg/kg/h" if measure == "rate_per_kg" else "mg/h")
                        assert value <= limit_mg_h * (1 + 1e-9)
    days = p.days
    if days and days[-1].cumulative_mg_max is not None:
        assert close(days[-1].cumulative_mg_max, sum(d.dose_mg_max for d in days), 1e-9)
        assert close(p.totals["course_mg_max"], sum(d.dose_mg_max for d in days), 1e-9)
    if p.totals["max_session_mg"] is not None:
        assert close(p.totals["max_session_mg"], sum(ph.dose_mg_max for ph in p.phases), 1e-9)


# ----------------------------------------------------------------------------- CLI


PATIENT = {"age": 45, "sex": "female", "weight": "72 kg", "height": "168 cm", "pregnant": False,
           "breastfeeding": False, "blood_pressure": "128/82", "heart_rate": 72, "conditions": [],
           "liver": {"alt": "40 U/L", "alt_uln": "45 U/L", "ast": "35 U/L", "ast_uln": "40 U/L",
                     "alp": "90 U/L", "alp_uln": "130 U/L", "ggt": "30 U/L", "ggt_uln": "40 U/L",
                     "bilirubin": "12 umol/L"},
           "medications": [{"name": "morphine", "dose": "60 mg/day", "route": "oral"}],
           "allergies": [], "previous_courses": []}


@pytest.fixture
def patient_path(write):
    return write(yaml.safe_dump(PATIENT), "patient.yaml")


CONTRACT = {"ketadose_version", "regimen", "patient", "screen", "sessions", "totals",
            "preparation", "adjuncts", "monitoring", "warnings"}


@pytest.mark.parametrize("rid", IDS)
def test_json_contract_for_every_template(run, patient_path, rid):
    from ketadose.io.regimens import load_regimen

    # a topical has no concentration to choose: --concentration on it is an error (issue 16)
    conc = [] if load_regimen(rid)[1].route == "topical" else ["--concentration", "1mg/mL"]
    r = run("plan", rid, "--patient", patient_path, "--format", "json", *conc)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert CONTRACT <= set(data)
    assert set(data["regimen"]) >= {"id", "title", "sha256"}
    assert set(data["patient"]) >= {"dosing_weight_kg", "weight_basis"}
    assert set(data["screen"]) >= {"status", "findings", "not_assessed"}
    assert set(data["totals"]) >= {"max_session_mg", "max_daily_mg", "course_mg_min", "course_mg_max"}
    for s in data["sessions"]:
        assert set(s) >= {"day", "index", "conditional", "phases", "dose_mg"}
        for ph in s["phases"]:
            assert set(ph) >= {"name", "rate_mg_per_h", "rate_ml_per_h", "duration_h", "dose_mg"}


def test_plan_is_byte_identical_run_to_run(run, patient_path):
    args = ("plan", "crps-sigtermans-2009", "--patient", patient_path, "--format", "json",
            "--start", "2026-12-01T09:00", "--reproducible")
    assert run(*args).stdout == run(*args).stdout


def test_csv_one_row_per_phase_of_each_session(run, patient_path):
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 10 and rows[0]["rate_mg_per_h"] == "25.0" and rows[0]["rate_ml_per_h"] == "25.0"


def test_table_shows_the_main_sections(run, patient_path):
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--start", "2026-12-01T09:00")
    assert r.exit_code == 0
    for text in ("Dosing weight", "Session", "Course calendar", "Preparation", "Adjuncts",
                 "Monitoring", "Stop rules", "Retreatment", "25.0 mL/h", "capped", "2026-12-10"):
        assert text in r.stdout, text


def test_contraindicated_patient_gets_no_plan_without_override(run, write):
    path = write(yaml.safe_dump({**PATIENT, "conditions": ["active-psychosis"]}), "p.yaml")
    r = run("plan", "crps-schwartzman-2009", "--patient", path, "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["sessions"] is None
    r = run("plan", "crps-schwartzman-2009", "--patient", path, "--format", "json",
            "--override", "psychiatrist reviewed: in remission for 5 years")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["override"].startswith("psychiatrist") and data["sessions"]


def test_hard_limit_blocks_the_plan(run, write, patient_path):
    text = template_text().replace("id: crps-schwartzman-2009", "id: high-rate").replace(
        "rate: 0.35 mg/kg/h", "rate: 0.9 mg/kg/h").replace("      max_rate: 25 mg/h           # \"not to exceed 25 mg/h\" [P]\n", "")
    text = text.replace("format: 1\n", "format: 1\nconfirm: {KD-LIM-001: \"local protocol, monitored unit\", KD-LIM-004: \"local protocol, monitored unit\", KD-LIM-005: \"local protocol, monitored unit\"}\n")
    path = write(text, "high.yaml")
    assert run("validate", path).exit_code == 0
    r = run("plan", path, "--patient", patient_path, "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["sessions"] is None and any(w["rule"] == "KD-LIM-002" and w["severity"] == "error"
                                            for w in data["warnings"])
    assert "hard limit" in r.stderr


def test_weight_is_required_for_per_kg_regimens(run):
    r = run("plan", "crps-schwartzman-2009", "--age", "40")
    assert r.exit_code == 2 and "weight is required" in r.stderr


def test_ideal_weight_needs_height(run):
    r = run("plan", "crps-schwartzman-2009", "--weight", "120kg", "--weight-basis", "ideal")
    assert r.exit_code == 2 and "height" in r.stderr


def test_obese_patient_sees_all_three_weights(run):
    r = run("plan", "crps-schwartzman-2009", "--weight", "120kg", "--height", "170cm", "--sex", "male",
            "--weight-basis", "adjusted", "--format", "json")
    data = json.loads(r.stdout)
    [f] = [w for w in data["warnings"] if w["rule"] == "KD-DOSE-001"]
    assert "actual 120" in f["message"] and "ideal" in f["message"] and "adjusted" in f["message"]
    assert data["patient"]["weight_basis"] == "adjusted"
    assert data["patient"]["dosing_weight_kg"] == round(data["patient"]["adjusted_weight_kg"], 2)


def test_bad_concentration_is_exit_2(run, patient_path):
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--concentration", "1 mg")
    assert r.exit_code == 2


def test_titration_staircase_with_step_times(write):
    """A timed titration: 10 -> 20 -> 30 mg/h every hour over 4 h gives 10 + 20 + 30 x 2 = 90 mg."""
    from ketadose.io.regimens import read_source
    from ketadose.regimen import build as build_regimen

    text = template_text("crps-goldberg-2010.yaml").replace(
        "      start: 10 mg/h              # \"titrated from 10-40 mg/hr\" [P]\n      max: 40 mg/h\n      duration: 120 h",
        "      start: 10 mg/h\n      step: 10 mg/h\n      step_every: 1 h\n      max: 30 mg/h\n      duration: 4 h")
    text = text.replace("  pattern: continuous\n  days: 5", "  pattern: daily\n  days: 1")
    regimen, errors = build_regimen(read_source(write(text, "stair.yaml")).doc.data)
    assert regimen is not None, errors
    plan = make_plan(regimen, person(), limit_library())
    [ph] = plan.phases
    assert [s.mg_h for s in ph.steps] == [10, 20, 30] and [s.t_h for s in ph.steps] == [0, 1, 2]
    assert close(ph.dose_mg_max, 90) and close(ph.dose_mg_min, 40)
    assert [s.pump for s in ph.steps] == [None, None, None]  # no concentration given


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "csv", "fhir", "html"])
def test_titration_ceiling_carries_the_unverified_mark_in_every_format(fmt):
    """KD-DOSE-003's 'steps stop at 30.2 mg/h' is the UNVERIFIED 7.2 mcg/kg/min hard limit
    (KD-LIM-102, docs/evidence.md A1, G1): the finding carries the limit's note like the KD-LIM
    findings do, so every format shows the mark beside the number. It had unverified: null."""
    import subprocess
    import sys

    heavy = plan_for("crps-sigtermans-2009", "90 kg")
    [f] = [f for f in heavy.findings if f.rule == "KD-DOSE-003"]
    assert f.unverified and "7.2 mcg/kg/min" in f.unverified
    out = subprocess.run([sys.executable, "-m", "ketadose", "plan", "crps-sigtermans-2009",
                          "--weight", "90 kg", "--height", "175 cm", "--sex", "male",
                          "--format", fmt, "--reproducible"],
                         capture_output=True, text=True, env={**__import__("os").environ,
                                                              "COLUMNS": "400"})
    assert out.returncode == 0, out.stderr
    if fmt in ("json", "yaml"):
        doc = json.loads(out.stdout) if fmt == "json" else yaml.safe_load(out.stdout)
        found: list = []

        def walk(o):
            if isinstance(o, dict):
                if o.get("rule") == "KD-DOSE-003":
                    found.append(o)
                for v in o.values():
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(doc)
        assert found and all(x.get("unverified") == f.unverified
                             or "UNVERIFIED" in x.get("detail", "") for x in found), found
    elif fmt == "csv":
        rows = [r for r in csv.DictReader(io.StringIO(out.stdout))
                if "KD-DOSE-003" in r.get("findings", "")]
        assert rows and all(r["unverified"] for r in rows)
    else:
        import re
        text = " ".join(re.sub(r"<[^>]+>", "", out.stdout).split())
        at = text.index("steps stop at 30.2 mg/h")
        assert "UNVERIFIED" in text[at:at + 80], text[at:at + 200]


def test_titration_ceiling_from_verified_limits_has_no_mark():
    """A ceiling set only by limits without an UNVERIFIED note leaves the finding unmarked."""
    from ketadose.plan import ceiling_unverified

    assert ceiling_unverified([(30.0, None), (40.0, "x")], 30.0) is None
    assert ceiling_unverified([(30.0, "a"), (30.0, "a"), (40.0, "x")], 30.0) == "a"
    assert ceiling_unverified([], None) is None
