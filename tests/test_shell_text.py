"""Text from files and options is shown literally (issue 15, part 5), and `verify` compares
typed JSON recomputed through the core (part 6). Through the real entry point."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import yaml
from test_shell_boundary import EXAMPLE, ketadose, one_line_error, run_in_pty

from conftest import template_data

EVIL_TITLE = ("[/] [max 0.2 mg/day] [link=https://evil.invalid]click[/link] "
              "\x1b]0;pwned\x07 \x1b[2J")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def evil(tmp_path):
    data = template_data()
    data["title"] = EVIL_TITLE
    data["schedule"]["phases"][0]["name"] = '=HYPERLINK("http://x.invalid","y")'
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", ["plan", "check", "show"])
def test_markup_in_a_regimen_is_text(evil, command):
    args = [command, evil] + (["--patient", EXAMPLE] if command != "show" else [])
    r = ketadose(*args)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    if command != "check":  # check shows the regimen id, not its title
        assert "[/] [max 0.2 mg/day] [link=https://evil.invalid]click[/link]" in out
        assert "\\x1b]0;pwned\\x07" in out
    assert not RAW_CONTROL.search(out)
    assert b"\x1b]8;" not in r.stdout  # no live hyperlink


def test_markup_in_override_is_text():
    r = ketadose("plan", "crps-schwartzman-2009", "--patient", EXAMPLE,
                 "--override", "[/] reason [bold]given[/bold] at the bedside")
    assert r.returncode == 0, r.stderr
    assert "[/] reason [bold]given[/bold] at the bedside" in r.stdout.decode()


def test_escape_sequences_never_reach_an_interactive_terminal(evil, tmp_path):
    code, screen = run_in_pty(["plan", evil, "--patient", EXAMPLE], tmp_path)
    assert code == 0, screen
    assert b"\x1b]0;" not in screen and b"\x1b[2J" not in screen and b"\x07" not in screen
    assert b"\\x1b]0;pwned" in screen


def test_csv_cells_cannot_start_a_formula(evil):
    r = ketadose("plan", evil, "--patient", EXAMPLE, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode())))
    assert rows and all(row["phase"].startswith("'=HYPERLINK") for row in rows[:1])
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                   for row in rows for cell in row.values() if cell and not _number(cell))


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_a_file_name_cannot_inject_a_github_annotation(tmp_path):
    name = tmp_path / "bad\n::error file=x.yaml::pwned.yaml"
    name.write_text("id: x\n")
    r = ketadose("validate", str(name), "--format", "github")
    assert r.returncode == 1
    lines = r.stdout.decode().splitlines()
    assert lines and all(line.startswith("::error file=") for line in lines)
    assert all(line.count("::") == 2 for line in lines)  # '::level' and '::message' only
    assert "%0A%3A%3Aerror file%3Dx.yaml" not in lines[0]  # '=' is not escaped by the toolkit
    assert "%0A%3A%3Aerror file=x.yaml%3A%3Apwned.yaml" in lines[0]


def test_fhir_refuses_a_patient_id_that_is_not_a_fhir_id(tmp_path):
    patient = yaml.safe_load(open(EXAMPLE))
    patient["id"] = "../Practitioner/7"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(patient))
    r = ketadose("plan", "crps-schwartzman-2009", "--patient", str(path), "--format", "fhir")
    assert r.returncode == 2 and "not a FHIR id" in one_line_error(r) and r.stdout == b""


def test_error_messages_do_not_print_a_password_file(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$saltsalt$hashhashhash:20228:0:99999:7:::\n"
                      "daemon:*:20228:0:99999:7:::\n")
    for args in (["plan", "crps-schwartzman-2009", "--patient", str(secret)],
                 ["plan", str(secret), "--patient", EXAMPLE], ["validate", str(secret)]):
        r = ketadose(*args)
        assert r.returncode in (1, 2)
        assert b"saltsalt" not in r.stdout + r.stderr and b"daemon" not in r.stdout + r.stderr


def test_bidi_overrides_in_a_regimen_are_refused(tmp_path):
    data = template_data()
    data["title"] = "dose 1\u202e01 mg"
    path = tmp_path / "bidi.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = ketadose("show", str(path), "--format", "yaml")
    assert r.returncode == 2 and "U+202E" in one_line_error(r)


# ------------------------------------------------------------------ 6. verify
@pytest.fixture
def saved(tmp_path):
    def make(*extra, name="plan.json"):
        out = tmp_path / name
        r = ketadose("plan", "crps-schwartzman-2009", "--patient", EXAMPLE, "--format", "json",
                     "--concentration", "1mg/mL", "-o", str(out), *extra)
        assert r.returncode == 0, r.stderr
        return out
    return make


def _verify(path):
    return ketadose("verify", str(path), "--format", "json")


def test_verify_a_booleans_is_not_a_number(saved):
    out = saved()
    text = out.read_text()
    assert '"blocked": false' in text and '"cap_binds": true' in text
    for old, new in (('"blocked": false', '"blocked": 0'), ('"cap_binds": true', '"cap_binds": 1')):
        out.write_text(text.replace(old, new, 1))
        r = _verify(out)
        assert r.returncode == 1 and not json.loads(r.stdout)["matches"], (old, r.stdout)


def test_verify_refuses_duplicate_keys(saved):
    out = saved()
    text = out.read_text()
    tampered = re.sub(r'"rate_ml_per_h": 25\.0', '"rate_ml_per_h": 250.0, "rate_ml_per_h": 25.0',
                      text, count=1)
    assert tampered != text
    out.write_text(tampered)
    r = _verify(out)
    assert r.returncode == 2 and "duplicate key" in one_line_error(r)


def test_verify_matches_an_untampered_plan_saved_with_explain(saved):
    r = _verify(saved("--explain"))
    assert r.returncode == 0, r.stdout


def test_verify_matches_a_plan_made_without_start_after_its_day_has_passed(saved):
    out = saved()
    data = json.loads(out.read_text())
    data["audit"]["inputs"]["options"]["date"] = "2026-01-05"  # as if saved on that day
    data["date_probe"] = None
    del data["date_probe"]
    out.write_text(json.dumps(data, indent=2))
    r = _verify(out)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("change", [
    lambda a: a.pop("inputs"),
    lambda a: a.update(inputs=[]),
    lambda a: a["inputs"].update(patient="x"),
    lambda a: a["inputs"].update(options=None),
    lambda a: a["inputs"]["options"].update(command=7),
    lambda a: a["inputs"]["options"].update(command="simulate"),
    lambda a: a["inputs"]["options"].update(date="not a date"),
    lambda a: a["inputs"]["options"].update(start="9999-99-99"),
    lambda a: a["inputs"]["options"].update(priming=float("1e999")),
    lambda a: a["inputs"]["options"].update(concentration="0 mg/mL"),
    lambda a: a["inputs"]["options"].update(weight_basis=["x"]),
    lambda a: a["inputs"]["options"].update(explain="yes"),
    lambda a: a["inputs"]["patient"].update(weight=[1]),
    lambda a: a.update(regimen_file=None, regimen_id=None),
])
def test_verify_malformed_audit_blocks_are_input_errors(saved, change):
    out = saved()
    data = json.loads(out.read_text())
    change(data["audit"])
    out.write_text(json.dumps(data).replace("Infinity", "1e999"))
    r = _verify(out)
    assert r.returncode == 2, (r.returncode, r.stderr)
    one_line_error(r)


def test_verify_recomputes_through_the_core_not_the_cli(saved, monkeypatch):
    """The recomputation must not run a command (it once captured the command's stdout)."""
    from click.testing import CliRunner

    import ketadose.commands.plan as plan_cmd
    from ketadose.cli import cli

    out = saved()

    def refuse(*a, **k):
        raise AssertionError("verify ran the plan command")

    monkeypatch.setattr(plan_cmd, "run_plan", refuse)
    r = CliRunner().invoke(cli, ["verify", str(out)])
    assert r.exit_code == 0, r.output


def test_verify_compares_what_the_plan_renderer_writes(saved, monkeypatch):
    """The plan is recomputed through the result and the renderer `plan --format json` writes
    with: a change made by that renderer alone is a difference."""
    from click.testing import CliRunner

    import ketadose.render.plan_data as plan_data
    from ketadose.cli import cli

    out = saved()
    real = plan_data.write_json

    def changed(result, stream):
        buf = io.StringIO()
        real(result, buf)
        stream.write(buf.getvalue().replace('"blocked": false', '"blocked": true', 1))

    monkeypatch.setattr(plan_data, "write_json", changed)
    r = CliRunner().invoke(cli, ["verify", str(out), "--format", "json"])
    assert r.exit_code == 1 and json.loads(r.output)["differences"] == ["blocked"], r.output


def test_json_output_never_has_nan(tmp_path):
    for args in (["plan", "crps-schwartzman-2009", "--patient", EXAMPLE, "--format", "json",
                  "--priming", "20"],
                 ["simulate", "oral-marchetti-2015", "--patient", EXAMPLE, "--format", "json",
                  "--resolution", "60 min", "--ka", "0.02"]):
        r = ketadose(*args)
        assert r.returncode in (0, 1)
        json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
