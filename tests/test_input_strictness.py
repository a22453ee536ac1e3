"""Input strictness: the same patient record means the same thing, or is refused with the same
one line, whichever way it comes in (a flag, a YAML or JSON patient file, a JSON Lines or CSV
batch line); nothing that changes a dose is silently defaulted.

The properties run the CLI in-process (click's runner) over generated values; a few cases run
the real entry point (``python -m ketadose``) for the exit code, the one stderr line and the
empty stdout.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import budget
from ketadose.cli import cli as main

REGIMEN = "crps-schwartzman-2009"


def _invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _single(result):
    """(exit code, dosing weight in kg or None, the error line or None) of one patient."""
    if result.exit_code == 2:
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
        line = result.stderr.strip().removeprefix("ketadose: error: ")
        line = re.sub(r"^(--[\w-]+|\S+:\d+:\d+): ", "", line).removeprefix("invalid patient: ")
        return 2, None, line
    data = json.loads(result.stdout)
    return result.exit_code, data["patient"]["dosing_weight_kg"], None


def _batch(result):
    [line] = result.stdout.splitlines()
    rec = json.loads(line)
    if rec["exit"] == 2:
        # a batch's error names the field first (the finding's path), as a file names its place
        return 2, None, re.sub(r"^weight: (?=weight)", "", rec["error"])
    return rec["exit"], rec["plan"]["patient"]["dosing_weight_kg"], None


def outcomes(tmp, weight) -> dict:
    """The outcome of a plan for a patient weighing ``weight`` (a number or a text) given each
    way: exit code, dosing weight, and the message (without its file:line:col or field)."""
    out = {}
    out["flag"] = _single(_invoke("plan", REGIMEN, "--weight", str(weight), "--format", "json"))
    for kind, dump in (("yaml", yaml.safe_dump), ("json", json.dumps)):
        path = tmp / f"p.{kind}"
        path.write_text(dump({"weight": weight}))
        out[kind] = _single(_invoke("plan", REGIMEN, "--patient", str(path), "--format", "json"))
    path = tmp / "b.jsonl"
    path.write_text(json.dumps({"weight": weight}) + "\n")
    out["jsonl"] = _batch(_invoke("plan", REGIMEN, "--patients", str(path), "--format", "jsonl"))
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["weight"], [str(weight)]])
    path = tmp / "b.csv"
    path.write_text(text.getvalue())
    out["csv"] = _batch(_invoke("plan", REGIMEN, "--patients", str(path), "--format", "jsonl"))
    return out


_NUMBERS = st.one_of(st.integers(-5, 450), st.floats(0, 450, allow_nan=False),
                     st.sampled_from([70, 70.0, 0.5, 1e-3, 160, 1e400, float("inf")]))


@st.composite
def weights(draw):
    number = draw(_NUMBERS)
    form = draw(st.sampled_from(["number", "text", "kg", " kg", "lb", " lb"]))
    if form == "number":
        return number
    text = repr(number) if isinstance(number, float) else str(number)
    return text if form == "text" else text + form


@settings(max_examples=budget(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(weight=weights())
def test_a_weight_has_one_outcome_whichever_way_it_comes_in(tmp_path, weight):
    got = outcomes(tmp_path, weight)
    assert len({(code, kg) for code, kg, _ in got.values()}) == 1, got
    # the same words too, where each way writes the value the same way (an infinite float is
    # written inf, .inf and Infinity: each is refused as not finite, in its own spelling)
    if "inf" not in str(weight):
        assert len({m for _, _, m in got.values()}) == 1, got
    bare = isinstance(weight, (int, float)) or not weight.rstrip().endswith(("kg", "lb"))
    if bare:
        code, kg, message = got["flag"]
        assert code == 2 and kg is None, got


def test_a_bare_weight_is_refused_with_one_message_everywhere(tmp_path):
    got = outcomes(tmp_path, 160)
    message = ("weight: '160' has no unit; write it with one, e.g. '160 kg' or '160 lb' "
               "(body weight: kg, lb)")
    assert got == dict.fromkeys(("flag", "yaml", "json", "jsonl", "csv"), (2, None, message))
    assert outcomes(tmp_path, "160")["yaml"] == (2, None, message)
    assert outcomes(tmp_path, "160 lb")["csv"][:2] == (0, 72.57)


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], capture_output=True,
                          timeout=120, input=stdin)


def one_line_error(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[:300], proc.stderr)
    assert proc.stdout == b"" and b"Traceback" not in proc.stderr
    [line] = proc.stderr.decode("utf-8", "backslashreplace").splitlines()
    return line


def test_a_bare_weight_through_the_real_entry_point(tmp_path):
    line = one_line_error(cli("plan", REGIMEN, "--weight", "160"))
    assert line == ("ketadose: error: --weight: invalid patient: weight: '160' has no unit; "
                    "write it with one, e.g. '160 kg' or '160 lb' (body weight: kg, lb)")
    path = tmp_path / "p.yaml"
    path.write_text("age: 40\nweight: 160\n")
    line = one_line_error(cli("check", REGIMEN, "--patient", str(path)))
    assert line.startswith(f"ketadose: error: {path}:2:9: invalid patient: weight: '160' has no")


def test_a_number_too_large_for_a_float_has_one_message_in_a_file_and_in_a_batch(tmp_path, run):
    """1e400 read as a JSON or YAML number becomes inf: each reader refuses it with the number
    as written (a batch said "'inf' has no unit", a file "not a finite number")."""
    message = "'1e400' is not a finite number"
    for name, text in (("p.yaml", "weight: 1e400\n"), ("p.json", '{"weight": 1e400}')):
        path = tmp_path / name
        path.write_text(text)
        r = run("plan", REGIMEN, "--patient", str(path))
        assert r.exit_code == 2 and r.stderr.endswith(f": {message}\n"), r.stderr
    path = tmp_path / "b.jsonl"
    path.write_text('{"weight": 1e400}\n{"weight":1e400}\n{"weight": "70 kg", "age": 4e1}\n')
    for jobs in ("1", "2"):
        r = run("plan", REGIMEN, "--patients", str(path), "--format", "jsonl", "--jobs", jobs)
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        assert [rec.get("error") for rec in recs[:2]] == [message, message], recs
        assert recs[2]["exit"] == 2 and "age" in recs[2]["error"]  # 4e1 is a float, not an age
    r = run("plan", REGIMEN, "--weight", "1e400 kg")
    assert r.exit_code == 2 and r.stderr.endswith(f"weight: {message}\n"), r.stderr


# ---------------------------------------------------------------- control characters in text

_UNSAFE_CHARS = ["\u202e", "\u2066", "\x01", "\x1b", "\x7f", "\x85", "\x9f"]


def _text_outcomes(tmp, field, char) -> dict:
    """The error (or None) of a record whose ``field`` text holds ``char``, each way in."""
    flag = {"allergies": "--allergy", "conditions": "--condition", "medications": "--medication"}
    text = f"keta{char}mine"
    value = [{"name": text}] if field == "medications" else [text]
    record = {"weight": "70 kg", field: value}
    out = {}
    r = _invoke("check", "--weight", "70kg", flag[field], text, "--format", "json")
    out["flag"] = r.exit_code, r.stderr.count("\n"), r.stderr
    path = tmp / "p.json"
    path.write_text(json.dumps(record))  # the character as a \u escape
    r = _invoke("check", "--patient", str(path), "--format", "json")
    out["json"] = r.exit_code, r.stderr.count("\n"), r.stderr
    path = tmp / "p.yaml"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")  # as it is
    r = _invoke("check", "--patient", str(path), "--format", "json")
    out["yaml"] = r.exit_code, r.stderr.count("\n"), r.stderr
    for ascii_only in (True, False):
        path = tmp / "b.jsonl"
        path.write_text(json.dumps(record, ensure_ascii=ascii_only) + "\n", encoding="utf-8")
        r = _invoke("check", "--patients", str(path), "--format", "jsonl")
        out[f"jsonl{ascii_only}"] = json.loads(r.stdout)["exit"], 0, json.loads(r.stdout)["error"]
    if field != "medications":
        path = tmp / "b.csv"
        path.write_text(f"weight,{field}\n70 kg,{text}\n", encoding="utf-8")
        r = _invoke("check", "--patients", str(path), "--format", "jsonl")
        out["csv"] = json.loads(r.stdout)["exit"], 0, json.loads(r.stdout)["error"]
    return out


@settings(max_examples=budget(20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(["allergies", "conditions", "medications"]),
       char=st.sampled_from(_UNSAFE_CHARS))
def test_a_control_character_in_a_text_is_refused_on_every_input_path(tmp_path, field, char):
    got = _text_outcomes(tmp_path, field, char)
    assert all(code == 2 for code, _, _ in got.values()), got
    assert all(lines == 1 for code, lines, _ in got.values() if lines), got
    word = f"U+{ord(char):04X}"
    assert all(word in message and message.rstrip().endswith("remove it")
               for _, _, message in got.values()), got


def test_a_control_character_through_the_real_entry_point():
    line = one_line_error(cli("check", "--weight", "70kg", "--allergy", "keta\u202emine"))
    assert line == ("ketadose: error: --allergy: invalid patient: allergies[0]: bidirectional "
                    "control character U+202E (it can reorder the text a reader sees); remove it")
    line = one_line_error(cli("check", "--weight", "70kg", "--medication", "morph\x01ine"))
    assert line.endswith("medications[0].name: control character U+0001 (a reader cannot see "
                         "it); remove it")


def test_an_invalid_argv_byte_is_refused_not_dropped(tmp_path):
    """A byte that is not UTF-8 (surrogateescape in argv): an --override reason is recorded in
    the audit, so it must be what was typed; a patient text must be a text."""
    for args in (["crps-schwartzman-2009", "--weight", "70kg", "--allergy", "ketamine",
                  "--override", b"patient consents \xff, discussed".decode("utf-8",
                                                                          "surrogateescape")],
                 ["--weight", "70kg", "--allergy", b"pen\xffcillin".decode("utf-8",
                                                                         "surrogateescape")]):
        proc = subprocess.run([sys.executable, "-m", "ketadose", "check",
                               *[a.encode("utf-8", "surrogateescape") for a in args]],
                              capture_output=True, timeout=120)
        line = one_line_error(proc)
        assert "U+DCFF is not a character" in line, line


def test_an_escaped_surrogate_pair_is_one_character_in_a_file_and_a_batch(tmp_path):
    """JSON writes a character beyond the BMP (an emoji) as two \\u escapes: a batch line and a
    JSON patient file both read the one character; a lone half is refused by both."""
    record = {"weight": "70 kg", "id": "p\U0001f600"}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(record))
    assert "\\ud83d\\ude00" in path.read_text()
    r = _invoke("check", "--patient", str(path), "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["patient"]["id"] == "p\U0001f600", r.stderr
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(record) + "\n")
    r = _invoke("check", "--patients", str(path), "--format", "jsonl")
    assert json.loads(r.stdout)["exit"] == 0
    path = tmp_path / "q.json"
    path.write_text('{"weight": "70 kg", "id": "\\ud83d"}')
    assert _invoke("check", "--patient", str(path)).exit_code == 2


def test_a_key_that_is_not_text_is_a_finding_not_a_type_error():
    from ketadose import api
    from ketadose.io.library import vocabulary
    from ketadose.patient import build

    patient, findings = build({1: 40}, vocabulary())
    assert patient is None and "key 1 in the document is not text" in findings[0].message
    patient, findings = build({"liver": {2: "40 U/L"}}, vocabulary())
    assert patient is None and findings[0].path == ("liver",)
    doc = api.Batch("check").document({1: 40})
    assert doc["exit"] == 2 and doc["error"].startswith("1: "), doc  # a finding, no TypeError


# ---------------------------------------------------------------- digits other than 0-9

_DIGITS = {"arabic-indic": 0x0660, "extended arabic-indic": 0x06F0, "full-width": 0xFF10,
           "devanagari": 0x0966}


@settings(max_examples=budget(20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(number=st.integers(10, 99), script=st.sampled_from(sorted(_DIGITS)),
       field=st.sampled_from(["weight", "age", "blood_pressure"]))
def test_a_digit_other_than_0_9_is_refused_in_every_numeric_field_and_path(tmp_path, number,
                                                                          script, field):
    digits = "".join(chr(_DIGITS[script] + int(d)) for d in str(number))
    value = {"weight": f"{digits} kg", "age": digits, "blood_pressure": f"{digits}0/{digits}"}[field]
    record = {"weight": "70 kg", field: value}
    flag = {"weight": "--weight", "age": "--age", "blood_pressure": "--bp"}[field]
    messages = []
    r = _invoke("check", *(["--weight", "70kg"] if field != "weight" else []), flag, value)
    messages.append((r.exit_code, r.stderr))
    for name, text in (("p.yaml", yaml.safe_dump(record, allow_unicode=True)),
                       ("p.json", json.dumps(record))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        r = _invoke("check", "--patient", str(path))
        messages.append((r.exit_code, r.stderr))
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(record) + "\n")
    rec = json.loads(_invoke("check", "--patients", str(path), "--format", "jsonl").stdout)
    messages.append((rec["exit"], rec["error"]))
    path = tmp_path / "b.csv"
    path.write_text(f"weight,{field}\n70 kg,{value}\n" if field != "weight"
                    else f"weight\n{value}\n", encoding="utf-8")
    rec = json.loads(_invoke("check", "--patients", str(path), "--format", "jsonl").stdout)
    messages.append((rec["exit"], rec["error"]))
    first = chr(_DIGITS[script] + int(str(number)[0]))
    want = (f"{value!r}: {first!r} (U+{ord(first):04X}) is not one of the digits 0-9; "
            "write numbers with the digits 0-9")
    assert all(code == 2 and want in message for code, message in messages), messages


def test_a_foreign_digit_through_the_real_entry_point():
    line = one_line_error(cli("check", "--weight", "\u0667\u0660 kg"))
    assert line == ("ketadose: error: --weight: invalid patient: weight: '\u0667\u0660 kg': "
                    "'\u0667' (U+0667) is not one of the digits 0-9; write numbers with the "
                    "digits 0-9")
    line = one_line_error(cli("plan", REGIMEN, "--weight", "70kg", "--priming", "\uff15"))
    assert "(U+FF15) is not one of the digits 0-9" in line


def test_a_lone_surrogate_has_one_message_in_a_file_a_batch_and_a_flag(tmp_path):
    message = "U+D83D is not a character (a lone surrogate: an invalid byte, or half of a broken \\u escape); remove it"
    path = tmp_path / "p.json"
    path.write_text('{"weight": "70 kg",\n "notes": "ab\\ud83d", "id": "\\\\ud83d"}')
    r = _invoke("check", "--patient", str(path))
    assert r.exit_code == 2 and r.stderr == f"ketadose: error: {path}:2:14: {message}\n"
    path = tmp_path / "b.jsonl"
    path.write_text('{"weight": "70 kg", "notes": "ab\\ud83d"}\n')
    rec = json.loads(_invoke("check", "--patients", str(path), "--format", "jsonl").stdout)
    assert rec["exit"] == 2 and rec["error"] == message
    r = _invoke("check", "--weight", "70kg", "--allergy", "ab\ud83d")
    assert r.exit_code == 2 and r.stderr.endswith(f"allergies[0]: {message}\n"), r.stderr
