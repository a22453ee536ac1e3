"""Audit trail and `ketadose verify`."""

import json

import yaml
from test_plan import PATIENT

from conftest import template_text


def test_plan_and_check_carry_the_audit(run, write):
    path = write(yaml.safe_dump(PATIENT), "p.yaml")
    plan = json.loads(run("plan", "sci-amr-2010", "--patient", path, "--format", "json").stdout)
    audit = plan["audit"]
    for key in ("ketadose_version", "regimen_sha256", "limits_version", "patient_sha256",
                "computed_at", "inputs"):
        assert audit[key], key
    assert audit["regimen_sha256"] == plan["regimen"]["sha256"]
    check = json.loads(run("check", "sci-amr-2010", "--patient", path, "--format", "json").stdout)
    assert check["audit"]["patient_sha256"] == audit["patient_sha256"]


def test_reproducible_runs_are_byte_identical(run, write):
    path = write(yaml.safe_dump(PATIENT), "p.yaml")
    args = ("plan", "crps-schwartzman-2009", "--patient", path, "--format", "json", "--reproducible")
    a, b = run(*args).stdout, run(*args).stdout
    assert a == b and "computed_at" not in a


def test_verify_matches_and_detects_a_changed_regimen(run, write, tmp_path):
    ppath = write(yaml.safe_dump(PATIENT), "p.yaml")
    rpath = write(template_text(), "regimen.yaml")
    out = tmp_path / "plan.json"
    run("plan", rpath, "--patient", ppath, "--format", "json", "-o", str(out))
    r = run("verify", str(out))
    assert r.exit_code == 0 and "MATCHES" in r.stdout
    (tmp_path / "regimen.yaml").write_text(template_text().replace("max_rate: 25 mg/h ", "max_rate: 20 mg/h "))
    r = run("verify", str(out), "--format", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 1 and not data["matches"]
    assert any("regimen file changed" in p for p in data["problems"])


def test_verify_a_check_and_a_tampered_output(run, write, tmp_path):
    ppath = write(yaml.safe_dump(PATIENT), "p.yaml")
    out = tmp_path / "check.json"
    run("check", "crps-schwartzman-2009", "--patient", ppath, "--format", "json", "-o", str(out))
    assert run("verify", str(out)).exit_code == 0
    data = json.loads(out.read_text())
    data["status"] = "clear"
    out.write_text(json.dumps(data))
    r = run("verify", str(out))
    assert r.exit_code == 1 and "status" in r.stdout


def test_verify_refuses_non_outputs(run, write):
    assert run("verify", write("{}", "x.json")).exit_code == 2
    assert run("verify", write("not json", "y.json")).exit_code == 2
