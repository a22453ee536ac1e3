"""Review of the batch paths (issue 18's caches and --jobs) from the shell: options a batch cannot
honour, one patient's file against a batch record, the terminal, workers that fail or are
stopped as they start, and the open-file limit. Through the real entry point (subprocess, pty,
rlimits); each test failed on the code before its fix."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from terminal import drain

from fhir_builder import bundle

REGIMEN = "crps-schwartzman-2009"
START = ["--start", "2026-12-01T09:00"]
REASON = "reviewed by the pain team"


def ketadose(*args, stdin=None, timeout=180, **kw):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], input=stdin,
                          capture_output=True, timeout=timeout, check=False, **kw)


def _record(rnd: random.Random, i: int) -> dict:
    return {"id": f"p{i}", "age": rnd.randint(18, 80), "sex": rnd.choice(["female", "male"]),
            "weight": f"{rnd.randint(45, 140)} kg", "height": f"{rnd.randint(150, 195)} cm",
            "pregnant": False, "breastfeeding": False,
            "blood_pressure": f"{rnd.randint(100, 139)}/{rnd.randint(60, 89)}",
            "heart_rate": rnd.randint(55, 99), "conditions": [], "allergies": [],
            "medications": [{"name": m} for m in rnd.sample(["morphine", "diazepam",
                                                             "gabapentin"], rnd.randint(0, 1))],
            "liver": {"alt": "30 U/L", "alt_uln": "45 U/L"}, "previous_courses": []}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """600 lines (three chunks: the parent's, then two for the workers): plain records, FHIR
    Bundles and Patients (the general path), error lines."""
    rnd, lines = random.Random(22), []
    for i in range(600):
        rec = _record(rnd, i)
        if i % 7 == 3:
            lines.append(json.dumps(bundle({k: rec[k] for k in ("id", "age", "sex", "weight",
                                                                 "height", "medications")})))
        elif i % 41 == 5:
            lines.append(json.dumps({"resourceType": "Patient", "id": f"pt{i}",
                                     "gender": "female", "birthDate": "1970-05-05"}))
        elif i % 53 == 9:
            lines.append('{"broken')
        else:
            lines.append(json.dumps(rec))
    path = tmp_path_factory.mktemp("review") / "cohort.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- options a batch cannot honour --------------------------------------------------------
@pytest.mark.parametrize("command", [["plan", REGIMEN, *START], ["check"]])
def test_explain_with_a_batch_is_refused_not_silently_left_out(cohort, command):
    """A batch line carries no derivations: --explain was accepted and the lines were those of a
    run without it (for one patient it changes the JSON: derivations, rules, limits)."""
    r = ketadose(*command, "--patients", str(cohort), "--explain")
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.count(b"\n") == 1 and b"--explain is for one patient" in r.stderr


def test_fhir_lines_and_every_dose_option_give_the_same_bytes_with_three_jobs(cohort):
    """FHIR lines (the general path) between remembered ones, with the options the dosing memo
    is kept for (--override, --weight-basis, --concentration, --priming), over three workers."""
    args = ["plan", REGIMEN, *START, "--patients", str(cohort), "--override", REASON,
            "--weight-basis", "adjusted", "--concentration", "2mg/mL", "--priming", "25"]
    one, three = ketadose(*args), ketadose(*args, "--jobs", "3")
    assert (three.returncode, three.stdout, three.stderr) == \
        (one.returncode, one.stdout, one.stderr)
    lines = [json.loads(x) for x in one.stdout.splitlines()]
    assert [x["line"] for x in lines] == list(range(1, 601))
    assert one.returncode == 2 and {x["exit"] for x in lines} <= {0, 1, 2}
    fhir = [x for x in lines if x["line"] % 7 == 4]
    planned = [x for x in fhir if x["exit"] == 0]  # the others: too short for --weight-basis
    assert len(planned) > len(fhir) // 2 and all(x["plan"]["preparation"] for x in planned)


# --- one patient's file against a batch record ----------------------------------------------
@pytest.mark.parametrize("name, text, where", [
    ("p.json", '{"id": "a\\u202e", "age": 40, "weight": "70 kg"}', "1:8"),
    ("p.json", '{"id": "a", "weight": "70 kg", "allergies": ["x", "Ketalar\\u2066"]}', "1:51"),
    ("p.json", '{"id": "a", "weight": "70 kg", "k\\u202a": 1}', "1:32"),
    ("p.yaml", 'id: a\nweight: 70 kg\nallergies: ["Ketalar\\u202d"]\n', "3:13"),
])
def test_an_escaped_bidirectional_control_in_a_patient_file_is_refused_where_it_is(
        tmp_path, name, text, where):
    """A batch refuses a record with a bidirectional control character, written as it is or as
    an escape (tests/test_batch_review.py); one patient's file refused only the first, so the
    same record was screened and planned from --patient FILE and refused in a batch."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    for command in (["check"], ["plan", REGIMEN, *START]):
        r = ketadose(*command, "--patient", str(path), "--format", "json")
        assert r.returncode == 2 and r.stdout == b"", r.stderr
        assert r.stderr.decode() == (f"ketadose: error: {path}:{where}: bidirectional control "
                                     f"character U+{_bidi(text)} (it can reorder the text a "
                                     "reader sees); remove it\n")
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps(json.loads(text)) + "\n" if name.endswith(".json") else
                     '{"id": "a", "allergies": ["Ketalar\\u202d"]}\n')
    line = json.loads(ketadose("check", "--patients", str(batch)).stdout)
    assert line["exit"] == 2 and f"U+{_bidi(text)}" in line["error"]


def _bidi(text: str) -> str:
    return text.split("\\u", 1)[1][:4].upper()


def test_an_escape_that_is_no_bidirectional_control_is_still_read(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"id": "a\\u00e9\\n", "age": 40, "weight": "70 kg", "conditions": []}')
    r = ketadose("check", "--patient", str(path), "--format", "json")
    assert r.returncode in (0, 1) and json.loads(r.stdout)["patient"]["id"] == "a\u00e9\n"


# --- the terminal ---------------------------------------------------------------------------
def test_no_progress_bar_among_the_lines_when_they_go_to_the_terminal(cohort):
    """With stdout and stderr on one terminal, the bar (stderr) was drawn between two blocks of
    lines and left glued to the start of the next line: 'patients ━━━ 0:00:01{"line":257,...'.
    On a terminal the lines are the progress; the bar stays for an output that is not one."""
    expected = ketadose("check", "--patients", str(cohort)).stdout
    for jobs in ("1", "2"):
        master, slave = os.openpty()
        p = subprocess.Popen([sys.executable, "-m", "ketadose", "check", "--patients",
                              str(cohort), "--jobs", jobs], stdout=slave, stderr=slave,
                             stdin=subprocess.DEVNULL)
        os.close(slave)
        try:
            got = drain(master, 120)
        finally:
            os.close(master)
        assert p.wait(timeout=60) == 2
        assert got.replace(b"\r\n", b"\n") == expected, got[:300]


# --- workers that fail or are stopped as they start -------------------------------------------
_IN_WORKERS = """
import os, sys, threading
parent = os.getpid()
{patch}
from ketadose.cli import main
main()
"""

_NO_THREAD = """
real = threading.Thread.start
def start(self):
    if os.getpid() != parent:  # a worker: as under a memory limit (ulimit -v)
        raise RuntimeError("can't start new thread")
    return real(self)
threading.Thread.start = start
"""

_SIGNALLED = """
import signal
os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGTERM))
"""


def _with_patch(patch: str, *args):
    return subprocess.run([sys.executable, "-c", _IN_WORKERS.format(patch=patch), *args],
                          capture_output=True, timeout=180, check=False)


def test_a_worker_that_cannot_start_says_why_on_one_line(cohort, tmp_path):
    """An exception out of a worker's set-up (its receive thread could not start) went to
    multiprocessing, which printed a traceback per worker (34 lines under ulimit -v). A thread
    the system refuses is a limit of the system (exit 2), not our bug (it was exit 3)."""
    out = tmp_path / "out.jsonl"
    r = _with_patch(_NO_THREAD, "check", "--patients", str(cohort), "--jobs", "3", "-o", str(out))
    assert r.returncode == 2 and b"Traceback" not in r.stderr, r.stderr
    assert r.stderr.count(b"\n") == 1 and b"can't start new thread" in r.stderr, r.stderr
    assert r.stderr.startswith(b"ketadose: error: out of memory or threads: ") and \
        b"in a --jobs worker" in r.stderr and b"fewer --jobs" in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []


def test_a_worker_stopped_as_it_starts_prints_no_traceback(cohort, tmp_path):
    """A SIGTERM that reaches a worker before it has set its own handling ran the parent's
    handler (copied by the fork) and printed 'Process ForkProcess-2: Traceback ... Terminated'
    (the parent stops the workers when one fails, or when it is stopped itself)."""
    out = tmp_path / "out.jsonl"
    r = _with_patch(_SIGNALLED, "check", "--patients", str(cohort), "--jobs", "3", "-o", str(out))
    assert r.returncode == 3 and b"Traceback" not in r.stderr, r.stderr
    assert r.stderr.count(b"\n") == 1, r.stderr
    assert os.listdir(tmp_path) == []


# --- the open-file limit --------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux rlimits")
def test_too_many_open_files_is_one_line_and_exit_2_not_an_internal_error(cohort, tmp_path):
    """`ulimit -n 16` and --jobs 4: the pipes of four workers do not fit. It was 'internal error
    (please report)', exit 3: a limit of the system is not our bug."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))

    out = tmp_path / "out.jsonl"
    r = ketadose("plan", REGIMEN, *START, "--patients", str(cohort), "--jobs", "4", "-o",
                 str(out), preexec_fn=limit)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count(b"\n") == 1 and b"Too many open files" in r.stderr, r.stderr
    assert b"ulimit -n" in r.stderr
    assert os.listdir(tmp_path) == []


# --- the address-space limit ------------------------------------------------------------------
def _address_space_at_start() -> int:
    """KiB of address space this Python takes as it starts (with its site packages)."""
    r = subprocess.run([sys.executable, "-c", "print(open('/proc/self/status').read())"],
                       capture_output=True, text=True, check=True)
    return int(r.stdout.split("VmPeak:")[1].split()[0])


def _crashed_in_orjson(stderr: bytes) -> bool:
    """Whether faulthandler's report puts a crash on a line of ours that calls orjson's dumps:
    orjson 3.13.0 dereferences a failed allocation (SIGSEGV) instead of raising MemoryError
    (reproduced without ketadose: dumps under `ulimit -v` with the address space nearly used).
    Not ours to fix; docs/testing.md."""
    text = stderr.decode("utf-8", "replace")
    if "Fatal Python error: Segmentation fault" not in text:
        return False
    frame = text.split("(most recent call first):\n", 1)[-1].splitlines()[0].strip()
    if not frame.startswith('File "') or "/ketadose/" not in frame:
        return False
    path, rest = frame[6:].split('", line ', 1)
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    line = source.splitlines()[int(rest.split()[0]) - 1]
    return "orjson" in source and ".dumps(" in line


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux rlimits")
def test_jobs_under_an_address_space_limit_succeed_or_say_what_ran_out(cohort, tmp_path):
    """`ulimit -v` stops --jobs before one process (each worker is a process with a thread of
    its own): at 52-56 MB `--jobs 3` was 'internal error (please report): MemoryError', exit 3,
    where `--jobs 1` ran. A limit of the system is not our bug: from a limit under which the
    program hardly starts to one under which it runs, every run either writes the whole file or
    says on one line what ran out (exit 2): never a traceback, never exit 3, never a signal's
    death (orjson's crash, _crashed_in_orjson, is now avoided). The limits are counted from what this Python
    takes as it starts (below it CPython itself fails: 'Fatal Python error: init_import_site')."""
    import resource

    start = _address_space_at_start()
    expected = ketadose("plan", REGIMEN, *START, "--patients", str(cohort)).stdout
    outcomes = []
    for extra in range(8, 60, 6):  # MiB above the start
        limit = (start + (extra << 10)) << 10

        def apply(limit=limit):  # pragma: no cover - in the child
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        out = tmp_path / "out.jsonl"
        r = ketadose("plan", REGIMEN, *START, "--patients", str(cohort), "--jobs", "2", "-o",
                     str(out), preexec_fn=apply, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        # orjson is left out under a limit (render.documents.batch.allocations_may_fail)
        assert not (r.returncode < 0 and _crashed_in_orjson(r.stderr)), (extra, r.stderr)
        if r.returncode == 2 and r.stderr.startswith(b"ketadose: error: out of memory"):
            assert r.stderr.count(b"\n") == 1, (extra, r.stderr)
            outcomes.append("refused")
        else:  # the batch has blocked patients and error lines: exit 2 with the whole file
            assert r.returncode == 2 and out.read_bytes() == expected, (extra, r.stderr)
            assert r.stderr.count(b"\n") == 1 and r.stderr.startswith(b"wrote "), r.stderr
            outcomes.append("ran")
            out.unlink()
        assert os.listdir(tmp_path) == [], (extra, r.stderr)
    assert "refused" in outcomes and "ran" in outcomes, outcomes


@pytest.mark.parametrize("exc, what", [
    (MemoryError(), "out of memory"),
    (RuntimeError("can't start new thread"), "out of memory or threads: can't start new thread"),
    (OSError(12, "Cannot allocate memory"), "out of memory: Cannot allocate memory"),
    (ImportError("/x/unicodedata.so: failed to map segment from shared object",
                 name="unicodedata"), "out of memory: cannot load unicodedata"),
    (RuntimeError("dictionary changed size during iteration"), None),
    (OSError(5, "Input/output error"), None),
    (ImportError("No module named 'x'", name="x"), None),
    (ValueError("out of memory"), None),
])
def test_what_counts_as_a_limit_of_the_system(exc, what):
    """errors.OutOfResources.of: the system refusing memory or a thread is exit 2 with what ran
    out; anything else stays our bug (exit 3)."""
    from ketadose.errors import OutOfResources

    found = OutOfResources.of(exc)
    if what is None:
        assert found is None
        return
    assert str(found).startswith(what) and str(found).endswith("raise the limit")
    assert str(OutOfResources.of(exc, jobs=True)).endswith(
        "raise the limit, or run with fewer --jobs")
    assert found.exit_code == 2


@pytest.mark.parametrize("mode", ["check", "plan"])
def test_reproducible_is_accepted_by_a_batch_whose_lines_carry_no_time(tmp_path, mode):
    """A batch line carries no time of computation: runs a second apart, with and without
    --reproducible (accepted, as a script author passes it), give the same bytes; the option's
    help says so."""
    import time

    path = tmp_path / "p.jsonl"
    rnd = random.Random(3)
    path.write_text("".join(json.dumps(_record(rnd, i)) + "\n" for i in range(20)))
    args = [mode, REGIMEN, "--patients", str(path), *START]
    runs = []
    for extra in ([], ["--reproducible"], [], ["--reproducible", "--jobs", "2"]):
        runs.append(ketadose(*args, *extra))
        time.sleep(1.1)
    assert all(r.returncode in (0, 1) and r.stderr == b"" for r in runs), runs[0].stderr
    assert len({r.stdout for r in runs}) == 1 and len(runs[0].stdout.splitlines()) == 20
    assert "a batch, --patients, never carries the time" in " ".join(
        ketadose(mode, "--help").stdout.decode().split())
