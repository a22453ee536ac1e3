"""Standard output redirected to a regular file that fills up (a file size limit, a full disk):
the run fails (exit 2, one line on stderr) and leaves no cut line nor half a document there,
only what was in the file before and, for a batch, its whole lines (io.writer.Rollback).
Through the real entry point, in write and in append mode (`>` after earlier output, `>>`),
for one process and for --jobs (workers that write to the file themselves)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_jobs import jsonl

ROOT = Path(__file__).parent.parent
EXAMPLE = str(ROOT / "examples" / "patient.yaml")
REGIMEN = "crps-schwartzman-2009"
CHECK = ["check", REGIMEN, "--format", "jsonl", "--date", "2026-11-21"]
EARLIER = b"earlier output of the script\n"


def _limited(limit: int):
    def set_limit():  # pragma: no cover - in the child
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death by SIGXFSZ
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


def run_into(path: Path, args: list, mode: str, limit: int | None = None):
    """Run with standard output on ``path``, which holds EARLIER: opened for writing at its
    end (`{ echo; ketadose; } > f`) or appending (`>> f`)."""
    path.write_bytes(EARLIER)
    flags = os.O_WRONLY | (os.O_APPEND if mode == "append" else 0)
    fd = os.open(path, flags)
    try:
        if mode == "write":
            os.lseek(fd, 0, os.SEEK_END)
        return subprocess.run([sys.executable, "-m", "ketadose", *args], stdout=fd,
                              stderr=subprocess.PIPE, timeout=180,
                              preexec_fn=_limited(limit) if limit else None)
    finally:
        os.close(fd)


def failed_on_one_line(r) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and "File too large" in lines[0]


DOCUMENTS = {
    "table": ["plan", REGIMEN, "--patient", EXAMPLE],
    "json": ["plan", REGIMEN, "--patient", EXAMPLE, "--format", "json"],
    "yaml": ["plan", REGIMEN, "--patient", EXAMPLE, "--format", "yaml"],
    "csv": ["plan", REGIMEN, "--patient", EXAMPLE, "--format", "csv"],
    "fhir": ["plan", REGIMEN, "--patient", EXAMPLE, "--format", "fhir"],
    "html": ["plan", REGIMEN, "--patient", EXAMPLE, "--format", "html"],
    "check-json": ["check", REGIMEN, "--patient", EXAMPLE, "--format", "json"],
}


@pytest.mark.parametrize("mode", ["write", "append"])
@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_a_document_cut_by_a_full_file_is_taken_back_whole(tmp_path, kind, mode):
    """A document is all or nothing: the file ends as it was before the run."""
    path = tmp_path / "out"
    whole = run_into(path, DOCUMENTS[kind], mode)
    assert whole.returncode in (0, 1), whole.stderr
    size = len(path.read_bytes()) - len(EARLIER)
    assert size > 600
    for limit in (len(EARLIER) + 1, len(EARLIER) + size // 2, len(EARLIER) + size - 1):
        r = run_into(path, DOCUMENTS[kind], mode, limit)
        failed_on_one_line(r)
        assert path.read_bytes() == EARLIER


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    path = tmp_path_factory.mktemp("rollback") / "patients.jsonl"
    path.write_text(jsonl(600))  # three chunks of 256 records: the parent's, then the workers'
    reference = subprocess.run([sys.executable, "-m", "ketadose", *CHECK, "--patients",
                                str(path)], capture_output=True, timeout=180).stdout
    lines = reference.splitlines(keepends=True)
    assert len(lines) == 600
    return path, lines


@pytest.mark.parametrize("mode", ["write", "append"])
@pytest.mark.parametrize("jobs", [[], ["--jobs", "1"], ["--jobs", "2"]])
def test_a_batch_cut_by_a_full_file_keeps_exactly_its_whole_lines(tmp_path, batch, jobs, mode):
    """Every whole line that fitted stays, the line that did not is taken back: the file is
    EARLIER and then the longest run of the batch's lines under the limit. Limits inside the
    first chunk (written by the parent) and in the second and third (by a worker with
    --jobs 2), each in the middle of a line."""
    patients, lines = batch
    path = tmp_path / "out"
    ends = [sum(map(len, lines[:k])) for k in range(len(lines) + 1)]
    for at in (3, 255, 300, 511, 590):
        limit = len(EARLIER) + ends[at] + len(lines[at]) // 2  # line `at` would be cut
        r = run_into(path, [*CHECK, "--patients", str(patients), *jobs], mode, limit)
        failed_on_one_line(r)
        assert path.read_bytes() == EARLIER + b"".join(lines[:at]), at


def test_a_plan_batch_cut_in_a_workers_chunk_keeps_its_whole_lines(tmp_path, batch):
    """The same for plan's 18 KiB lines (a worker's writev of many lines, cut in one)."""
    patients, _ = batch
    args = ["plan", REGIMEN, "--patients", str(patients), "--start", "2026-12-01T09:00",
            "--reproducible"]
    whole = run_into(tmp_path / "whole", args, "write")
    lines = (tmp_path / "whole").read_bytes()[len(EARLIER):].splitlines(keepends=True)
    assert whole.returncode == 2 and len(lines) == 600
    at = 400
    limit = len(EARLIER) + sum(map(len, lines[:at])) + 5000
    r = run_into(tmp_path / "out", [*args, "--jobs", "2"], "append", limit)
    failed_on_one_line(r)
    assert (tmp_path / "out").read_bytes() == EARLIER + b"".join(lines[:at])


def test_the_shell_writes_on_after_the_cut_without_a_hole(tmp_path, batch):
    """The shared file offset is put back at the cut: what the script writes next (here
    `echo`, through the same open file) follows the last whole line, with no gap of zeros."""
    patients, lines = batch
    path = tmp_path / "out"
    limit = len(EARLIER) + sum(map(len, lines[:100])) + 10
    script = (f"ulimit -f {limit // 512 + 1}; {sys.executable} -m ketadose "
              f"{' '.join(CHECK)} --patients {patients} --jobs 2 2>/dev/null; "
              "echo status $?")
    path.write_bytes(b"")
    with open(path, "wb") as fh:
        subprocess.run(["bash", "-c", script], stdout=fh, timeout=180, check=True)
    data = path.read_bytes()
    kept, tail = data.rsplit(b"status ", 1)
    assert tail == b"2\n" and b"\0" not in data
    assert kept == b"".join(lines[:len(kept.splitlines())]) and kept.endswith(b"\n")


# ------------------------------------------------------------------ Rollback on its own
def _rollback(path: Path, append: bool):
    from ketadose.io.writer import Rollback

    fd = os.open(path, os.O_WRONLY | (os.O_APPEND if append else 0))
    if not append:
        os.lseek(fd, 0, os.SEEK_END)
    return fd, Rollback(fd)


def _write(fd: int, mark, data: bytes) -> None:
    from ketadose.io.writer import _tail

    mark.begin()
    n = os.write(fd, data)
    mark.wrote(n, _tail(data, n) if mark.lines else None)


@pytest.mark.parametrize("append", [False, True])
def test_what_another_writer_appended_is_never_cut(tmp_path, append):
    path = tmp_path / "f"
    path.write_bytes(b"old\n")
    fd, mark = _rollback(path, append)
    mark.lines = True
    _write(fd, mark, b"one\ntw")
    with open(path, "ab") as other:  # another process's line after ours
        other.write(b"theirs\n")
    mark.undo()
    assert path.read_bytes() == b"old\none\ntwtheirs\n"
    os.close(fd)


def test_a_write_after_anothers_never_cuts_below_it(tmp_path):
    """Two runs appending to one file (`>> log`), interleaved: a failing run cuts back its own
    bytes after the other's, never the other's."""
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd, mark = _rollback(path, True)
    _write(fd, mark, b'{"doc": [1,')
    with open(path, "ab") as other:
        other.write(b"theirs\n")
    _write(fd, mark, b" 2,")
    mark.undo()  # a document: back to where its bytes after the other's began
    assert path.read_bytes() == b'{"doc": [1,theirs\n'
    os.close(fd)


@pytest.mark.parametrize("lines", [False, True])
def test_a_writer_killed_inside_a_write_is_cut_back(tmp_path, lines):
    """A --jobs worker killed inside its write call leaves BUSY set: what lies after the last
    recorded write (to the end of the file, where the offset is) is taken back."""
    path = tmp_path / "f"
    path.write_bytes(b"old\n")
    fd, mark = _rollback(path, False)
    mark.lines = lines
    _write(fd, mark, b"one\ntwo\n")
    mark.begin()
    os.write(fd, b"thr")  # the call that never returned
    mark.undo()
    assert path.read_bytes() == (b"old\none\ntwo\n" if lines else b"old\n")
    assert os.lseek(fd, 0, os.SEEK_CUR) == len(path.read_bytes())
    os.close(fd)


# ------------------------------------------------------------------ --jobs: a worker killed
# The console entry point, with each worker's output call (os.writev, commands.parallel) made
# to write the first half of its first line and then SIGKILL its own process: a worker killed
# by the OOM killer or `kill -9` in the middle of its write. argv: the number of the call to
# die in (1: the first worker write), then the command's arguments.
_KILLED_IN_WRITE = """
import os, signal, sys
from ketadose.launch import main

parent, calls, die_at = os.getpid(), [], int(sys.argv.pop(1))
real = os.writev

def writev(fd, buffers):
    if os.getpid() != parent:
        calls.append(1)
        if len(calls) == die_at:
            first = bytes(buffers[0])
            real(fd, [first[:len(first) // 2]])
            os.kill(os.getpid(), signal.SIGKILL)
    return real(fd, buffers)

os.writev = writev
sys.argv[0] = "ketadose"
main()
"""


@pytest.mark.parametrize("mode", ["write", "append"])
def test_a_worker_killed_inside_its_write_leaves_only_whole_lines(tmp_path, batch, mode):
    """Our failure (exit 3, one line naming the worker), and the file keeps EARLIER and the
    whole lines before the one the worker was cutting, which is taken back: the parent, once
    every worker is reaped, cuts back to the last whole line the workers noted."""
    patients, lines = batch
    path = tmp_path / "out"
    path.write_bytes(EARLIER)
    fd = os.open(path, os.O_WRONLY | (os.O_APPEND if mode == "append" else 0))
    os.lseek(fd, 0, os.SEEK_END)
    try:
        r = subprocess.run([sys.executable, "-c", _KILLED_IN_WRITE, "1", *CHECK, "--patients",
                            str(patients), "--jobs", "2"], stdout=fd, stderr=subprocess.PIPE,
                           timeout=180)
    finally:
        os.close(fd)
    assert r.returncode == 3, r.stderr
    err = r.stderr.decode().splitlines()
    assert len(err) == 1 and "internal error" in err[0] and "worker" in err[0]
    # the parent's chunk (256 lines) stays; the worker's first line was cut and taken back
    assert path.read_bytes() == EARLIER + b"".join(lines[:256])
