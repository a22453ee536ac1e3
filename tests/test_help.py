"""Every command's --help (issue 16 item 6): its own options first, the shared ones grouped
last, help text for every option, 2-4 examples that parse; `new ID`; --start/--date; a batch
defaults to JSON Lines; help imports nothing heavy."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import click
import pytest

from ketadose.cli import cli
from ketadose.commands.help import EXAMPLES, SHARED

COMMANDS = sorted(cli.commands)
HEADINGS = ("Options:", "Patient (a file, flags, or both):", "Batch:", "Shared options:",
            "Examples:")


def help_text(name: str) -> str:
    from click.testing import CliRunner

    r = CliRunner().invoke(cli, [name, "--help"], terminal_width=80)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("name", COMMANDS)
def test_help_sections_in_order_with_examples(name):
    text = help_text(name)
    lines = text.splitlines()
    found = [h for h in lines if h in HEADINGS]
    assert found == [h for h in HEADINGS if h in found], found  # own options before shared ones
    assert found[-1] == "Examples:"
    examples = lines[lines.index("Examples:") + 1:]
    examples = [x.strip() for x in examples if x.strip()]
    assert 2 <= len(examples) <= 4, examples
    assert examples == EXAMPLES[name]
    if "Shared options:" in found:
        shared = lines[lines.index("Shared options:"):lines.index("Examples:")]
        assert any("--help" in x for x in shared)
        own = lines[:lines.index("Shared options:")]
        assert not any(x.strip().startswith(("-o, --output", "-q, --quiet")) for x in own)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help(name):
    for param in cli.commands[name].params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), (name, param.opts)


@pytest.mark.parametrize("name,example", [(n, e) for n in EXAMPLES for e in EXAMPLES[n]])
def test_examples_parse(name, example):
    """Each example names options the command has, with values its choices accept."""
    for part in example.split("&&"):
        words = shlex.split(part)
        assert words[0] == "ketadose"
        words = words[1:]
        while words[0] == "--regimens":  # the group's own option, before the command
            words = words[2:]
        sub = cli.commands[words[0]]
        parent = click.Context(cli, obj={"regimen_dirs": []})
        sub.make_context(sub.name, words[1:], parent=parent)


def test_shared_names_are_real_parameters():
    names = {p.name for c in cli.commands.values() for p in c.params}
    assert set(SHARED) - {"help", "_click_default_help"} <= names


def test_new_takes_the_id_as_an_argument(run):
    a = run("new", "crps-schwartzman-2009")
    b = run("new", "--from", "crps-schwartzman-2009")  # the old spelling still works
    assert a.exit_code == b.exit_code == 0 and a.stdout == b.stdout
    assert "crps-schwartzman-2009-local" in a.stdout
    both = run("new", "crps-schwartzman-2009", "--from", "crps-goldberg-2010")
    assert both.exit_code == 2
    assert run("new").exit_code == 2


def test_start_and_date_are_one_option(run):
    args = ["check", "crps-schwartzman-2009", "--age", "40", "--format", "json"]
    a = json.loads(run(*args, "--start", "2026-11-25").stdout)
    b = json.loads(run(*args, "--date", "2026-11-25").stdout)
    c = json.loads(run(*args, "--start", "2026-11-25T09:00").stdout)
    assert a["date"] == b["date"] == c["date"] == "2026-11-25"
    plan = ["plan", "crps-schwartzman-2009", "--weight", "70kg", "--format", "json",
            "--reproducible"]
    assert run(*plan, "--start", "2026-12-01T09:00").stdout == \
        run(*plan, "--date", "2026-12-01T09:00").stdout


def test_a_batch_defaults_to_json_lines(run, write):
    record = {"id": "p1", "age": 45, "sex": "female", "weight": "72 kg"}
    path = write(json.dumps(record) + "\n", "b.jsonl")
    for command in ("check", "plan"):
        r = run(command, "crps-schwartzman-2009", "--patients", path)
        assert r.exit_code in (0, 1), r.output
        lines = r.stdout.splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["id"] == "p1"


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom ketadose.cli import cli\n"
            "try:\n    cli.main(args=['plan', '--help'], standalone_mode=False)\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'rich', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout
    assert out.strip().endswith("[]"), out


def test_compare_takes_the_plan_options_and_writes_csv(run):
    import csv
    import io

    base = ["compare", "crps-schwartzman-2009", "consensus-cohen-2018", "--weight", "90kg",
            "--height", "170cm", "--sex", "male"]
    plain = json.loads(run(*base, "--format", "json").stdout)["regimens"]
    assert all("explain" not in r for r in plain)
    ideal = json.loads(run(*base, "--weight-basis", "ideal", "--concentration", "2mg/mL",
                           "--explain", "--format", "json").stdout)["regimens"]
    assert ideal[0]["course_mg_max"] < plain[0]["course_mg_max"]  # per-kg dosing on less weight
    assert ideal[0]["explain"]["weight_basis"] == "ideal"
    assert ideal[0]["explain"]["concentration_from"] == "--concentration"
    assert ideal[0]["explain"]["concentration_mg_per_ml"] == 2
    rows = list(csv.DictReader(io.StringIO(run(*base, "--format", "csv").stdout)))
    assert [r["id"] for r in rows] == [r["id"] for r in plain]
    assert [float(r["course_mg_max"]) for r in rows] == [r["course_mg_max"] for r in plain]
    population = run(*base, "--population", "10", "--format", "csv")  # issue 20: CSV too
    assert population.exit_code == 0 and population.stdout.startswith("regimen,drug,route,model")
    table = run(*base, "--explain", env={"COLUMNS": "200"}).stdout
    assert "How each number was derived" in table and "ideal" not in table  # actual weight
