"""Issue 16 item 4 (messages), through the real entry point (a subprocess, as a user runs it):
heights in inches and feet+inches, placeholder sources, options that do not apply, dates
without a time, --explain numbers, one-line usage errors, negative and huge quantities."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import template_text


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def one_line_error(proc):
    assert proc.returncode == 2, (proc.returncode, proc.stdout[:300], proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    return line


# ------------------------------------------------------------------------------------ heights

# 66 in = 5 ft 6 in = 167.64 cm (2.54 cm to the inch, exact). Devine, male:
# 50 + 2.3 x (66 - 60) = 63.8 kg ideal weight.
HEIGHTS = ["66in", "66 in", "5ft6", "5ft6in", "5 ft 6 in", "5'6\"", "5' 6''"]


def _ideal_weight(tmp_path, how, height):
    common = ("--weight-basis", "ideal", "--format", "json")
    if how == "flag":
        proc = cli("plan", "crps-schwartzman-2009", "--weight", "70kg", "--height", height,
                   "--sex", "male", "--age", "40", *common)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["patient"]
    record = {"id": "a", "age": 40, "sex": "male", "weight": "70 kg", "height": height}
    if how == "yaml":
        path = tmp_path / "p.yaml"
        path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in record.items()))
        proc = cli("plan", "crps-schwartzman-2009", "--patient", str(path), *common)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["patient"]
    if how == "jsonl":
        path = tmp_path / "p.jsonl"
        path.write_text(json.dumps(record) + "\n")
    else:
        path = tmp_path / "p.csv"
        quoted = '"' + height.replace('"', '""') + '"'
        path.write_text(f"id,age,sex,weight,height\na,40,male,70 kg,{quoted}\n")
    proc = cli("plan", "crps-schwartzman-2009", "--patients", str(path), "--weight-basis",
               "ideal", "--format", "jsonl")
    [rec] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rec["exit"] == 0, rec
    return rec["plan"]["patient"] if "plan" in rec else rec["patient"]


@pytest.mark.parametrize("how", ["flag", "yaml", "jsonl", "csv"])
def test_heights_in_inches_and_feet_are_accepted_everywhere(tmp_path, how):
    for height in HEIGHTS if how == "flag" else HEIGHTS[::3]:
        patient = _ideal_weight(tmp_path, how, height)
        assert patient["ideal_weight_kg"] == 63.8 and patient["height_cm"] == 167.6, height


@pytest.mark.parametrize("height, message", [
    ("5ft13", "'5ft13': the inches after the feet must be below 12"),
    ("66 yd", "'yd' is not in the vocabulary"),
])
def test_bad_heights_are_one_line(height, message):
    line = one_line_error(cli("plan", "crps-schwartzman-2009", "--weight", "70kg", "--height",
                              height))
    assert message in line, line


# ------------------------------------------------------------------------ placeholder sources

def _with_phase_source(source_line: str) -> tuple:
    """The Schwartzman template with its first phase's source replaced by `source_line`."""
    lines = template_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("      source:"))
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}source: {source_line}\n"
    return "".join(lines), at + 1, len(indent) + 1


@pytest.mark.parametrize("source", ["TODO", "todo: find the PMID", "TBD", "?", "???", "xxx",
                                    "XXXX", "n/a", "FIXME", "-", "..."])
def test_a_placeholder_source_is_a_finding_with_file_line_col(tmp_path, source):
    text, line, col = _with_phase_source(json.dumps(source))
    path = tmp_path / "r.yaml"
    path.write_text(text)
    proc = cli("validate", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, (proc.stdout, proc.stderr)
    [finding] = [x for x in proc.stdout.splitlines() if "placeholder" in x]
    assert finding.startswith(f"{path}:{line}:"), finding
    assert f"{source!r} is a placeholder, not a source; name where the numbers come from" \
        in finding


def test_an_empty_source_says_empty_not_text_expected_text(tmp_path):
    text, line, _col = _with_phase_source('""')
    path = tmp_path / "r.yaml"
    path.write_text(text)
    proc = cli("validate", str(path))
    assert proc.returncode == 1
    [finding] = [x for x in proc.stdout.splitlines() if "source" in x and "empty" in x]
    assert finding.startswith(f"{path}:{line}:") and "expected text" not in finding
    assert "is empty; name where its numbers come from (authors, year, PMID)" in finding


@pytest.mark.parametrize("source", ["Tobias 2001, PMID 11111111", "None found; see docs/x.md",
                                    "Xu 2020, PMID 1", "Unknown Pleasures Study Group 2019"])
def test_real_sources_that_start_like_a_placeholder_pass(tmp_path, source):
    text, _line, _col = _with_phase_source(json.dumps(source))
    path = tmp_path / "r.yaml"
    path.write_text(text)
    proc = cli("validate", str(path))
    assert "placeholder" not in proc.stdout, proc.stdout


# ------------------------------------------------------------- options that do not apply

@pytest.mark.parametrize("args, message", [
    (["simulate", "crps-schwartzman-2009", "--f", "0.5"],
     "--f (bioavailability) does not apply to an IV regimen: only SC and oral doses are absorbed"),
    (["simulate", "crps-schwartzman-2009", "--ka", "0.02", "--population", "20"],
     "--ka (absorption) does not apply to an IV regimen"),
    (["plan", "oral-marchetti-2015", "--priming", "5"],
     "--priming does not apply to 'oral-marchetti-2015' (oral): it is the giving set's volume "
     "added to an IV bag; leave it out"),
    (["plan", "cancer-pain-burst-ketamine", "--priming", "0"], "--priming does not apply to "
     "'cancer-pain-burst-ketamine' (SC)"),
    (["plan", "topical-rabi-2016", "--concentration", "10mg/mL"],
     "--concentration does not apply to 'topical-rabi-2016' (topical)"),
    (["plan", "crps-goldberg-2010", "--weight-basis", "ideal", "--height", "170cm", "--sex",
      "male"], "--weight-basis does not apply to 'crps-goldberg-2010': it does not dose per kg"),
])
def test_an_option_that_does_not_apply_is_an_error(args, message):
    line = one_line_error(cli(*args, "--weight", "70kg", "--age", "40"))
    assert message in line, line


def test_an_option_that_does_not_apply_is_refused_before_a_contraindication_or_a_batch(tmp_path):
    # a contraindicated patient (age 10) still hears about the option, not only the screen
    line = one_line_error(cli("plan", "oral-marchetti-2015", "--priming", "5", "--weight", "35kg",
                              "--age", "10"))
    assert "--priming does not apply" in line
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "a", "weight": "70 kg", "age": 40}) + "\n")
    line = one_line_error(cli("plan", "oral-marchetti-2015", "--priming", "5", "--patients",
                              str(path), "--format", "jsonl"))
    assert "--priming does not apply" in line


def test_options_that_apply_still_work():
    proc = cli("plan", "crps-schwartzman-2009", "--weight", "70kg", "--age", "40", "--priming", "5",
               "--concentration", "1mg/mL", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    proc = cli("simulate", "oral-marchetti-2015", "--weight", "70kg", "--age", "40", "--f", "0.2",
               "--format", "json", "--resolution", "1 h")
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ a date without a time

@pytest.mark.parametrize("value", ["2026-12-01", "20261201", " 2026-12-01 "])
def test_a_start_without_a_time_is_refused_showing_the_form(value):
    line = one_line_error(cli("plan", "crps-schwartzman-2009", "--weight", "70kg", "--start", value))
    assert line == (f"ketadose: error: --start '{value}' has no time of day: the sessions are at "
                    "clock times; write the date and time, e.g. 2026-12-01T09:00")


def test_a_start_with_a_time_is_accepted(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "a", "weight": "70 kg", "age": 40}) + "\n")
    for args in (["--weight", "70kg"], ["--patients", str(path), "--format", "jsonl"]):
        proc = cli("plan", "crps-schwartzman-2009", "--start", "2026-12-01T09:00", *args)
        assert proc.returncode == 0, proc.stderr
    line = one_line_error(cli("plan", "crps-schwartzman-2009", "--patients", str(path),
                              "--format", "jsonl", "--start", "2026-12-01"))
    assert "has no time of day" in line


# ------------------------------------------------------------------- --explain numbers

def test_explain_shows_numbers_like_the_tables_never_python_reprs(tmp_path):
    patient = tmp_path / "p.yaml"
    patient.write_text("age: 45\nweight: 50 kg\nliver: {alt: 40 U/L, alt_uln: 45 U/L}\n"
                       "medications: [{name: morphine, dose: 60 mg/day, route: oral}]\n"
                       "conditions: []\npregnant: false\n")
    # 50 mg/mL: 17.5 mg/h is 0.35 mL/h, programmed 0.3 mL/h: a real rounding error of -2.5 mg/h;
    # at 1 mg/mL the step is exact and float noise once printed as +3.553e-15 mg/h
    for conc, delivered in (("1mg/mL", "(0 mg/h, 0% from rounding)"),
                            ("50mg/mL", "(-2.5 mg/h, -14.29% from rounding)")):
        proc = cli("plan", "crps-schwartzman-2009", "--patient", str(patient),
                   "--concentration", conc, "--explain", "--override", "test: confirmed here")
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout[proc.stdout.index("Explanation (--explain)"):]
        assert delivered in text, text
        assert "e-1" not in text and "{'" not in text and "[{" not in text and "None" not in text
    assert "  liver: alt 40 U/L, alt_uln 45 U/L (from the patient file)" in text
    assert "  medications: name morphine, dose 60 mg/day, route oral (from the patient file)" \
        in text
    assert "  pregnant: no (from the patient file)" in text
    assert "  conditions: none (from the patient file)" in text


# --------------------------------------------------------------- usage errors and choices

@pytest.mark.parametrize("args, hint", [
    (["plan", "crps-schwartzman-2009", "--weight", "70kg", "--format", "jsn"], "Did you mean 'json'?"),
    (["plan", "crps-schwartzman-2009", "--weight", "70kg", "--weight-basis", "idael"],
     "Did you mean 'ideal'?"),
    (["plan", "crps-schwartzman-2009", "--weight", "70kg", "--sex", "f"], "Did you mean 'female'?"),
    (["list", "--route", "IV"], "Did you mean 'iv'?"),
    (["plan", "crps-schwartzman-2009", "--weight", "70kg", "--format", "zzz"], None),
])
def test_a_bad_choice_is_one_line_with_a_suggestion(args, hint):
    line = one_line_error(cli(*args))
    assert line.startswith("ketadose: error: Invalid value for") and "--help`)" in line, line
    assert (hint in line) if hint else ("Did you mean" not in line), line


@pytest.mark.parametrize("weight, message", [
    ("-70kg", "'-70kg': a negative quantity is never valid here"),
    ("1e6kg", "weight 1000000 kg is outside 2-400 kg; is it a typing error?"),
    ("-70", "'-70' is negative; a negative quantity is never valid here"),
])
def test_negative_and_huge_weights_with_a_unit_get_their_own_message(weight, message):
    line = one_line_error(cli("plan", "crps-schwartzman-2009", f"--weight={weight}"))
    assert message in line and "has no unit" not in line, line
