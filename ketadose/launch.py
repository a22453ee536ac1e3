"""The console script's entry point. `ketadose --help` and `ketadose --version` are answered
from stored text without importing click (about 60% of that start-up: issue 18 asks for a help
under 50 ms); the plain forms of `validate FILE...` and `simulate ID` run without click too
(ketadose.fastpath); every other command line goes to the click interface (ketadose.cli).

The stored help (ketadose/_help.py) is click's own rendering at the standard width: a test
(tests/test_launch.py) renders it again through click and fails when a command or a help line
changed without regenerating it (`KETADOSE_UPDATE_GOLDEN=1 pytest tests/test_launch.py`).
Narrower terminals than click's 80-column maximum wrap differently: there click answers.
"""

from __future__ import annotations

import os
import signal
import sys

HELP_WIDTH = 80  # click's default max_content_width


def _columns() -> int:
    """The terminal width as click measures it (shutil.get_terminal_size, without shutil)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    if sys.__stdout__ is None:
        return HELP_WIDTH
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or HELP_WIDTH
    except (AttributeError, ValueError, OSError):
        return HELP_WIDTH


def _stored_answer(args: list) -> str | None:
    if args in (["--help"], ["-h"]) and _columns() >= HELP_WIDTH:
        from ketadose._help import HELP

        return HELP
    if args in (["--version"], ["-V"]):
        from ketadose import __version__

        return f"ketadose, version {__version__}\n"
    return None


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    text = _stored_answer(args)
    if text is None:
        from ketadose.codecache import install
        from ketadose.fastpath import run_fast

        install()  # before the first dataclass is made: precompiled methods (start-up)

        run_fast(args)  # exits when it answers; returns for anything it does not handle
        from ketadose.cli import main as cli_main

        cli_main(argv)
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `ketadose --help | head -1`: as the click path does
        quiet_stdout()
        sys.exit(141)
    sys.exit(0)


def quiet_stdout() -> None:
    """Python flushes sys.stdout at exit; with the reader gone that would print a second error.
    (Here, not in cli, so that the stored answers need not import click.)"""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwinds like an exception so that a temporary -o file is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, _frame):
    raise Terminated(signum)


def catch_signals() -> None:
    """SIGTERM and SIGHUP raise Terminated (exit 128 + the signal's number)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
