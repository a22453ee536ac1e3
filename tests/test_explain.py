"""--explain derivations, CDS Hooks cards and the printable HTML plan."""

import json
import re

import pytest
import yaml
from test_plan import PATIENT

from conftest import TEMPLATE_NAMES
from ketadose.rules import screening_rules

IDS = [n[:-5] for n in TEMPLATE_NAMES]


@pytest.fixture
def patient_path(write):
    return write(yaml.safe_dump(PATIENT), "patient.yaml")


def test_schwartzman_derivation_can_be_recomputed_by_hand(run, patient_path):
    data = json.loads(run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--explain",
                          "--format", "json").stdout)
    steps = data["sessions"][0]["phases"][0]["derivation"]
    by_what = {s["what"]: s for s in steps}
    assert by_what["rate"]["value"] == pytest.approx(0.35 * 72)
    assert "0.35 mg/kg/h x 72 kg" in by_what["rate"]["expression"]
    assert by_what["capped"]["value"] == 25 and "PMID 19783371" in by_what["capped"]["source"]
    assert by_what["pump rate"]["value"] == 25.0 and "/ 1 mg/mL" in by_what["pump rate"]["expression"]
    assert by_what["dose in this phase"]["value"] == 100
    weight = {s["what"]: s for s in data["patient"]["derivation"]}
    assert weight["dosing weight"]["value"] == 72
    assert weight["ideal weight (Devine)"]["value"] == pytest.approx(45.5 + 2.3 * (168 / 2.54 - 60))
    explain = data["explain"]
    assert {c["rule"] for c in explain["limits_consulted"]} >= {"KD-LIM-001", "KD-LIM-002"}
    assert all(c["source"] for c in explain["limits_consulted"])
    statuses = {r["rule"]: r["status"] for r in explain["rules_evaluated"]}
    assert set(statuses) == {r.id for r in screening_rules()}
    assert statuses["KD-DDI-003"] == "fired"
    assert {i["input"]: i["from"] for i in explain["inputs"]}["weight"] == "patient file"


@pytest.mark.parametrize("rid", IDS)
def test_every_number_of_every_template_has_a_derivation(run, patient_path, rid):
    from ketadose.io.regimens import load_regimen

    # a topical has no concentration to choose: --concentration on it is an error (issue 16)
    conc = [] if load_regimen(rid)[1].route == "topical" else ["--concentration", "1mg/mL"]
    data = json.loads(run("plan", rid, "--patient", patient_path, "--explain", *conc,
                          "--format", "json").stdout)
    for phase in data["sessions"][0]["phases"]:
        assert phase["derivation"], phase["name"]
        numbers = [s["value"] for s in phase["derivation"] if s["value"] is not None]
        for key in ("rate_mg_per_h", "rate_ml_per_h", "dose_mg", "bolus_mg", "per_dose_mg"):
            value = phase.get(key)
            if value is not None:
                assert any(abs(value - n) <= 1e-3 * max(1, abs(value)) for n in numbers), (key, value)


def test_explain_in_the_table_and_for_check_validate_simulate(run, patient_path):
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--explain")
    assert "0.35 mg/kg/h x 72 kg dosing weight = 25.2 mg/h" in r.stdout
    assert "Rules evaluated" in r.stdout and "Limits consulted" in r.stdout
    check = json.loads(run("check", "--patient", patient_path, "--explain", "--format", "json").stdout)
    assert check["explain"]["rules_evaluated"]
    v = json.loads(run("validate", "crps-sigtermans-2009", "--explain", "--format", "json").stdout)
    assert v["explain"][0]["limits_consulted"][0]["rule"] == "KD-LIM-101"
    s = json.loads(run("simulate", "sci-amr-2010", "--weight", "70kg", "--explain", "--format", "json",
                       "--resolution", "10 min").stdout)
    assert any(step["what"] == "patient parameters" for step in s["explain"])


def test_findings_are_cds_hooks_cards(run, patient_path, write):
    path = write(yaml.safe_dump({**PATIENT, "conditions": ["active-psychosis"],
                                 "medications": [{"name": "clarithromycin"}]}), "p2.yaml")
    data = json.loads(run("check", "oral-marchetti-2015", "--patient", path, "--format", "json").stdout)
    assert data["cards"]
    for card in data["cards"]:
        assert len(card["summary"]) < 140
        assert card["indicator"] in ("critical", "warning", "info")
        assert card["source"]["label"] and card["detail"]
    ddi = next(c for c in data["cards"] if c["rule"] == "KD-DDI-005")
    assert ddi["source"]["url"] == "https://pubmed.ncbi.nlm.nih.gov/19897389/"


def test_printable_html_plan(run, patient_path, tmp_path):
    out = tmp_path / "plan.html"
    r = run("plan", "crps-schwartzman-2009", "--patient", patient_path, "--start",
            "2026-12-01T09:00", "--format", "html", "-o", str(out))
    assert r.exit_code == 0
    page = out.read_text()
    for text in ("Schwartzman 2009", "Dosing weight".lower(), "CAUTION", "25.0 mL/h",
                 "Course calendar", "Preparation", "midazolam", "Monitoring checklist",
                 "class='box'", "Stop rules", "Sources", "19783371", "Prescriber", "Checked by",
                 "sha256", "ketadose 0.", "<svg"):
        assert text in page or text in page.lower(), text
    assert not re.search(r"https?://|<link|<script|@import|\bsrc=", page)


def test_card_source_label_never_cuts_a_number():
    from ketadose.render.explain import card_source

    source = "x" * 280 + " Noppers IM et al. Pain 2011, PMID 21546160"
    label = card_source(source)["label"]
    assert len(label) <= 300 and label.endswith("…")
    assert "PMID 2154" not in label  # the PMID is dropped whole, never shown shortened
    assert card_source("Cohen 2018, PMID 29870458")["label"] == "Cohen 2018, PMID 29870458"
