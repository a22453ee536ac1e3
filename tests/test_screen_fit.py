"""The real screen at 60, 80 and 120 columns (issue 16 item 1): through a pty, the installed
`ketadose` entry point draws plan (every shipped template), compare, models, list and check;
no number, and no number with its unit, may be split across lines, and no line may be wider
than the terminal. The reference is the same command piped at full width, where nothing wraps:
every number token it prints must appear as often, whole on one line, on the narrow screen."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.cells import cell_len
from terminal import drain

ROOT = Path(__file__).parent.parent
EXAMPLE = str(ROOT / "examples" / "patient.yaml")
TEMPLATES = sorted(p.stem for p in (ROOT / "regimens").glob("*.yaml"))
ENTRY = shutil.which("ketadose", path=str(Path(sys.executable).parent)) or "ketadose"
WIDTHS = (60, 80, 120)

COMMANDS = {
    **{f"plan {t}": ["plan", t, "--patient", EXAMPLE] for t in TEMPLATES},
    "compare": ["compare", "crps-schwartzman-2009", "consensus-cohen-2018", "crps-goldberg-2010",
                "--patient", EXAMPLE],
    "models": ["models"],
    "list": ["list"],
    "check": ["check", "crps-schwartzman-2009", "--patient", EXAMPLE],
}

# A number (with sign, decimals, ranges, ratios, clock times) and, when one follows, its unit.
_UNIT = (r"(?:%|(?:mcg|mg|ng|g|kg|lb|mL|L|min|h|days?|cm|m|U|umol|mmHg)"
         r"(?:[/.·](?:mcg|mg|ng|g|kg|lb|mL|L|min|h|day|cm|U|24 h))*)")
TOKEN = re.compile(rf"(?<![\w.])[-+]?\d+(?:[.,:/-]\d+)*(?: {_UNIT}(?![\w/]))?")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def on_screen(args, columns, rows=40, timeout=120):
    """Output of the real entry point on a terminal of ``columns`` x ``rows``."""
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm"}
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execve(ENTRY, [ENTRY, *args], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    out = drain(fd, timeout)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = ANSI.sub("", out.decode("utf-8", "replace")).replace("\r\n", "\n")
    return os.waitstatus_to_exitcode(status), text


def piped(args):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    r = subprocess.run([ENTRY, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=120)
    return r.returncode, r.stdout


def tokens(text: str) -> Counter:
    return Counter(m.group(0) for line in text.splitlines() for m in TOKEN.finditer(line))


@pytest.fixture(scope="module")
def screens():
    """Every command at every width, and piped: run in parallel (each is a process)."""
    jobs = {(name, w): (on_screen, args, w) for name, args in COMMANDS.items() for w in WIDTHS}
    jobs.update({(name, "piped"): (piped, args) for name, args in COMMANDS.items()})
    with ThreadPoolExecutor(4) as pool:
        futures = {k: pool.submit(f, *a) for k, (f, *a) in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_number_or_unit_is_split(screens, name, width):
    ref_code, reference = screens[name, "piped"]
    code, screen = screens[name, width]
    assert code == ref_code, screen
    expected = tokens(reference)
    assert expected, reference  # the comparison is not empty
    seen = tokens(screen)
    split = {t: (n, seen[t]) for t, n in expected.items() if seen[t] < n}
    assert not split, f"split at {width} columns (token: (full width, on screen)): {split}"
    wide = [line for line in screen.splitlines() if cell_len(line) > width]
    assert not wide, f"{len(wide)} lines wider than {width}: {wide[:3]}"


def test_the_check_can_fail():
    """The token comparison sees a number split at the end of a line, and a split unit."""
    assert tokens("rate 25.0 mL/h")["25.0 mL/h"] == 1
    assert tokens("rate 25.0\nmL/h")["25.0 mL/h"] == 0
    assert tokens("AUC 2642\n9")["26429"] == 0 and tokens("AUC 26429")["26429"] == 1
    assert tokens("0.34 mg/kg/h")["0.34 mg/kg/h"] == 1
    assert tokens("0.34 mg/k\ng/h")["0.34 mg/kg/h"] == 0


def test_piped_output_is_full_width_or_columns():
    """Piped: nothing wraps (the list's titles are whole lines); COLUMNS, when set, is the width."""
    code, text = piped(["list"])
    assert code == 0
    for t in TEMPLATES:
        assert any(t in line and "(" in line for line in text.splitlines()), t
    env = {**os.environ, "COLUMNS": "70"}
    narrow = subprocess.run([ENTRY, "list"], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=120).stdout
    assert max(cell_len(line) for line in narrow.splitlines()) <= 70
    for t in TEMPLATES:  # the ids, the strings one must type, are never cut
        assert t in narrow, t


# ------------------------------------------------------------------ the layout itself
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_quantity = st.builds(lambda x, u: f"{x} {u}", st.decimals(0, 100000, places=2).map(str),
                      st.sampled_from(["mg", "mg/h", "mL/h", "mg/kg/h", "mcg/kg/min", "ng/mL",
                                       "days", "h", "%"]))
_word = st.text("abcdefghij", min_size=1, max_size=14)
_cell = st.lists(st.one_of(_quantity, _word, st.just("PMID 21546160")), max_size=8).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.lists(_cell, min_size=n, max_size=n), min_size=1, max_size=4))),
    st.integers(40, 200))
def test_generated_tables_keep_every_quantity_whole(shape, width):
    import io

    from ketadose.render.table import console, table

    n, rows = shape
    out = io.StringIO()
    c = console(file=out)
    c.width = width
    c.print(table("title", [f"column {i}" for i in range(n)], rows))
    text = out.getvalue()
    assert tokens(text) >= sum((tokens(cell) for row in rows for cell in row), Counter())
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert "\ue000" not in text


def test_long_citations_become_numbered_references():
    import io

    from ketadose.render.table import console, table

    out = io.StringIO()
    c = console(file=out)
    c.width = 60
    long = "Noppers IM et al. Pain 2011;152(9):2173-8, PMID 21546160"
    c.print(table("t", ["what", "source"], [("a", long), ("b", "label 2.1"), ("c", long)]))
    lines = out.getvalue().splitlines()
    assert [x.split()[-1] for x in lines if x.strip().startswith(("a ", "b ", "c "))] == \
        ["[1]", "[2]", "[1]"]
    assert [x.strip() for x in lines if x.startswith("[")] == [f"[1] {long}", "[2] label 2.1"]
    out = io.StringIO()
    c = console(file=out)
    c.print(table("t", ["what", "source"], [("a", "label 2.1")]))  # short: stays in its cell
    assert "label 2.1" in out.getvalue().splitlines()[-2] and "[1]" not in out.getvalue()
