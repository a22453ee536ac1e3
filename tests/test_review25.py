"""Review 25: adversarial reproducers (a pain specialist's, a pharmacist's and an attacker's
custom regimens and patients), through the real entry point where the defect shows there.

Each test fails on the defect it names. The ones still open are xfail(strict=True): when a fix
lands they pass, strict turns that into a failure, and the marker is to be removed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ketadose.rules.regimen import names_esketamine

ROOT = Path(__file__).resolve().parent.parent
SCHWARTZMAN = ROOT / "regimens" / "crps-schwartzman-2009.yaml"
FLAGS = ["--age", "45", "--sex", "female", "--weight", "72kg", "--height", "168cm",
         "--no-conditions", "--no-medications", "--no-allergies", "--no-previous-courses",
         "--not-pregnant", "--not-breastfeeding"]


def _run(args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=120, cwd=cwd)


def _custom(tmp_path, change, name="custom.yaml"):
    data = yaml.safe_load(SCHWARTZMAN.read_text())
    data["id"] = "review25-custom"
    change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --- fixed in this review ---------------------------------------------------------------------

@pytest.mark.parametrize("title", [
    "CRPS - (S)-ketamine infusion", "CRPS - S-(+)-ketamine 4 h", "CRPS - S(+) ketamine",
    "CRPS - S+ketamine", "CRPS - S ketamine daily", "CRPS - Esketamin (S-Ketamin)",
    "CRPS - S\u2013ketamine", "CRPS - (S)\u2010ketamine", "CRPS - Spravato", "CRPS - Ketanest S"])
def test_a_title_naming_esketamine_under_racemic_is_refused(tmp_path, title):
    """KD-V018 knew only 'esketamine', 'S-ketamine', 'S(+)-ketamine' and 'Ketanest': a regimen
    titled '(S)-ketamine' (as the allergy vocabulary and the papers write it), 'S-(+)-ketamine',
    'S(+) ketamine', 'Esketamin' or with an en dash validated with drug: racemic-ketamine, and
    was dosed against the racemic limits, about twice the esketamine ones."""
    path = _custom(tmp_path, lambda d: d.update(title=title))
    r = _run(["validate", str(path), "--format", "json"])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "KD-V018" in r.stdout.decode()


@pytest.mark.parametrize("title", [
    "CRPS - IV racemic ketamine", "CRPS - (R,S)-ketamine", "CRPS - (R, S)-ketamine",
    "CRPS - RS-ketamine", "CRPS - patients ketamine", "CRPS - Children's ketamine",
    "CRPS - Ketalar 4 h daily"])
def test_a_racemic_title_is_not_read_as_esketamine(title):
    assert not names_esketamine(title)


# --- still open: patient safety ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["ketamine", "Ketalar", "esketamine"])
def test_ketamine_as_an_adjunct_is_refused(tmp_path, name):
    """An adjunct is free text with a dose: {name: Ketalar, dose: 500 mg, route: iv} validates
    (0 errors) and plans with exit 0; the 500 mg IV ketamine per session is in no limit check
    (bolus per kg, session and daily dose) and in no total (the plan's highest session stays
    100 mg). Only a KD-DDI-008 question says the adjunct is 'not a medicine ketadose knows'.
    Ketamine belongs in the schedule's phases, where the limits apply: the adjunct should be an
    error (vocabulary substances of the ketamine family, as the allergy matcher reads them)."""
    def add(d):
        d["adjuncts"].append({"name": name, "dose": "500 mg", "route": "iv",
                              "timing": "at the start of every session",
                              "source": "Schwartzman 2009, PMID 19783371"})
    path = _custom(tmp_path, add)
    r = _run(["validate", str(path)])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert b"KD-V024" in r.stdout, r.stdout
    # and a plan from it is refused as an invalid regimen, never printed
    p = _run(["plan", str(path), *FLAGS, "--format", "json"])
    assert p.returncode == 2 and not p.stdout and b"KD-V024" in p.stderr, (p.returncode, p.stderr)


@pytest.mark.parametrize("name", ["midazolam", "Ketorolac", "clonidine 50 mcg"])
def test_an_adjunct_that_is_not_ketamine_is_not_refused(tmp_path, name):
    """The KD-V024 check reads names as the allergy matcher does: a word like ketorolac or
    another medicine is not ketamine."""
    def add(d):
        d["adjuncts"].append({"name": name, "dose": "2 mg", "route": "iv",
                              "timing": "at the start of every session",
                              "source": "Schwartzman 2009, PMID 19783371"})
    r = _run(["validate", str(_custom(tmp_path, add))])
    assert b"KD-V024" not in r.stdout + r.stderr, r.stdout


@pytest.mark.parametrize("fmt", ["html", "csv", "fhir"])
def test_a_blocked_plan_written_to_a_file_is_not_an_empty_file(tmp_path, fmt):
    """An absolute contraindication (a Ketalar allergy) blocks the plan (exit 1, the reason on
    stderr); with -o plan.html (or .csv, .fhir) a 0-byte file is put in place: a blank printable
    plan that does not say it was refused (JSON writes blocked: true with the screen). Either
    no file or one that says why there is no plan (each format says it: docs/output-format.md)."""
    out = tmp_path / f"plan.{fmt}"
    flags = [f for f in FLAGS if f != "--no-allergies"]
    r = _run(["plan", "crps-schwartzman-2009", *flags, "--allergy", "Ketalar", "--format", fmt,
              "-o", str(out)])
    assert r.returncode == 1, r.stderr
    assert not out.exists() or out.stat().st_size > 0
    _says_blocked(out.read_text(encoding="utf-8"), fmt, "KD-CI-001")


def _says_blocked(text, fmt, rule):
    """``text`` (a blocked plan in ``fmt``) names the finding that blocks it, and no dose."""
    assert rule in text
    if fmt == "csv":
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and all(row["kind"] == "blocked" and row["dose_mg"] == "" for row in rows)
        assert any(row["findings"].startswith(rule) for row in rows)
    elif fmt == "fhir":
        import json

        from fhir.resources.R4B.bundle import Bundle

        bundle = json.loads(text)
        Bundle.model_validate(bundle)  # valid FHIR R4B
        kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert kinds == {"DetectedIssue"}, kinds  # no MedicationRequest: nothing to give
        assert "No plan" in bundle["entry"][0]["resource"]["detail"]
    else:
        assert "NO PLAN: BLOCKED" in text
        for part in ("<h2>Session", "<h2>Course calendar", "<h2>Preparation", "<h2>Adjuncts",
                     "Prescriber (name"):
            assert part not in text, part  # no dose, nothing to sign


@pytest.mark.parametrize("fmt", ["html", "csv", "fhir"])
def test_a_plan_the_gate_refuses_written_to_a_file_says_why_and_gives_no_dose(tmp_path, fmt):
    """The other way a plan is blocked: the safety gate refuses the plan it made (40 mg/h in
    25 kg is 1.6 mg/kg/h, above the hard limit KD-LIM-001). The file says so, with no dose."""
    from conftest import template_data

    data = template_data("sci-amr-2010.yaml")
    data["confirm"] = {"KD-LIM-002": "test input: reaching 40 mg/h on purpose"}
    data["schedule"]["phases"] = [{"source": "test input (tests/test_review25.py)", "name": "i",
                                   "kind": "infusion", "rate": "40 mg/h", "duration": "4 h"}]
    regimen = tmp_path / "r.yaml"
    regimen.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / f"plan.{fmt}"
    r = _run(["plan", str(regimen), *FLAGS[2:], "--weight", "25kg", "--age", "30", "--height",
              "120cm", "--sex", "female", "--override", "test: confirmed", "--format", fmt,
              "-o", str(out)])
    assert r.returncode == 1, r.stderr
    assert b"refused KD-LIM-001" in r.stderr
    _says_blocked(out.read_text(encoding="utf-8"), fmt, "KD-LIM-001")
