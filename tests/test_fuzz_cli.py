"""A short, fixed-seed run of the shell fuzz harness (the long run is fuzz/fuzz_cli.py):
generated regimens, patients, options and batch lines through `main`, every format; exit
codes 0/1/2 only, strict JSON, no raw control characters, no stray files."""

import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fuzz"))

import cli_harness

from conftest import budget

RUNS = budget(int(os.environ.get("KETADOSE_FUZZ_CLI_RUNS", "120")))
SEED = int(os.environ.get("KETADOSE_FUZZ_SEED", "20261125"))


def test_shell_properties_hold_for_generated_runs():
    workdir = cli_harness.make_workdir()
    try:
        codes = [cli_harness.one(cli_harness.RandomSource(SEED + i), workdir) for i in range(RUNS)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert set(codes) <= {0, 1, 2}
    if RUNS >= 100:  # the generator reaches success, blocked and refused runs alike
        assert {0, 1, 2} <= set(codes)


def test_the_harness_catches_a_violation(tmp_path):
    """The properties can fail: an injected raw escape on stdout is reported."""
    try:
        cli_harness.check_run(["schema", "plan"], {}, "json", None, str(tmp_path))
    except cli_harness.PropertyViolation:  # pragma: no cover - schema is clean
        raise
    original = cli_harness.main

    def noisy(args):
        sys.stdout.buffer.write(b"\x1b[2J\n")
        raise SystemExit(0)

    cli_harness.main = noisy
    try:
        raised = False
        try:
            cli_harness.check_run(["plan"], {}, "table", None, str(tmp_path))
        except cli_harness.PropertyViolation:
            raised = True
        assert raised
    finally:
        cli_harness.main = original
