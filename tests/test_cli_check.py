import json

import jsonschema
import pytest
import yaml
from test_screen import BASE


@pytest.fixture
def patient_file(write):
    def _make(**changes):
        data = {**BASE, **changes}
        return write(yaml.safe_dump({k: v for k, v in data.items() if v is not None}), "patient.yaml")
    return _make


def test_check_json_contract(run, patient_file):
    r = run("check", "crps-schwartzman-2009", "--patient", patient_file(), "--format", "json",
            "--date", "2026-11-25")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert set(data) >= {"status", "findings", "not_assessed", "override", "regimen", "ketadose_version"}
    assert data["status"] == "caution"  # 10-day course: liver monitoring duty
    for f in data["findings"]:
        assert set(f) >= {"rule", "severity", "indicator", "title", "message", "source"}


def test_check_contraindicated_exits_1_unless_override(run, patient_file):
    path = patient_file(conditions=["active-psychosis"])
    r = run("check", "--patient", path)
    assert r.exit_code == 1 and "CONTRAINDICATED" in r.stdout
    r = run("check", "--patient", path, "--override", "psychiatry review: stable for 2 years",
            "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["override"].startswith("psychiatry") and data["status"] == "contraindicated"
    assert run("check", "--patient", path, "--override", "ok").exit_code == 2


def test_check_incomplete_lists_questions(run):
    r = run("check", "--weight", "72kg", "--format", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and data["status"] == "incomplete"
    assert any("blood pressure" in q["question"] for q in data["not_assessed"])


def test_check_from_flags_and_stdin(run):
    r = run("check", "--weight", "72kg", "--age", "45", "--sex", "male", "--bp", "128/82",
            "--heart-rate", "70", "--no-conditions", "--no-medications", "--no-allergies",
            "--no-previous-courses", "--format", "json")
    assert json.loads(r.stdout)["status"] == "clear"
    r = run("check", "--patient", "-", "--format", "json", input=json.dumps(BASE))
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "clear"


@pytest.mark.parametrize("args, needle", [
    (["--weight", "0kg"], "greater than zero"),
    (["--weight", "700 kg"], "outside"),
    (["--age", "250"], "at most 120"),
    (["--medication", "unobtainium"], "unknown medicine"),
    (["--bp", "high"], "systolic/diastolic"),
    (["--condition", "psychosis"], "did you mean active-psychosis"),
])
def test_bad_patient_flags_exit_2(run, args, needle):
    r = run("check", *args)
    assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_patient_file_points_at_line(run, write):
    path = write("age: 45\nweight: 72 kg\nmedications:\n  - {name: morfine}\n", "p.yaml")
    r = run("check", "--patient", path)
    assert r.exit_code == 2 and f"{path}:4:" in r.stderr and "morphine" in r.stderr


def test_yaml_bomb_patient_exit_2(run, write):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'] + [
        f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]" for i in range(1, 10)]
    r = run("check", "--patient", write("\n".join(lines), "bomb.yaml"))
    assert r.exit_code == 2 and "alias bomb" in r.stderr


def test_file_and_flag_conflict(run, patient_file):
    r = run("check", "--patient", patient_file(), "--weight", "90kg")
    assert r.exit_code == 2 and "give it once" in r.stderr


def test_patient_schema_is_valid_and_accepts_the_example(run):
    schema = json.loads(run("schema", "patient").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(BASE, schema)


def test_vocabulary_lists_conditions_and_medicines(run):
    data = json.loads(run("vocabulary", "--format", "json").stdout)
    assert "uncontrolled-hypertension" in data["conditions"]
    assert "opioid" in data["medicines"]["morphine"]["classes"]
    assert run("vocabulary").exit_code == 0
