"""The shell under limits of the system, through the real entry point (`python -m ketadose`):
an address-space limit (`ulimit -v`) met while the program loads, a process killed while an
atomic -o file is written. See docs/shell-boundary.md."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATIENT = ROOT / "examples" / "patient.yaml"


def _limited(kib):
    def setup():
        resource.setrlimit(resource.RLIMIT_AS, (kib << 10, kib << 10))
    return setup


def _starts(kib) -> bool:
    """Python itself starts under this limit (below it, site.py fails before our code)."""
    r = subprocess.run([sys.executable, "-c", "pass"], capture_output=True,
                       preexec_fn=_limited(kib), timeout=60)
    return r.returncode == 0 and not r.stderr


@pytest.mark.parametrize("args", [["rules"], ["plan", "--help"]])
def test_out_of_memory_while_loading_is_one_line_exit_2(args):
    """Under `ulimit -v` of 15 to 32 MB the program runs out of memory somewhere in its imports
    (or in the handler wording the error: re compiles a pattern): it gave a traceback and exit
    1 (a MemoryError in the handler's own handler, a SystemError from compile())."""
    tried = 0
    for mib in range(15, 33):
        kib = mib * 1024
        if not _starts(kib):
            continue
        tried += 1
        r = subprocess.run([sys.executable, "-m", "ketadose", *args], capture_output=True,
                           stdin=subprocess.DEVNULL, preexec_fn=_limited(kib), timeout=60)
        err = r.stderr.decode(errors="replace")
        assert r.returncode in (0, 2), (mib, r.returncode, err[-800:])
        if r.returncode == 2:
            assert "Traceback" not in err and err.count("\n") == 1, (mib, err[-800:])
            assert "out of memory" in err, (mib, err)
    assert tried
