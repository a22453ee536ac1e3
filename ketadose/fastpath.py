"""`ketadose validate FILE...` and `ketadose simulate ID` without click (issue 18: start-up).

click's import and its command tree are about a fifth of a `validate` run. For the plain forms
of these two commands the entry point (ketadose.launch) parses the command line here and calls
the same command code as the click interface (ketadose.cli), with the same per-run settings
(ketadose.runmeta), the same error lines and the same exit codes. Anything else — an option
not listed below, an option given twice, a value that starts with '-', `--`, `--help`, a
missing or extra argument, an invalid choice, shell completion, a non-UTF-8 stderr — returns
None and click handles the whole command line as before, so every usage error is click's.
tests/test_fastpath.py runs many command lines both ways and compares stdout, stderr and the
exit code byte for byte.
"""

from __future__ import annotations

import os
import sys

# option -> (name of the value, kind); kinds: "flag", "text", "int", or a tuple of choices
_QUIET = {"-q": ("quiet", "flag"), "--quiet": ("quiet", "flag")}
_OPTIONS = {
    "validate": {**_QUIET, "--explain": ("explain", "flag"),
                 "--format": ("fmt", ("text", "json", "github"))},
    "simulate": {**_QUIET, "--explain": ("explain", "flag"),
                 "--format": ("fmt", ("table", "json", "csv")),
                 "--patient": ("patient_path", "text"), "--weight": ("weight", "text"),
                 "--height": ("height", "text"), "--age": ("age", "int"),
                 "--sex": ("sex", ("female", "male")), "--model": ("model", "text"),
                 "--resolution": ("resolution", "text")},
}
# (fewest, most) arguments: validate FILES... (nargs=-1, required), simulate ID|FILE
_ARGUMENTS = {"validate": (1, None), "simulate": (1, 1)}

# simulate's patient flags as click passes them when none is given (tests compare with click)
PATIENT_DEFAULTS = {
    "weight": None, "height": None, "age": None, "sex": None, "pregnant": None,
    "breastfeeding": None, "bp": None, "heart_rate": None, "conditions": (),
    "no_conditions": False, "medications": (), "no_medications": False, "allergies": (),
    "no_allergies": False, "no_previous_courses": False, "alt": None, "ast": None, "alp": None,
    "ggt": None, "bilirubin": None,
}


def parse(args: list) -> tuple | None:
    """(command, arguments, options) for a command line the fast path runs, else None."""
    if not args or args[0] not in _OPTIONS or os.environ.get("_KETADOSE_COMPLETE"):
        return None
    command, spec = args[0], _OPTIONS[args[0]]
    arguments: list = []
    values: dict = {}
    rest = iter(args[1:])
    for token in rest:
        if token == "-" or not token.startswith("-"):
            arguments.append(token)
            continue
        name, eq, value = token.partition("=")
        known = spec.get(name)
        if known is None:
            return None
        key, kind = known
        if kind == "flag":
            if eq or values.get(key):
                return None
            values[key] = True
            continue
        if not eq:
            value = next(rest, None)
            if value is None:
                return None
        if key in values or value.startswith("-"):
            return None
        if kind == "int":
            if not (value.isascii() and value.isdigit()):
                return None
            values[key] = int(value)
        elif isinstance(kind, tuple) and value not in kind:
            return None
        else:
            values[key] = value
    fewest, most = _ARGUMENTS[command]
    if len(arguments) < fewest or (most is not None and len(arguments) > most):
        return None
    return command, arguments, values


def _stderr_is_utf8() -> bool:
    """click.echo re-wraps a stderr whose encoding it finds misconfigured: then click writes."""
    import codecs

    try:
        return codecs.lookup(getattr(sys.stderr, "encoding", None) or "ascii").name == "utf-8"
    except LookupError:
        return False


def _validate(arguments: list, values: dict) -> int:
    from ketadose.commands.validate import run

    return run(tuple(arguments), values.get("fmt", "text"), (), values.get("explain", False))


# Thread counts OpenBLAS reads (in this order); a user who set any of them keeps it.
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread() -> None:
    """Before numpy is imported: ask OpenBLAS (numpy's BLAS in its wheels) for one thread.

    At import OpenBLAS starts a thread per core and allocates their buffers: about 25 ms of CPU
    time here, a sixth of `import numpy`. One patient's simulation multiplies the model's 3 to
    6 compartments by the series' points: a second thread buys it little, far less than
    starting it costs. The numbers do not change: OpenBLAS divides a product between threads
    by output rows and columns, never inside one sum (tests/test_fastpath.py compares the
    output with click's path, which leaves the threads alone). Only this process is concerned
    (the fast path starts no other), and a thread count the user set wins."""
    if "numpy" not in sys.modules and not any(v in os.environ for v in _BLAS_THREAD_VARIABLES):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def _simulate(arguments: list, values: dict) -> int:
    one_blas_thread()
    from ketadose.commands.options import bioavailability, ka
    from ketadose.commands.simulate import resolution_minutes, run_simulate

    flags = {**PATIENT_DEFAULTS, **{k: v for k, v in values.items() if k in PATIENT_DEFAULTS}}
    bio_f, ka_per_min = bioavailability(None), ka(None)
    return run_simulate((), arguments[0], values.get("patient_path"), flags, values.get("model"),
                        resolution_minutes(values.get("resolution", "1 min")), bio_f, ka_per_min,
                        values.get("fmt", "table"), None, values.get("explain", False),
                        population=None, seed=1)


_RUN = {"validate": _validate, "simulate": _simulate}


def run_fast(args: list) -> None:
    """Run the command line and exit, or return (doing nothing) when click must handle it."""
    parsed = parse(args)
    if parsed is None or sys.stderr is None or not _stderr_is_utf8():
        return
    command, arguments, values = parsed
    from ketadose import runmeta
    from ketadose.errors import KetadoseError, OutOfResources
    from ketadose.io.writer import PipeClosed, StdoutStream, plug_std_fds
    from ketadose.launch import Terminated, catch_signals, quiet_stdout

    plug_std_fds()
    catch_signals()
    from ketadose.render.diag import echo_err as echo
    from ketadose.render.diag import note

    meta: dict = {"quiet": bool(values.get("quiet")), "force": False, "open_stdout": StdoutStream,
            "report": note}
    runmeta.install(meta)
    try:
        try:
            rc = _RUN[command](arguments, values)
        except BaseException:
            out = meta.get("out")
            if out is not None:  # a regular file as stdout is cut back (io.writer.Rollback)
                out.abort()
            raise
        out = meta.get("out")
        if out is not None:
            out.finish()  # flush: a write error ends the run as under click
    except KetadoseError as exc:
        echo(f"ketadose: error: {one_line(str(exc))}")
        rc = 2
    except (PipeClosed, BrokenPipeError):
        rc = 141
    except Terminated as exc:
        rc = 128 + exc.signum
    except (EOFError, KeyboardInterrupt):
        echo("")  # click's blank line after the terminal's ^C
        echo("ketadose: aborted")
        rc = 2
    except Exception as exc:
        limit = OutOfResources.of(exc)  # the system refusing memory or a thread: a limit
        if limit is not None:
            echo(f"ketadose: error: {one_line(str(limit))}")
            rc = 2
        else:
            echo(f"ketadose: internal error (please report): {type(exc).__name__}: "
                 f"{one_line(str(exc))[:200]}")
            rc = 3
    if rc == 141:
        quiet_stdout()
    sys.exit(rc if isinstance(rc, int) else 0)


def one_line(text: str) -> str:
    """An error as shown on stderr: one line, control characters escaped, long quoted tokens
    shortened (ketadose.cli uses it too)."""
    from ketadose.render.text import shorten_quoted, terminal_safe

    return shorten_quoted(terminal_safe(text, newlines=False))
