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
