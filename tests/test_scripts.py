"""Batch runs, output contracts (JSON Schemas), -o/--force/--quiet, colour, FHIR export."""

import json
import os

import jsonschema
import pytest
import yaml
from test_plan import PATIENT

from ketadose.output_schemas import SCHEMAS

CSV_HEADER = ("id,age,sex,weight,height,pregnant,breastfeeding,blood_pressure,heart_rate,conditions,"
              "medications,allergies,alt,alt_uln,previous_courses\n")


def jsonl_and_csv(tmp_path, n=30):
    rows_j, rows_c = [], [CSV_HEADER]
    for i in range(n):
        weight = 50 + (i * 7) % 80
        meds = ["morphine:60 mg/day"] if i % 3 == 0 else []
        rec = {"id": f"p{i}", "age": 30 + i % 40, "sex": "female" if i % 2 else "male",
               "weight": f"{weight} kg", "height": "170 cm", "pregnant": False, "breastfeeding": False,
               "blood_pressure": "120/80", "heart_rate": 70, "conditions": [],
               "medications": [{"name": m.split(":")[0], "dose": m.split(":")[1]} for m in meds],
               "allergies": [], "liver": {"alt": "30 U/L", "alt_uln": "45 U/L"}, "previous_courses": []}
        rows_j.append(json.dumps(rec))
        rows_c.append(f"p{i},{rec['age']},{rec['sex']},{weight} kg,170 cm,false,false,120/80,70,none,"
                      f"{';'.join(meds) or 'none'},none,30 U/L,45 U/L,none\n")
    j = tmp_path / "p.jsonl"
    c = tmp_path / "p.csv"
    j.write_text("\n".join(rows_j) + "\n")
    c.write_text("".join(rows_c))
    return str(j), str(c)


def lines(text):
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def test_jsonl_and_csv_give_identical_plans(run, tmp_path):
    j, c = jsonl_and_csv(tmp_path)
    a = lines(run("plan", "crps-schwartzman-2009", "--patients", j, "--format", "jsonl").stdout)
    b = lines(run("plan", "crps-schwartzman-2009", "--patients", c, "--format", "jsonl").stdout)
    assert len(a) == len(b) == 30
    assert [x["plan"] for x in a] == [y["plan"] for y in b]
    assert [x["id"] for x in a] == [f"p{i}" for i in range(30)]  # input order
    for record in a:
        jsonschema.validate(record, SCHEMAS["batch"])
        jsonschema.validate(record["plan"], SCHEMAS["plan"])


def test_bad_records_give_error_records_and_the_batch_goes_on(run, tmp_path):
    path = tmp_path / "mixed.jsonl"
    good = json.dumps({**PATIENT, "id": "ok"})
    path.write_text("\n".join([good, "{not json", json.dumps({**PATIENT, "weight": "700 kg"}),
                               "[1, 2]", good]) + "\n")
    r = run("check", "crps-schwartzman-2009", "--patients", str(path), "--format", "jsonl")
    recs = lines(r.stdout)
    assert [x["line"] for x in recs] == [1, 2, 3, 4, 5]
    assert [x["exit"] for x in recs] == [0, 2, 2, 2, 0]
    assert "outside" in recs[2]["error"]
    assert r.exit_code == 2  # the worst of all records


def test_batch_exit_1_when_a_patient_is_contraindicated(run, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({**PATIENT, "conditions": ["active-psychosis"]}) + "\n"
                    + json.dumps(PATIENT) + "\n")
    r = run("plan", "crps-schwartzman-2009", "--patients", str(path), "--format", "jsonl")
    recs = lines(r.stdout)
    assert r.exit_code == 1 and recs[0]["blocked"] and recs[0]["plan"] is None and recs[1]["plan"]


def test_batch_from_stdin_and_usage(run):
    r = run("check", "--patients", "-", "--format", "jsonl", input=json.dumps(PATIENT) + "\n")
    assert r.exit_code == 0 and lines(r.stdout)[0]["status"] in ("clear", "caution")
    assert run("check", "--patients", "-", "--format", "json", input="").exit_code == 2
    assert run("check", "--patients", "-", "--weight", "70kg", "--format", "jsonl", input="").exit_code == 2


def test_bad_csv_header_is_an_input_error(run, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,wieght\n1,70\n")
    r = run("check", "--patients", str(path), "--format", "jsonl")
    assert r.exit_code == 2 and "wieght" in r.stderr


def test_over_long_line_is_an_error_record(run, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"notes": "' + "x" * 70000 + '"}\n' + json.dumps(PATIENT) + "\n")
    recs = lines(run("check", "--patients", str(path), "--format", "jsonl",
                     "--max-line", "64KiB").stdout)
    assert recs[0]["exit"] == 2 and "longer" in recs[0]["error"] and recs[1]["exit"] == 0


@pytest.fixture
def patient_path(write):
    return write(yaml.safe_dump(PATIENT), "patient.yaml")


def test_outputs_match_their_schemas(run, patient_path, write):
    for what in SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(SCHEMAS[what])
        schema = json.loads(run("schema", what).stdout)
        assert schema == SCHEMAS[what]
    plan = json.loads(run("plan", "crps-sigtermans-2009", "--patient", patient_path, "--format", "json").stdout)
    jsonschema.validate(plan, SCHEMAS["plan"])
    check = json.loads(run("check", "sci-amr-2010", "--patient", patient_path, "--format", "json").stdout)
    jsonschema.validate(check, SCHEMAS["check"])
    bad = write("format: 1\nid: Bad\n", "bad.yaml")
    found = json.loads(run("validate", bad, "--format", "json").stdout)
    assert found
    jsonschema.validate(found, SCHEMAS["validate"])


def test_output_file_is_atomic_and_never_overwritten_silently(run, patient_path, tmp_path):
    out = tmp_path / "plan.json"
    r = run("plan", "sci-amr-2010", "--patient", patient_path, "--format", "json", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == "" and json.loads(out.read_text())["regimen"]["id"] == "sci-amr-2010"
    before = out.read_text()
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--format", "json", "-o", str(out))
    assert r.exit_code == 2 and out.read_text() == before
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--format", "json",
            "-o", str(out), "--force")
    assert r.exit_code == 0 and "crps-schwartzman-2009" in out.read_text()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".ketadose-")]


def test_quiet_silences_diagnostics(run, tmp_path):
    assert "checked" in run("validate", "crps-schwartzman-2009").stdout
    assert "checked" not in run("validate", "crps-schwartzman-2009", "--quiet").stdout
    out = tmp_path / "x.yaml"
    assert run("new", "--from", "sci-amr-2010", "-o", str(out), "-q").stderr == ""


def test_no_colour_when_piped_or_no_color(run, patient_path):
    for env in (None, {"NO_COLOR": "1"}):
        r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, env=env)
        assert "\x1b[" not in r.stdout


def test_fhir_bundle_validates(run, patient_path):
    from fhir.resources.R4B.bundle import Bundle

    for rid in ("crps-schwartzman-2009", "crps-sigtermans-2009", "cancer-pain-burst-ketamine",
                "oral-marchetti-2015", "consensus-cohen-2018"):
        r = run("plan", rid, "--patient", patient_path, "--format", "fhir", "--start", "2026-12-01T09:00")
        data = json.loads(r.stdout)
        bundle = Bundle.model_validate(data)
        kinds = [e.resource.get_resource_type() for e in bundle.entry]
        assert set(kinds) == {"MedicationRequest"}
        first = data["entry"][0]["resource"]["dosageInstruction"][0]
        assert "doseAndRate" in first and "timing" in first
    schwartzman = json.loads(run("plan", "crps-schwartzman-2009", "--patient", patient_path,
                                 "--format", "fhir").stdout)
    rate = schwartzman["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]
    assert rate == {"value": 25.0, "unit": "mg/h", "system": "http://unitsofmeasure.org", "code": "mg/h"}
    assert [e["resource"]["medicationCodeableConcept"]["text"] for e in schwartzman["entry"][1:]] == \
        ["midazolam", "clonidine"]
