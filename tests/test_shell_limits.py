"""The shell under limits of the system, through the real entry point (`python -m ketadose`):
an address-space limit (`ulimit -v`) met while the program loads, a process killed while an
atomic -o file is written. See docs/shell-boundary.md."""

from __future__ import annotations

import errno
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


class _Exit(BaseException):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _launch_failing_with(monkeypatch, capfd, exc, limited=True):
    """ketadose.launch.main with its run raising ``exc``: the exit code and stderr."""
    from ketadose import errors, launch

    def run(_argv):
        raise exc

    def exit_(code):
        raise _Exit(code)

    monkeypatch.setattr(launch, "_main", run)
    monkeypatch.setattr(launch.os, "_exit", exit_)
    monkeypatch.setattr(errors, "_memory_limited", lambda: limited, raising=False)
    try:
        launch.main([])
    except _Exit as done:
        return done.code, capfd.readouterr().err
    return None, capfd.readouterr().err


@pytest.mark.parametrize("exc", [
    # Python 3.10 under `ulimit -v` ~15 MB: the import system's listdir() of a package
    OSError(errno.ENOMEM, "Cannot allocate memory", str(ROOT / "ketadose" / "io")),
    # a compiled module that could not be mapped (dlopen)
    ImportError("/usr/lib/python3.10/lib-dynload/math.cpython-310-x86_64-linux-gnu.so: "
                "failed to map segment from shared object", name="math"),
    # 3.10's parser refused memory while compiling one of our modules
    SyntaxError("expected ':'", (str(ROOT / "ketadose" / "gate.py"), 351, 1, "def f(x)\n")),
], ids=["oserror-enomem", "importerror-map", "syntaxerror-ours"])
def test_the_launcher_takes_what_3_10_says_for_memory_as_out_of_memory(monkeypatch, capfd,
                                                                        exc):
    """Not only MemoryError: each of these ended in a traceback (or exit 120 with nothing on
    stderr) on 3.10.13 under `ulimit -v`."""
    code, err = _launch_failing_with(monkeypatch, capfd, exc)
    assert code == 2
    assert err.startswith("ketadose: error: out of memory") and err.count("\n") == 1, err


def test_a_syntax_error_is_not_out_of_memory_without_a_limit_or_outside_the_package(
        monkeypatch, capfd):
    ours = SyntaxError("expected ':'", (str(ROOT / "ketadose" / "gate.py"), 1, 1, "x\n"))
    with pytest.raises(SyntaxError):
        _launch_failing_with(monkeypatch, capfd, ours, limited=False)
    theirs = SyntaxError("expected ':'", ("/elsewhere/ketadose/gate.py", 1, 1, "x\n"))
    with pytest.raises(SyntaxError):
        _launch_failing_with(monkeypatch, capfd, theirs, limited=True)
    with pytest.raises(OSError):
        _launch_failing_with(monkeypatch, capfd, OSError(errno.ENOENT, "No such file"))


def test_no_memory_even_to_word_the_error_still_is_one_line_exit_2(monkeypatch, capfd):
    """3.10: calling the handler's own function raised MemoryError (its frame): a traceback,
    or exit 120 with nothing on stderr."""
    from ketadose import launch

    def no_room(_exc):
        raise MemoryError

    monkeypatch.setattr(launch, "_out_of_memory", no_room)  # as if calling it failed
    code, err = _launch_failing_with(monkeypatch, capfd, MemoryError())
    assert (code, err) == (2, "ketadose: error: out of memory; raise the limit\n")
