"""One way through the house for `plan` (issue 17): the core returns a PlanResult, one module
makes the JSON contract from it, and every renderer takes (result, stream), writing to that
stream only, exactly what the CLI writes."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import yaml

from ketadose.commands.plan import render, result_for
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.planning import PlanOptions
from ketadose.render.documents.plan import batch_record, document

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "patient.yaml")
FORMATS = ("json", "yaml", "csv", "fhir", "html", "table")
START = dt.datetime(2026, 12, 1, 9, 0)


def _result(regimen_id, record=None, **options):
    src, regimen, findings = load_regimen(regimen_id, ())
    path = EXAMPLE
    if record is not None:
        path = str(Path(options.pop("tmp")) / "p.yaml")
        Path(path).write_text(yaml.safe_dump(record), encoding="utf-8")
    patient, patient_data = load_patient(path, {}, START.date())
    opts = PlanOptions.of({"start": START, "date": START.date(), "reproducible": True, **options})
    return result_for(src, regimen, findings, patient, patient_data, opts, START.date())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("regimen_id", ["crps-schwartzman-2009", "oral-marchetti-2015",
                                        "cancer-pain-burst-ketamine"])
def test_each_renderer_writes_only_to_its_stream_what_the_cli_writes(run, capsys, fmt, regimen_id):
    result = _result(regimen_id, format=fmt, explain=fmt == "table")
    stream = io.StringIO()
    render(result, fmt, stream)
    assert stream.getvalue() and not capsys.readouterr().out  # nothing went around the stream
    cli = run("plan", regimen_id, "--patient", EXAMPLE, "--start", "2026-12-01T09:00",
              "--reproducible", "--format", fmt, *(["--explain"] if fmt == "table" else []))
    assert cli.exit_code == 0
    assert stream.getvalue() == cli.stdout


def test_the_document_is_a_function_of_the_result():
    result = _result("crps-schwartzman-2009", format="json", explain=True)
    first = document(result)
    assert document(result) == first
    assert first["audit"] == result.audit and first["blocked"] is False
    assert len(first["sessions"]) == result.regimen.days
    # a batch line carries the same plan, without the audit and the --explain derivations
    line = batch_record(result)
    assert line["exit"] == 0 and "audit" not in line["plan"] and "explain" not in line["plan"]
    assert line["plan"]["sessions"] == json.loads(json.dumps(
        [{**s, "phases": [{k: v for k, v in p.items() if k != "derivation"} for p in s["phases"]]}
         for s in first["sessions"]]))


def test_a_screen_blocked_result_has_no_plan_and_says_why(tmp_path):
    record = {**yaml.safe_load(Path(EXAMPLE).read_text(encoding="utf-8")), "pregnant": True}
    result = _result("crps-schwartzman-2009", record, tmp=tmp_path, format="json")
    assert result.plan is None and result.blocked and result.exit_code == 1
    doc = document(result)
    assert doc["blocked"] is True and doc["sessions"] is None
    assert {f["rule"] for f in doc["screen"]["findings"]} >= {"KD-CI-007"}
    assert batch_record(result) == {"exit": 1, "blocked": True, "screen": doc["screen"],
                                    "plan": None}


@pytest.mark.parametrize("fmt,refused", [(f, False) for f in FORMATS]
                         + [("json", True), ("table", True)])
def test_dash_o_is_the_stream_the_cli_opens_with_the_bytes_stdout_gets(tmp_path, fmt, refused):
    """Through the real entry point: -o FILE holds exactly what standard output would (no
    captured stdout, nothing left on it), for every plan format, a refused plan too."""
    import subprocess
    import sys

    patient = EXAMPLE
    if refused:  # pregnant: a relative contraindication, no plan without --override
        record = {**yaml.safe_load(Path(EXAMPLE).read_text(encoding="utf-8")), "pregnant": True}
        patient = str(tmp_path / "pregnant.yaml")
        Path(patient).write_text(yaml.safe_dump(record), encoding="utf-8")
    args = [sys.executable, "-m", "ketadose", "plan", "crps-schwartzman-2009", "--patient",
            patient, "--start", "2026-12-01T09:00", "--reproducible", "--format", fmt]
    piped = subprocess.run(args, capture_output=True, timeout=120, cwd=tmp_path)
    written = subprocess.run([*args, "-o", "out", "-q"], capture_output=True, timeout=120,
                             cwd=tmp_path)
    assert piped.returncode == written.returncode == (1 if refused else 0)
    assert written.stdout == b"" and written.stderr == b""
    assert (tmp_path / "out").read_bytes() == piped.stdout != b""
