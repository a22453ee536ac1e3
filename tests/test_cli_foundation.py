import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml

from conftest import REGIMENS, TEMPLATE_NAMES, template_data, template_text
from ketadose import __version__


def test_version(run):
    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.output


def test_validate_shipped_templates_ok(run):
    paths = [str(REGIMENS.joinpath(n)) for n in TEMPLATE_NAMES]
    r = run("validate", *paths)
    assert r.exit_code == 0, r.output
    assert "all valid" in r.stdout


def test_validate_finding_line_format(run, write):
    path = write(template_text().replace("rate: 0.35 mg/kg/h", "rate: 22.2 mg/hr/kg"))
    r = run("validate", path)
    assert r.exit_code == 1
    first = r.stdout.splitlines()[0]
    line_no = template_text().splitlines().index(
        next(ln for ln in template_text().splitlines() if "rate: 0.35 mg/kg/h" in ln)) + 1
    assert first.startswith(f"{path}:{line_no}:13: error KD-LIM-001 ")


def test_validate_json_fields(run, write):
    data = template_data()
    data["schedule"]["phases"][0]["max_rte"] = "25 mg/h"
    r = run("validate", "--format", "json", write(data))
    assert r.exit_code == 1
    [item] = json.loads(r.stdout)
    assert set(item) >= {"file", "line", "column", "rule", "severity", "message", "source"}
    assert item["rule"] == "KD-V002" and isinstance(item["line"], int)


def test_validate_github_format(run, write):
    data = template_data()
    data["drug"] = "ketamine"
    r = run("validate", "--format", "github", write(data))
    assert r.exit_code == 1 and r.stdout.startswith("::error file=")


def test_validate_stdin(run):
    r = run("validate", "-", input=template_text())
    assert r.exit_code == 0
    r = run("validate", "-", input="a: [1,\n")
    assert r.exit_code == 1 and "<stdin>:" in r.stdout


def test_validate_unreadable_is_exit_2(run, tmp_path):
    r = run("validate", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 2 and "no such file" in r.stderr and "Traceback" not in r.output


def test_validate_huge_file_is_exit_2_and_fast(run, write):
    path = write(b"# " + b"x" * (50 * 1024 * 1024), "big.yaml")
    r = run("validate", path)
    assert r.exit_code == 2 and "larger than" in r.stderr


@pytest.mark.parametrize("content", [
    b"", b"- a\n- b\n", b"42\n", b"a:\n\tb: 1\n", b"a: \xff\n", b"a: !!python/object:os.system {}\n",
    b"rate: 1 mg/h\nrate: 2 mg/h\n",
])
def test_bad_files_are_one_line_findings(run, write, content):
    r = run("validate", write(content))
    assert r.exit_code == 1
    assert len(r.stdout.splitlines()) == 2  # the finding, then the summary
    assert "KD-V001" in r.stdout


def test_usage_error_is_exit_2(run):
    assert run("validate").exit_code == 2
    assert run("validate", "--format", "xml", "x.yaml").exit_code == 2


def test_schema_is_valid_and_accepts_templates(run):
    r = run("schema", "regimen")
    schema = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for name in TEMPLATE_NAMES:
        jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(template_text(name)))


def test_schema_rejects_an_unknown_key(run):
    schema = json.loads(run("schema", "regimen").stdout)
    data = template_data()
    data["max_rte"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_limits_and_rules_list_sources(run):
    r = run("limits", "--format", "json")
    data = json.loads(r.stdout)
    assert data["version"] and all(lim["source"] for lim in data["limits"])
    rules = json.loads(run("rules", "--format", "json").stdout)
    ids = {r["id"] for r in rules}
    assert {"KD-V001", "KD-V010", "KD-LIM-001"} <= ids
    assert all(r["source"] for r in rules)
    one = run("rules", "KD-V012")
    assert one.exit_code == 0 and "FAIL" in one.stdout and "PASS" in one.stdout
    assert run("rules", "KD-NOPE").exit_code == 2


def test_tables_go_to_stdout_without_colour_when_piped(run):
    r = run("limits", env={"NO_COLOR": "1"})
    assert r.exit_code == 0 and "KD-LIM-001" in r.stdout and "\x1b[" not in r.stdout


def _installed(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "ketadose")
    cmd = [exe, *args] if os.path.exists(exe) else [sys.executable, "-m", "ketadose", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")


def test_installed_command_runs_from_another_directory():
    r = _installed("--version")
    assert r.returncode == 0 and __version__ in r.stdout
    r = _installed("validate", "crps-schwartzman-2009")
    assert r.returncode == 0, r.stderr


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "ketadose", "rules", "--format", "json"],
                       capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 0 and json.loads(r.stdout)


def test_subprocess_bad_input_has_no_traceback(tmp_path):
    bad = tmp_path / "bomb.yaml"
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'] + [
        f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]" for i in range(1, 10)]
    bad.write_text("\n".join(lines))
    r = _installed("validate", str(bad))
    assert r.returncode == 1 and "Traceback" not in r.stderr + r.stdout


def test_documented_minimal_example_validates(run, write):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "regimen-format.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    r = run("validate", write(example))
    assert r.exit_code == 0, r.stdout
