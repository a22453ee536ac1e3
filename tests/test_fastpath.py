"""The click-free fast path of `validate` and `simulate` (ketadose.fastpath, issue 18) answers
exactly as the click interface does: same stdout, stderr and exit code for every command line
it takes, and it hands every other command line to click."""

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REGIMENS
from ketadose import fastpath
from ketadose.cli import _PATIENT_FLAGS, cli

TEMPLATE = str(REGIMENS / "crps-schwartzman-2009.yaml")


def _run(code: str, args, stdin: bytes = b"", env=None):
    r = subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True,
                       timeout=120, env={**os.environ, "COLUMNS": "100", **(env or {})},
                       check=False)
    return r.returncode, r.stdout, r.stderr


ENTRY = ("import sys; sys.argv[0] = 'ketadose'; from ketadose.launch import main; main()\n")
CLICK = ("import sys; sys.argv[0] = 'ketadose'; from ketadose.cli import main; main()\n")
PROBE = ("import sys; sys.argv[0] = 'ketadose'; from ketadose.launch import main\n"
         "try:\n    main()\nexcept SystemExit as e:\n"
         "    print('CLICK' if 'click' in sys.modules else 'FAST', file=sys.stderr); raise\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fast")
    bad = d / "bad.yaml"
    bad.write_text("id: x\nname: [unclosed\n")
    tagged = d / "tagged.yaml"
    tagged.write_text("id: !!str x\n")
    invalid = d / "invalid.yaml"
    invalid.write_text(open(TEMPLATE, encoding="utf-8").read().replace(
        "id: crps-schwartzman-2009", "id: Bad Id"))
    ctrl = d / "ctrl\x1b[31m.yaml"
    ctrl.write_text("- a list\n")
    folder = d / "folder"
    folder.mkdir()
    (folder / "a.yaml").write_text(open(TEMPLATE, encoding="utf-8").read())
    (folder / "b.yml").write_text("just text\n")
    patient = d / "patient.yaml"
    patient.write_text("weight: 72 kg\nage: 40\n")
    return {"bad": str(bad), "tagged": str(tagged), "invalid": str(invalid), "ctrl": str(ctrl),
            "folder": str(folder), "missing": str(d / "missing.yaml"), "dir": str(d),
            "patient": str(patient)}


FORMS = [
    # validate: the fast path
    ["validate", "{TEMPLATE}"],
    ["validate", "{TEMPLATE}", "--format", "json"],
    ["validate", "--format=github", "{TEMPLATE}", "{invalid}"],
    ["validate", "{invalid}"],
    ["validate", "{invalid}", "--explain", "--format", "json"],
    ["validate", "-q", "{invalid}"],
    ["validate", "{bad}", "{tagged}", "{ctrl}"],
    ["validate", "{missing}"],
    ["validate", "{dir}/folder"],
    ["validate", "{TEMPLATE}", "{missing}"],
    ["validate", "crps-schwartzman-2009"],
    ["validate", "no-such-template-id"],
    ["validate", "-"],
    ["validate", ""],
    # validate: click's (usage errors and options the fast path does not take)
    ["validate"],
    ["validate", "--format", "jsn", "{TEMPLATE}"],
    ["validate", "--format"],
    ["validate", "--explain=yes", "{TEMPLATE}"],
    ["validate", "-q", "-q", "{TEMPLATE}"],
    ["validate", "--help"],
    ["validate", "--", "{TEMPLATE}"],
    ["validate", "--bogus", "{TEMPLATE}"],
    ["validate", "--regimens", "{dir}/folder", "crps-schwartzman-2009"],
    # simulate: the fast path
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "json"],
    ["simulate", "crps-ketcrps2-esketamine", "--weight", "72kg", "--format", "json", "--model",
     "flint-2017", "--resolution", "6s"],
    ["simulate", "crps-schwartzman-2009", "--weight=72kg", "--age", "40", "--format", "csv",
     "--resolution", "1h"],
    ["simulate", "--weight", "70 kg", "crps-schwartzman-2009", "--resolution", "30 min"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "json",
     "--resolution", "0"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "json"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--sex", "female", "--height",
     "165cm", "--format", "json", "--resolution", "1h", "--explain"],
    ["simulate", "crps-schwartzman-2009", "--patient", "{patient}", "--format", "json",
     "--resolution", "1 h"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--model", "nope"],
    ["simulate", "{bad}", "--weight", "72kg"],
    ["simulate", "crps-schwartzman-2009", "--format", "json"],
    ["simulate", "crps-schwartzman-2009", "--weight", "seventy", "--format", "json"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--age", "040", "-q",
     "--resolution", "2h", "--format", "json"],
    # simulate: click's
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--age", "forty"],
    ["simulate", "crps-schwartzman-2009", "extra", "--weight", "72kg"],
    ["simulate", "--weight", "72kg"],
    ["simulate", "crps-schwartzman-2009", "--weight", "-5kg"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--weight", "73kg"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--sex", "f"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "json", "--seed", "2",
     "--resolution", "1h"],
]


def _expand(form, files):
    return [a.format(TEMPLATE=TEMPLATE, **files) for a in form]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: " ".join(f)[:60])
def test_same_answer_as_click(form, files):
    args = _expand(form, files)
    stdin = open(TEMPLATE, "rb").read() if args[-1] == "-" else b""
    fast = _run(ENTRY, args, stdin)
    slow = _run(CLICK, args, stdin)
    assert fast == slow
    assert b"Traceback" not in fast[2]
    took = fastpath.parse(args) is not None
    probe = _run(PROBE, args, stdin)[2].decode().strip().splitlines()[-1]
    assert probe == ("FAST" if took else "CLICK")


def test_the_plain_forms_take_the_fast_path():
    assert fastpath.parse(["validate", "x.yaml"]) == ("validate", ["x.yaml"], {})
    assert fastpath.parse(["simulate", "id", "--weight", "72kg", "--format", "json"]) == (
        "simulate", ["id"], {"weight": "72kg", "fmt": "json"})


_THREADS = ("import os, sys; sys.argv[0] = 'ketadose'; from ketadose.launch import main\n"
            "try:\n    main()\nexcept SystemExit:\n"
            "    print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules, "
            "file=sys.stderr)\n")


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "1"), ({"OPENBLAS_NUM_THREADS": "2"}, "2"), ({"OMP_NUM_THREADS": "2"}, "None"),
    ({"GOTO_NUM_THREADS": "2"}, "None")])
def test_simulate_asks_openblas_for_one_thread_unless_the_user_chose(env, expected):
    """The simulate fast path sets OPENBLAS_NUM_THREADS=1 before numpy is imported, unless a
    thread count was given (test_same_answer_as_click compares its output with click's path,
    which leaves OpenBLAS's threads as they are)."""
    clean = {k: v for k, v in os.environ.items() if k not in fastpath._BLAS_THREAD_VARIABLES}
    r = subprocess.run([sys.executable, "-c", _THREADS, "simulate", "crps-schwartzman-2009",
                        "--weight", "72kg", "--format", "json", "--resolution", "1h"],
                       capture_output=True, text=True, timeout=120, env={**clean, **env},
                       check=False)
    assert r.returncode == 0 and r.stderr.split() == [expected, "True"], r.stderr[-500:]


def test_closed_pipe_and_closed_stdout_as_click(files):
    # the JSON series is far longer than a pipe's buffer: the reader going away is 141
    args = ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "json"]
    for code in (ENTRY, CLICK):
        p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdout.read(10)
        p.stdout.close()
        err = p.stderr.read()
        assert (p.wait(timeout=120), err) == (141, b"")
    shell = 'exec "$@" >&-'
    got = [subprocess.run(["sh", "-c", shell, "sh", sys.executable, "-c", code, "validate",
                           TEMPLATE], capture_output=True, timeout=120, check=False)
           for code in (ENTRY, CLICK)]
    assert (got[0].returncode, got[0].stderr) == (got[1].returncode, got[1].stderr)
    assert got[0].returncode == 2 and b"standard output is closed" in got[0].stderr


def test_patient_flag_defaults_are_clicks():
    ctx = cli.make_context("ketadose", ["simulate", "x"])
    ctx.obj = {"regimen_dirs": []}
    sub = cli.commands["simulate"].make_context("simulate", ["x"], parent=ctx)
    assert set(fastpath.PATIENT_DEFAULTS) == set(_PATIENT_FLAGS)
    assert {k: sub.params[k] for k in _PATIENT_FLAGS} == fastpath.PATIENT_DEFAULTS


# --- property: whatever the fast path accepts, click parses to the same values ------------
_TOKENS = ["x.yaml", "-", "", "id", "--format", "json", "text", "csv", "table", "github",
           "--format=json", "--format=csv", "--explain", "--explain=1", "-q", "--quiet", "-qq",
           "--weight", "72kg", "--weight=", "--age", "40", "-3", "4x", "--sex", "female", "male",
           "--height", "1.7m", "--model", "herd-2007", "--resolution", "6s", "--patient",
           "p.yaml", "--", "--help", "-h", "--seed", "--regimens", "--jobs", "--format=", "=",
           "--population", "-o"]


def _click_params(args):
    ctx = cli.make_context("ketadose", args[:1], resilient_parsing=False)
    ctx.obj = {"regimen_dirs": []}
    return cli.commands[args[0]].make_context(args[0], list(args[1:]), parent=ctx).params


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["validate", "simulate"]),
       st.lists(st.sampled_from(_TOKENS), max_size=7))
def test_accepted_command_lines_parse_as_click_parses_them(command, tokens):
    args = [command, *tokens]
    parsed = fastpath.parse(args)
    if parsed is None:
        return
    _command, arguments, values = parsed
    params = _click_params(args)  # must not raise: the fast path takes no usage error
    assert params["quiet"] is bool(values.get("quiet"))
    assert params["explain"] is bool(values.get("explain"))
    assert params["output_path"] is None and params["force_output"] is False
    if command == "validate":
        assert params["files"] == tuple(arguments)
        assert params["fmt"] == values.get("fmt", "text")
        return
    assert params["regimen"] == arguments[0]
    assert params["fmt"] == values.get("fmt", "table")
    assert params["resolution"] == values.get("resolution", "1 min")
    assert params["model"] == values.get("model")
    assert params["patient_path"] == values.get("patient_path")
    assert (params["bio_f"], params["ka"], params["plot"], params["population"],
            params["seed"]) == (None, None, None, None, 1)
    flags = {**fastpath.PATIENT_DEFAULTS,
             **{k: v for k, v in values.items() if k in fastpath.PATIENT_DEFAULTS}}
    assert {k: params[k] for k in _PATIENT_FLAGS} == flags
