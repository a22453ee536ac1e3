"""FHIR R4 patients in (io/fhir_in.py): a Bundle or Patient becomes the same record a YAML file
holds; nothing unmapped is dropped; old values do not count; the real CLI reads it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import budget
from fhir_builder import bundle
from ketadose.errors import KetadoseError
from ketadose.io.fhir_in import from_fhir, tables
from ketadose.io.library import vocabulary
from ketadose.io.yamlsrc import load_text
from ketadose.patient import build

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "patient-fhir.json"
DAY = dt.date(2026, 11, 25)
SNOMED = "http://snomed.info/sct"


def example():
    return json.loads(EXAMPLE.read_text())


def yaml_record():
    return load_text((ROOT / "examples" / "patient.yaml").read_text(), "x").data


def entry(b, kind, n=0):
    return [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == kind][n]


def test_example_bundle_is_valid_fhir_r4b():
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(example())


def test_example_bundle_gives_the_yaml_patient_except_what_fhir_does_not_carry():
    got = from_fhir(example(), DAY).record
    want = yaml_record()
    want.pop("previous_courses")  # not in a FHIR record: stays unanswered
    want.pop("breastfeeding")  # no observation code mapped (issue 19 lists none)
    want["medications"] = [{"name": m["name"]} for m in want["medications"]]  # dose not imported
    got_liver = got.pop("liver")
    assert got_liver.pop("date") == "2026-11-20"
    assert got_liver == want.pop("liver")
    assert {k: v for k, v in got.items()} == want
    patient, problems = build(got, vocabulary())
    assert problems == [] and patient.age == 45 and patient.weight_kg() == 72


def test_age_is_taken_at_the_screening_date():
    b = example()
    assert from_fhir(b, dt.date(2026, 3, 13)).record["age"] == 44
    assert from_fhir(b, dt.date(2026, 3, 14)).record["age"] == 45


def test_partial_birth_date_leaves_age_unanswered_and_says_why():
    b = example()
    entry(b, "Patient")["birthDate"] = "1981"
    out = from_fhir(b, DAY)
    assert "age" not in out.record
    assert any("birthDate" in n["text"] for n in out.not_understood)


RECORDS = st.fixed_dictionaries({}, optional={
    "sex": st.sampled_from(["female", "male"]),
    "weight": st.sampled_from(["72 kg", "50.5 kg", "160 lb", "101.25 kg"]),
    "height": st.sampled_from(["168 cm", "1.8 m", "155.5 cm"]),
    "blood_pressure": st.tuples(st.integers(90, 200), st.integers(40, 89)).map(lambda t: f"{t[0]}/{t[1]}"),
    "heart_rate": st.integers(30, 200),
    "pregnant": st.booleans(),
    "conditions": st.lists(st.sampled_from(["glaucoma", "schizophrenia", "heart-failure",
                                            "hyperthyroidism", "porphyria"]), unique=True, max_size=3),
    "medications": st.lists(st.sampled_from(["morphine", "oxycodone", "theophylline", "midazolam",
                                             "phenelzine", "clarithromycin"]), unique=True,
                            max_size=3).map(lambda ns: [{"name": n} for n in ns]),
    "allergies": st.lists(st.sampled_from(["ketamine", "penicillin"]), unique=True, max_size=2),
    "liver": st.fixed_dictionaries({"alt": st.sampled_from(["40 U/L", "150 U/L"]),
                                    "alt_uln": st.sampled_from(["45 U/L", "35 U/L"])}),
}).filter(lambda r: not (r.get("sex") == "male" and r.get("pregnant")))  # a contradiction: exit 2


@settings(max_examples=budget(150), deadline=None)
@given(RECORDS, st.integers(18, 90))
def test_a_record_through_fhir_screens_the_same(record, age):
    """Property: record -> FHIR Bundle -> import gives the same Patient and the same screen."""
    from ketadose.commands.check import screen_for
    from ketadose.render.documents.screen import screen_data

    record = dict(record, id="p-1", age=age)
    imported = from_fhir(bundle(record, "2026-11-20", birth=f"{2026 - age}-01-01"), DAY)
    assert imported.not_understood == [] and imported.stale == []
    got = imported.record
    got.get("liver", {}).pop("date", None)
    a, errs_a = build(record, vocabulary())
    b, errs_b = build(got, vocabulary())
    assert errs_a == errs_b == []
    assert a == b
    assert screen_data(screen_for(a, None, DAY, None)) == screen_data(screen_for(b, None, DAY, None))


def _check(run_, path, *extra):
    r = run_("check", "--patient", path, "--date", DAY.isoformat(), "--format", "json", *extra)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_unmapped_code_is_listed_and_makes_the_screen_incomplete(run, write):
    b = example()
    b["entry"].append({"resource": {
        "resourceType": "Condition", "id": "fibro", "subject": {"reference": "Patient/example-001"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "203082005", "display": "Fibromyalgia"}]}}})
    out = from_fhir(b, DAY)
    assert out.not_understood == [{"text": "condition Fibromyalgia (SNOMED CT 203082005)",
                                   "resource": "Condition/fibro"}]
    r, data = _check(run, write(json.dumps(b), "p.json"))
    assert r.exit_code == 0 and data["status"] == "incomplete"
    assert any(n["rule"] == "KD-IN-001" and "Fibromyalgia" in n["question"]
               for n in data["not_assessed"])


@pytest.mark.parametrize("clinical,verification,fires", [
    ("active", "confirmed", True), ("resolved", "confirmed", False),
    ("active", "refuted", False), ("active", "entered-in-error", False),
    ("inactive", None, False), (None, None, True)])
def test_condition_status_is_respected(clinical, verification, fires):
    b = example()
    cond = entry(b, "Condition")
    cond["code"] = {"text": "schizophrenia"}
    if clinical:
        cond["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification:
        cond["verificationStatus"] = {"coding": [{"code": verification}]}
    record = from_fhir(b, DAY).record
    assert ("schizophrenia" in (record.get("conditions") or [])) == fires
    if not fires:  # no other condition: the question stays open (not "none")
        assert "conditions" not in record


def test_ketamine_allergy_by_snomed_code_is_absolute(run, write):
    b = example()
    allergy = entry(b, "AllergyIntolerance")
    allergy["code"] = {"coding": [{"system": SNOMED, "code": "373464007"}]}
    allergy["clinicalStatus"] = {"coding": [{"code": "active"}]}
    r, data = _check(run, write(json.dumps(b), "p.json"))
    assert r.exit_code == 1 and data["status"] == "contraindicated"
    assert "KD-CI-001" in [f["rule"] for f in data["findings"]]
    allergy["verificationStatus"] = {"coding": [{"code": "refuted"}]}
    assert "allergies" not in from_fhir(b, DAY).record


def test_an_unverified_code_is_never_applied_only_hinted():
    b = example()
    allergy = entry(b, "AllergyIntolerance")
    allergy["code"] = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                   "code": "6130"}]}
    out = from_fhir(b, DAY)
    assert "allergies" not in out.record
    assert "UNVERIFIED" in out.not_understood[0]["text"]


def test_stale_values_do_not_count_and_are_reported():
    b = example()
    weight = entry(b, "Observation", 0)
    weight["effectiveDateTime"] = "2026-09-01"
    out = from_fhir(b, DAY)
    assert "weight" not in out.record
    assert out.stale == [{"field": "weight", "resource": weight["resourceType"] + "/" + weight["id"],
                          "date": "2026-09-01", "days_old": 85, "window_days": 30}]
    assert from_fhir(b, DAY, stale_after={"weight": 90}).record["weight"] == "72 kg"


def test_newest_observation_wins():
    b = example()
    older = copy.deepcopy(entry(b, "Observation", 0))
    older.update(id="w-old", effectiveDateTime="2026-11-10", valueQuantity={
        "value": 80, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"})
    b["entry"].append({"resource": older})
    out = from_fhir(b, DAY)
    assert out.record["weight"] == "72 kg" and out.provenance["weight"][0]["date"] == "2026-11-20"


def test_pounds_and_inches_are_converted_exactly():
    b = example()
    entry(b, "Observation", 0)["valueQuantity"] = {"value": 160, "unit": "lb",
                                                   "system": "http://unitsofmeasure.org", "code": "[lb_av]"}
    entry(b, "Observation", 1)["valueQuantity"] = {"value": 66, "unit": "in",
                                                   "system": "http://unitsofmeasure.org", "code": "[in_i]"}
    record = from_fhir(b, DAY).record
    assert record["weight"] == "160 lb" and record["height"] == "167.64 cm"


def test_unknown_unit_is_an_error_naming_the_resource(run, write):
    b = example()
    entry(b, "Observation", 0)["valueQuantity"]["code"] = "g"
    with pytest.raises(KetadoseError) as exc:
        from_fhir(b, DAY, "p.json")
    assert exc.value.where == "p.json: Observation/observation-1" and "'g'" in exc.value.message
    r = run("check", "--patient", write(json.dumps(b), "p.json"), "--date", DAY.isoformat())
    assert r.exit_code == 2 and "Observation/observation-1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_resources_of_another_patient_are_refused():
    b = example()
    entry(b, "Observation", 0)["subject"] = {"reference": "Patient/someone-else"}
    with pytest.raises(KetadoseError, match="someone-else"):
        from_fhir(b, DAY)


def test_patient_with_contained_resources():
    b = example()
    patient = copy.deepcopy(entry(b, "Patient"))
    patient["contained"] = [copy.deepcopy(e["resource"]) for e in b["entry"][1:]]
    for c in patient["contained"]:
        c.pop("subject", None)
        c.pop("patient", None)
    assert from_fhir(patient, DAY).record == from_fhir(b, DAY).record


def test_mg_per_dl_bilirubin_is_not_converted_but_listed():
    b = example()
    bili = [r for r in (e["resource"] for e in b["entry"])
            if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "1975-2"][0]
    bili["valueQuantity"] = {"value": 0.7, "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                             "code": "mg/dL"}
    out = from_fhir(b, DAY)
    assert "bilirubin" not in out.record["liver"]
    assert "mg/dL" in out.not_understood[0]["text"]


def test_stopped_medicine_keeps_its_end_date_and_product_text_matches_generic_name():
    b = example()
    med = entry(b, "MedicationStatement")
    med.update(status="stopped", effectivePeriod={"end": "2026-11-01"},
               medicationCodeableConcept={"text": "Morphine sulfate 15 MG Extended Release Oral Tablet"})
    assert from_fhir(b, DAY).record["medications"] == [{"name": "morphine", "stopped": "2026-11-01"}]


def test_not_fhir_and_wrong_resource_types_are_input_errors(run, write):
    r = run("import", write(json.dumps({"resourceType": "Observation"}), "o.json"))
    assert r.exit_code == 2 and "Bundle or a Patient" in r.stderr
    r = run("import", str(ROOT / "examples" / "patient.yaml"))
    assert r.exit_code == 2 and "no resourceType" in r.stderr
    r = run("import", write(json.dumps({"resourceType": "Bundle", "type": "document"}), "d.json"))
    assert r.exit_code == 2 and "document" in r.stderr


def test_batch_reads_one_bundle_per_line(run, write):
    b = example()
    bad = example()
    entry(bad, "Observation", 0)["valueQuantity"]["code"] = "stone"
    path = write(json.dumps(b) + "\n" + json.dumps(bad) + "\n", "p.jsonl")
    r = run("check", "--patients", path, "--format", "jsonl", "--date", DAY.isoformat())
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0]["id"] == "example-001" and lines[0]["exit"] == 0
    assert lines[1]["exit"] == 2 and "stone" in lines[1]["error"]
    assert r.exit_code == 2


def test_import_through_the_real_entry_point_round_trips_as_a_patient_file(tmp_path):
    cmd = [sys.executable, "-m", "ketadose"]
    r = subprocess.run(cmd + ["import", str(EXAMPLE), "--date", "2026-11-25", "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["valid"] and report["provenance"]["weight"][0]["resource"] == "Observation/observation-1"
    assert report["import"]["stale_after_days"] == tables()["stale_after_days"]
    rec = subprocess.run(cmd + ["import", str(EXAMPLE), "--date", "2026-11-25", "--record-only"],
                         capture_output=True, text=True, timeout=60)
    (tmp_path / "rec.yaml").write_text(rec.stdout)
    runs = [subprocess.run(cmd + ["check", "--patient", p, "--date", "2026-11-25", "--format",
                                  "json", "--reproducible"], capture_output=True, text=True,
                           timeout=60) for p in (str(EXAMPLE), str(tmp_path / "rec.yaml"))]
    a, b = (json.loads(x.stdout) for x in runs)
    for d in (a, b):
        d.pop("audit")
    assert a == b


def test_every_mapped_code_names_a_known_source():
    t = tables()
    sources = set(t["sources"])
    assert {e["source"] for e in t["observations"].values()} <= sources
    for system in t["medicines"].values():
        for e in system.values():
            assert e["source"] in sources and vocabulary().medicine(e["name"]) == e["name"]
    for system in t["ketamine_family"].values():
        assert {e["source"] for e in system.values()} <= sources
    assert all("UNVERIFIED" in v for v in t["unverified"].values())


def test_allergy_reaction_and_severity_are_kept_and_brand_names_fire(run, write):
    b = example()
    allergy = entry(b, "AllergyIntolerance")
    allergy.update(code={"text": "Ketalar"}, type="allergy",
                   clinicalStatus={"coding": [{"code": "active"}]},
                   reaction=[{"manifestation": [{"text": "Anaphylaxis"}], "severity": "moderate"},
                             {"manifestation": [{"text": "rash"}], "severity": "severe"}])
    assert from_fhir(b, DAY).record["allergies"] == [
        {"substance": "Ketalar", "reaction": "anaphylaxis", "severity": "severe"}]
    r, data = _check(run, write(json.dumps(b), "p.json"))
    assert r.exit_code == 1 and "KD-CI-001" in [f["rule"] for f in data["findings"]]


def test_medicine_start_and_end_dates():
    b = example()
    entry(b, "MedicationStatement").update(status="completed", effectivePeriod={
        "start": "2026-10-01", "end": "2026-11-10"})
    assert from_fhir(b, DAY).record["medications"] == [
        {"name": "morphine", "started": "2026-10-01", "stopped": "2026-11-10"}]


def test_coded_condition_matches_by_its_display_and_unverified_codes_only_hint():
    b = example()
    cond = entry(b, "Condition")
    cond.update(clinicalStatus={"coding": [{"code": "active"}]}, code={"coding": [
        {"system": SNOMED, "code": "23986001", "display": "Glaucoma (disorder)"}]})
    assert from_fhir(b, DAY).record["conditions"] == ["glaucoma"]
    cond["code"] = {"coding": [{"system": SNOMED, "code": "23986001"}]}  # no text: a hint only
    out = from_fhir(b, DAY)
    assert "conditions" not in out.record
    assert "glaucoma - UNVERIFIED" in out.not_understood[0]["text"]


def test_atc_coded_medicine():
    b = example()
    entry(b, "MedicationStatement")["medicationCodeableConcept"] = {"coding": [
        {"system": "http://www.whocc.no/atc", "code": "N02AA05"}]}
    out = from_fhir(b, DAY)
    assert out.record["medications"] == [{"name": "oxycodone"}]
    assert out.provenance["medications"][0]["matched"].startswith("ATC N02AA05")


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(
    allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3), max_leaves=8)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


@settings(max_examples=budget(300), deadline=None)
@given(st.data())
def test_any_damaged_bundle_is_an_input_error_or_a_record_never_a_crash(data):
    """Property: replace any node of the example bundle by any JSON value: the import either
    gives a record the patient format accepts or rejects, or raises KetadoseError."""
    b = example()
    paths = list(_paths(b))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        if not path:
            continue
        parent = b
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = data.draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        out = from_fhir(b, DAY)
    except KetadoseError:
        return
    build(out.record, vocabulary())  # findings or a Patient; never an exception


@pytest.mark.parametrize("n, text, code, value", [
    (0, "kg", "[lb_av]", 160),  # the EHR shows 160 kg; the code would make it 72.6 kg
    (0, "lb", "kg", 72),
    (1, "cm", "[in_i]", 66),
    (1, "in", "cm", 168),
])
def test_a_unit_text_that_names_another_unit_than_the_code_is_refused(n, text, code, value):
    b = example()
    entry(b, "Observation", n)["valueQuantity"] = {
        "value": value, "unit": text, "system": "http://unitsofmeasure.org", "code": code}
    with pytest.raises(KetadoseError) as exc:
        from_fhir(b, DAY, "p.json")
    assert f"unit text {text!r} and UCUM code {code!r}" in exc.value.message
    assert exc.value.where == f"p.json: Observation/{entry(b, 'Observation', n)['id']}"


@pytest.mark.parametrize("n, text, code, want", [
    (0, "lbs", "[lb_av]", "160 lb"), (0, "Kilogramm", "kg", "160 kg"),  # display only
    (0, "kg", "kg", "160 kg"), (1, "in", "[in_i]", "406.4 cm"), (1, "m", "m", "160 m"),
])
def test_a_unit_text_that_agrees_with_the_code_or_is_not_a_unit_is_display_only(n, text, code,
                                                                                  want):
    b = example()
    entry(b, "Observation", n)["valueQuantity"] = {
        "value": 160, "unit": text, "system": "http://unitsofmeasure.org", "code": code}
    assert from_fhir(b, DAY).record["weight" if n == 0 else "height"] == want
