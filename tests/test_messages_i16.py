"""Issue 16 item 4 messages, through the real CLI."""

import json

import pytest


def _weight_from(run, tmp_path, how, weight):
    """(exit code, stderr, per-record error or None) for a patient weighing `weight`."""
    if how == "flag":
        r = run("check", "crps-schwartzman-2009", f"--weight={weight}", "--age", "40",
                "--format", "json")
        return r.exit_code, r.stderr, None
    if how == "yaml":
        p = tmp_path / "p.yaml"
        p.write_text(f"age: 40\nweight: {weight}\n")
        r = run("check", "crps-schwartzman-2009", "--patient", str(p), "--format", "json")
        return r.exit_code, r.stderr, None
    if how == "jsonl":
        p = tmp_path / "p.jsonl"
        p.write_text(json.dumps({"id": "a", "age": 40, "weight": json.loads(weight)}) + "\n")
    else:
        p = tmp_path / "p.csv"
        p.write_text(f"id,age,weight\na,40,{weight}\n")
    r = run("check", "crps-schwartzman-2009", "--patients", str(p), "--format", "jsonl")
    rec = json.loads(r.stdout.splitlines()[0])
    return r.exit_code, r.stderr, rec.get("error")


@pytest.mark.parametrize("how", ["flag", "yaml", "jsonl", "csv"])
def test_a_bare_weight_is_refused_in_every_input(run, tmp_path, how):
    # 160 typed as lb would be a 160 kg plan: no unit is assumed (safety principle: no silent
    # defaults for anything that changes a dose)
    code, stderr, error = _weight_from(run, tmp_path, how, "72")
    text = error if error is not None else stderr
    assert code == 2, (stderr, error)
    assert "'72' has no unit; write it with one, e.g. '72 kg' or '72 lb' (body weight: kg, lb)" \
        in str(text), text


@pytest.mark.parametrize("how", ["flag", "yaml", "jsonl", "csv"])
def test_a_negative_weight_says_negative_in_every_input(run, tmp_path, how):
    code, stderr, error = _weight_from(run, tmp_path, how, "-70")
    text = error if error is not None else stderr
    assert "'-70' is negative; a negative quantity is never valid here" in str(text), text
    assert "has no unit" not in str(text)


def test_weight_with_a_wrong_unit_lists_only_weight_units(run):
    r = run("check", "crps-schwartzman-2009", "--weight", "72 mg", "--age", "40")
    assert r.exit_code == 2
    assert "mg/kg/h" not in r.stderr and "umol/L" not in r.stderr and len(r.stderr) < 200
    r = run("check", "crps-schwartzman-2009", "--weight", "1e6 kg", "--age", "40")
    assert r.exit_code == 2 and "outside" in r.stderr and "has no unit" not in r.stderr


@pytest.mark.parametrize("drug, message", [
    ("ketamine", "drug 'ketamine' is not one of: racemic-ketamine, esketamine; did you mean "
                 "'racemic-ketamine'?"),
    ("esketamin", "drug 'esketamin' is not one of: racemic-ketamine, esketamine; did you mean "
                  "'esketamine'? (esketamine is the S(+) form, about twice as potent as racemic "
                  "ketamine, a factor UNVERIFIED as a conversion: docs/evidence.md E and G8)"),
])
def test_a_drug_suggestion_never_changes_potency_silently(run, write, drug, message):
    from conftest import template_text

    path = write(template_text().replace("drug: racemic-ketamine", f"drug: {drug}"))
    r = run("validate", path, "--format", "json")
    assert r.exit_code == 1
    assert message in [f["message"] for f in json.loads(r.stdout) if f["rule"] == "KD-V006"]


def test_the_readme_override_hints_meet_the_reason_minimum():
    import pathlib
    import re

    from ketadose.text import visible_length

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    reasons = re.findall(r'--override "([^"]*)"', readme)
    assert reasons and all(visible_length(r) >= 10 for r in reasons), reasons


def test_an_unknown_condition_filter_is_an_error_with_suggestions(run):
    r = run("list", "--condition", "CRPS")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == "ketadose: error: --condition 'CRPS' is not a condition id; did you mean crps?\n"
    r = run("list", "--condition", "uncontrolled-hypertension")  # a patient condition, not an indication
    assert r.exit_code == 2 and "known: " in r.stderr and "crps" in r.stderr
    r = run("list", "--condition", "crps", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)
