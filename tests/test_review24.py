"""Review 24: adversarial reproducers for what landed on 26 Nov (whole stdout writes, stderr best
effort, Rollback, bare weights refused, FHIR unit text vs code), through the real entry point.

Each test fails on the defect it names. The ones still open are xfail(strict=True): when a fix
lands they pass, strict turns that into a failure, and the marker is to be removed."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATIENT = ROOT / "examples" / "patient.yaml"
BUNDLE = ROOT / "examples" / "patient-fhir.json"
FLAGS = ["--age", "45", "--sex", "female", "--height", "168cm", "--no-conditions",
         "--no-medications", "--no-allergies", "--no-previous-courses", "--not-pregnant",
         "--not-breastfeeding"]


def _run(args, stdout_setup=None, cwd=None, stdin=subprocess.DEVNULL):
    """`python -m ketadose ARGS`, with fd 1 arranged by ``stdout_setup`` in the child."""
    return subprocess.run([sys.executable, "-m", "ketadose", *args], stdin=stdin,
                          stdout=None if stdout_setup else subprocess.PIPE,
                          stderr=subprocess.PIPE, preexec_fn=stdout_setup, cwd=cwd,
                          timeout=120)


def _closed():
    os.close(1)


def _read_only(path):
    def setup():
        fd = os.open(path, os.O_RDONLY)
        os.dup2(fd, 1)
        os.close(fd)
    return setup


def _one_line_exit_2(r, words):
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert err.count("\n") == 1 and words in err, err


# --- fixed in this review (ketadose/launch.py) ----------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["-V"], ["plan", "--help"], ["validate", "--help"]])
def test_closed_stdout_is_one_line_exit_2(args):
    """`ketadose --help >&-` gave a traceback and exit 1 (sys.stdout is None); `plan --help >&-`
    exit 0 with the help lost (click drops text written to a None stdout)."""
    _one_line_exit_2(_run(args, _closed), "standard output is closed")


@pytest.mark.parametrize("args", [["--help"], ["-V"], ["plan", "--help"], ["rules"]])
def test_stdout_opened_for_reading_is_one_line_exit_2(tmp_path, args):
    """`ketadose --help 1<file` gave a traceback, and `plan --help 1<file` an internal error and
    then exit 120 (the flush at exit failed again): EBADF is the environment's, exit 2."""
    target = tmp_path / "ro"
    target.write_text("kept\n")
    _one_line_exit_2(_run(args, _read_only(str(target))), "Bad file descriptor")
    assert target.read_text() == "kept\n"


def test_plan_to_o_with_stdout_closed_still_succeeds(tmp_path):
    """The closed-stdout stand-in must not fail a run that writes nothing to stdout."""
    r = _run(["plan", "crps-schwartzman-2009", "--patient", str(PATIENT), "--format", "json",
              "-o", str(tmp_path / "p.json")], _closed)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "p.json").read_text())["regimen"]["id"] == "crps-schwartzman-2009"


# --- still open: patient safety ---------------------------------------------------------------

def _fhir_weight(tmp_path, quantity, loinc="29463-7"):
    bundle = json.loads(BUNDLE.read_text())
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Observation" and \
                res["code"]["coding"][0]["code"] == loinc:
            res["valueQuantity"] = copy.deepcopy(quantity)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return _run(["import", str(path), "--record-only", "--format", "json"])


def _fhir_height(tmp_path, quantity):
    return _fhir_weight(tmp_path, quantity, loinc="8302-2")


UCUM = "http://unitsofmeasure.org"


@pytest.mark.parametrize("text,code,value", [("LB", "kg", 70), ("KG", "[lb_av]", 160),
                                             ("Kg", "[lb_av]", 160), ("[lb_av]", "kg", 70),
                                             ("IN", "cm", 168), ("[in_i]", "cm", 168)])
def test_fhir_unit_text_in_capitals_or_as_a_ucum_code_is_not_ignored(tmp_path, text, code, value):
    """The EHR shows '70 LB' (31.8 kg); ketadose dosed 70 kg, more than twice the dose: a text
    that parse_unit did not read as it was ('LB', 'KG', '[lb_av]') counted as display only."""
    if code == "cm":
        r = _fhir_height(tmp_path, {"value": value, "unit": text, "system": UCUM, "code": code})
    else:
        r = _fhir_weight(tmp_path, {"value": value, "unit": text, "system": UCUM, "code": code})
    assert r.returncode == 2, r.stdout.decode()[:300]
    assert b"name different units" in r.stderr


@pytest.mark.parametrize("text,code", [("KG", "kg"), ("LBS", "[lb_av]"), ("lbs", "[lb_av]"),
                                       ("Kilogramm", "kg"), ("kg", "kg")])
def test_fhir_unit_text_that_agrees_or_is_display_only_is_read(tmp_path, text, code):
    r = _fhir_weight(tmp_path, {"value": 72, "unit": text, "system": UCUM, "code": code})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["weight"] == ("72 kg" if code == "kg" else "72 lb")


@pytest.mark.parametrize("text,code,value", [("pounds", "kg", 70),
                                             ("kilograms", "[lb_av]", 160)])
def test_fhir_unit_text_spelled_out_is_not_ignored(tmp_path, text, code, value):
    r = _fhir_weight(tmp_path, {"value": value, "unit": text, "system": UCUM, "code": code})
    assert r.returncode == 2, r.stdout.decode()[:300]
    assert b"name different units" in r.stderr


def test_fhir_weight_with_a_comparator_is_not_taken_as_exact(tmp_path):
    r = _fhir_weight(tmp_path, {"value": 70, "comparator": "<", "unit": "kg", "system": UCUM,
                                "code": "kg"})
    assert r.returncode == 2, r.stdout.decode()[:300]


@pytest.mark.parametrize("weight", ["\u09ea0 kg", "\uff17\uff10 kg", "\u0667\u0660 kg"])
def test_weight_with_non_ascii_digits_is_refused(weight):
    """Bengali four looks like an 8: '৪0 kg' was read as 40 kg (fixed on main by 6178320)."""
    r = _run(["plan", "crps-schwartzman-2009", *FLAGS, "--weight", weight, "--format", "json"])
    assert r.returncode == 2, r.stdout.decode()[:200]


# --- still open: strictness and wording -------------------------------------------------------

def test_unit_with_spaces_inside_is_refused():
    r = _run(["plan", "crps-schwartzman-2009", *FLAGS, "--weight", "70 k g", "--format", "json"])
    assert r.returncode == 2


def test_batch_bare_weight_message_names_the_field_once(tmp_path):
    batch = tmp_path / "b.csv"
    batch.write_text("id,age,sex,weight,height\na,45,female,70,168cm\n")
    r = _run(["check", "--patients", str(batch)])
    record = json.loads(r.stdout.decode().splitlines()[0])
    assert record["exit"] == 2
    assert "weight: weight:" not in record["error"], record["error"]


def test_unknown_unit_message_lists_accepted_units_readably():
    r = _run(["plan", "crps-schwartzman-2009", *FLAGS, "--weight", "70 kgs"])
    err = r.stderr.decode()
    assert r.returncode == 2
    assert "characters)" not in err, err


def test_minus_zero_weight_is_not_called_negative(tmp_path):
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"id": "a", "weight": -0.0}\n')
    r = _run(["check", "--patients", str(batch)])
    assert "negative" not in json.loads(r.stdout.decode().splitlines()[0])["error"]


# --- non-ASCII digits in other numeric inputs (click's INTEGER/FLOAT use int() and float(),
# which read any Unicode decimal digit); fixed on main by 6178320 while this review ran ---------

@pytest.mark.parametrize("flag,value", [("--age", "\u09ea5"), ("--heart-rate", "\u09ea0"),
                                        ("--priming", "\u09ea0"),
                                        ("--bp", "\u09e7\u09e8\u09ea/\u09ea\u09e8")])
def test_numeric_flags_with_non_ascii_digits_are_refused(flag, value):
    """Bengali '৪5' (looks like 85) was read as age 45 (fixed on main by 6178320)."""
    flags = [f for f in FLAGS]
    if flag == "--age":
        i = flags.index("--age")
        del flags[i:i + 2]
    r = _run(["plan", "crps-schwartzman-2009", *flags, "--weight", "70kg", flag, value,
              "--format", "json"])
    assert r.returncode == 2, r.stdout.decode()[:200]


def test_batch_age_with_non_ascii_digits_is_an_error_record(tmp_path):
    batch = tmp_path / "b.csv"
    batch.write_text("id,age,sex,weight,height\na,\u09ea5,female,70kg,168cm\n", encoding="utf-8")
    r = _run(["check", "--patients", str(batch)])
    assert json.loads(r.stdout.decode().splitlines()[0])["exit"] == 2


# --- still open: ketadose.api --------------------------------------------------------------

def test_api_numpy_integer_is_read_or_refused_with_ketadose_error():
    np = pytest.importorskip("numpy")
    from ketadose import api
    from ketadose.errors import KetadoseError

    batch = api.Batch("check", api.load_regimen("crps-schwartzman-2009"))
    try:
        doc = batch.document({"id": "p1", "age": np.int64(40), "weight": "70 kg"})
    except KetadoseError:
        return
    assert doc["exit"] in (0, 2)


# --- still open: 1e400 parity and batch error records ------------------------------------------

def test_priming_1e400_message_names_the_number_as_written():
    r = _run(["plan", "crps-schwartzman-2009", *FLAGS, "--weight", "70kg", "--priming", "1e400"])
    assert r.returncode == 2
    assert b"'1e400' is not a finite number" in r.stderr, r.stderr


def test_csv_error_record_keeps_the_id(tmp_path):
    batch = tmp_path / "b.csv"
    batch.write_text("id,age,sex,weight,height\npatient-7,abc,female,70kg,168cm\n")
    r = _run(["check", "--patients", str(batch)])
    record = json.loads(r.stdout.decode().splitlines()[0])
    assert record["exit"] == 2 and record.get("id") == "patient-7", record


@pytest.mark.parametrize("args", [["--help"], ["plan", "--help"]])
def test_help_to_a_full_regular_file_leaves_no_cut_line(tmp_path, args):
    import resource
    import signal

    target = tmp_path / "help.txt"

    def setup():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.close(fd)

    r = _run(args, setup)
    assert r.returncode == 2, r.stderr
    assert target.read_bytes() == b""
