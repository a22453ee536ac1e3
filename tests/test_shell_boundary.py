"""The shell boundary through the real entry point (issue 15): output streams, atomic files,
terminals, pipes, signals, limits and exit codes. Each test is one reproducer of the issue."""

from __future__ import annotations

import json
import os
import pty
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from terminal import drain

ROOT = Path(__file__).parent.parent
EXAMPLE = str(ROOT / "examples" / "patient.yaml")
KETADOSE = [sys.executable, "-m", "ketadose"]
PLAN = ["plan", "crps-schwartzman-2009", "--patient", EXAMPLE]

RECORD = {"age": 45, "sex": "female", "weight": "72 kg", "height": "168 cm", "pregnant": False,
          "breastfeeding": False, "conditions": [], "medications": [], "allergies": [],
          "previous_courses": []}


def ketadose(*args, **kw) -> subprocess.CompletedProcess:
    if "stdout" not in kw and "stderr" not in kw:
        kw.setdefault("capture_output", True)
    kw.setdefault("stderr", subprocess.PIPE)
    if kw.get("capture_output"):
        kw.pop("stderr")
    kw.setdefault("timeout", 120)
    return subprocess.run([*KETADOSE, *args], **kw)


def one_line_error(result) -> str:
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0] and "internal error" not in lines[0]
    return lines[0]


@pytest.fixture
def batch(tmp_path):
    def make(n=30, name="b.jsonl"):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"id": f"p{i}", **RECORD}) + "\n" for i in range(n)))
        return str(path)
    return make


def run_in_pty(args, cwd, timeout=120):
    """Run with stdin, stdout and stderr on a terminal, as a clinician at a prompt would."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.execv(sys.executable, [*KETADOSE, *args])
    out = drain(fd, timeout)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


# ------------------------------------------------------------------ 1. streams and -o files
def test_interactive_batch_with_o_writes_the_file_not_the_screen(tmp_path, batch):
    path = batch(40)
    code, screen = run_in_pty(["check", "crps-schwartzman-2009", "--patients", path,
                               "--format", "jsonl", "-o", "w.jsonl"], tmp_path)
    assert code == 0, screen
    lines = (tmp_path / "w.jsonl").read_text().splitlines()
    assert len(lines) == 40 and all(json.loads(x)["exit"] == 0 for x in lines)
    assert b'"rule"' not in screen  # no record reached the terminal


def test_batch_to_a_file_from_a_terminal_stderr(tmp_path, batch):
    """Progress on a terminal stderr never touches a redirected stdout."""
    path = batch(25)
    out = tmp_path / "out.jsonl"
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover
        with open(out, "wb") as fh:
            os.dup2(fh.fileno(), 1)
        os.execv(sys.executable, [*KETADOSE, "check", "crps-schwartzman-2009", "--patients",
                                  path, "--format", "jsonl"])
    while True:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [json.loads(x)["line"] for x in out.read_text().splitlines()] == list(range(1, 26))


def test_o_file_is_streamed_as_records_are_made(tmp_path):
    """Records reach the -o temporary file while the batch is still reading its input (the
    output was once held in memory until the end: 1.28 GB for 20,000 patients)."""
    proc = subprocess.Popen([*KETADOSE, "check", "crps-schwartzman-2009", "--patients", "-",
                             "--format", "jsonl", "-o", "out.jsonl"], cwd=tmp_path,
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i in range(5):
            proc.stdin.write((json.dumps({"id": f"p{i}", **RECORD}) + "\n").encode())
        proc.stdin.flush()
        deadline, lines = time.time() + 60, 0
        while time.time() < deadline and lines < 5:
            tmp = being_written(proc.pid, tmp_path)
            lines = Path(tmp).read_bytes().count(b"\n") if tmp else 0
            time.sleep(0.05)
        assert lines == 5 and proc.poll() is None  # written, and still waiting for input
        assert not (tmp_path / "out.jsonl").exists()  # not in place until the run ends
    finally:
        proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 5


def test_file_size_limit_is_a_failed_run(tmp_path):
    def small():  # pragma: no cover
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    with open(tmp_path / "p.json", "wb") as fh:
        r = ketadose(*PLAN, "--format", "json", stdout=fh, stderr=subprocess.PIPE,
                     capture_output=False, preexec_fn=small)
    assert r.returncode == 2
    assert "cannot write" in one_line_error(r)


def test_file_size_limit_with_o_leaves_no_file(tmp_path):
    def small():  # pragma: no cover
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    r = ketadose(*PLAN, "--format", "json", "-o", "p.json", cwd=tmp_path, preexec_fn=small)
    assert r.returncode == 2 and "cannot write" in one_line_error(r)
    assert os.listdir(tmp_path) == []


def test_closed_stdout_is_a_failed_run():
    r = ketadose(*PLAN, "--format", "json", stdout=subprocess.DEVNULL, capture_output=False,
                 stderr=subprocess.PIPE, pass_fds=(), close_fds=True,
                 preexec_fn=lambda: os.close(1))
    assert r.returncode == 2 and "standard output is closed" in one_line_error(r)


def test_full_disk_is_a_failed_run():
    with open("/dev/full", "wb") as full:
        r = ketadose(*PLAN, "--format", "json", stdout=full, stderr=subprocess.PIPE,
                     capture_output=False)
    assert r.returncode == 2 and "No space left" in one_line_error(r)


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_closed_pipe_ends_quietly(fmt, tmp_path, batch):
    """`| head -1` must not look like 'blocked' (exit 1) nor print a traceback."""
    args = [*PLAN, "--format", fmt] if fmt != "csv" else \
        ["plan", "crps-schwartzman-2009", "--patients", batch(300), "--format", "jsonl"]
    proc = subprocess.Popen([*KETADOSE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    rc = proc.wait(timeout=120)
    assert rc in (0, 141)
    assert proc.stderr.read() == b""


@pytest.mark.parametrize("sig, rc", [(signal.SIGTERM, 128 + signal.SIGTERM),
                                     (signal.SIGKILL, -signal.SIGKILL)])
def test_a_run_stopped_while_writing_leaves_no_file(tmp_path, batch, sig, rc):
    """SIGTERM: the handler removes the temporary file. SIGKILL (or the OOM killer) runs no
    handler: the named temporary file stayed beside the target (`.ketadose-*.tmp`); on Linux the
    temporary has no name until commit (O_TMPFILE)."""
    path = batch(3000)
    proc = subprocess.Popen([*KETADOSE, "plan", "crps-schwartzman-2009", "--patients", path,
                             "--format", "jsonl", "-o", "out.jsonl"], cwd=tmp_path,
                            stderr=subprocess.PIPE)
    _wait_for_writing(proc, tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == rc
    assert sorted(os.listdir(tmp_path)) == ["b.jsonl"]


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="O_TMPFILE is Linux's")
@pytest.mark.parametrize("force", [False, True])
def test_the_unnamed_temporary_is_linked_in_not_copied(tmp_path, force):
    """The file written is the file put in place (the same inode), with no name meanwhile."""
    from ketadose.io.writer import AtomicFile

    target = tmp_path / "a.txt"
    if force:
        target.write_text("earlier")
    out = AtomicFile(str(target), force=force)
    out.write("plan")
    assert out.tmp is None and os.listdir(tmp_path) == (["a.txt"] if force else [])
    inode = os.fstat(out._raw.fileno()).st_ino
    out.commit()
    assert os.stat(target).st_ino == inode and target.read_text() == "plan"
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("force", [False, True])
def test_where_there_is_no_unnamed_file_a_named_one_is_used_and_removed(tmp_path, monkeypatch,
                                                                        force):
    """No O_TMPFILE (another system, a file system that refuses it, no /proc): the named
    `.ketadose-*.tmp` beside the target, gone after commit and after abort."""
    from ketadose.io import writer

    monkeypatch.setattr(writer, "_unnamed", lambda folder: None)
    target = tmp_path / "a.txt"
    if force:
        target.write_text("earlier")
    out = writer.AtomicFile(str(target), force=force)
    out.write("plan")
    assert out.tmp is not None and os.path.basename(out.tmp).startswith(".ketadose-")
    out.commit()
    assert target.read_text() == "plan" and os.listdir(tmp_path) == ["a.txt"]
    out = writer.AtomicFile(str(tmp_path / "b.txt"), force=force)
    out.write("half")
    out.abort()
    assert os.listdir(tmp_path) == ["a.txt"]


def being_written(pid, folder):
    """A path to read the -o temporary file that process ``pid`` writes in ``folder`` (by its
    descriptor: on Linux it has no name), or None before it has one."""
    folder = os.path.realpath(folder)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        # an unnamed file: "<folder>/#<inode> (deleted)"; a named one: .ketadose-<random>.tmp
        if link.startswith(f"{folder}/#") or link.startswith(f"{folder}/.ketadose-"):
            return f"/proc/{pid}/fd/{fd}"
    return None


def _wait_for_writing(proc, folder):
    """Until the run has written a line of its -o file."""
    deadline = time.time() + 60
    while time.time() < deadline:
        tmp = being_written(proc.pid, folder)
        if tmp and os.path.getsize(tmp) > 0:
            return
        time.sleep(0.05)
    raise AssertionError("never started writing")


# ------------------------------------------------------------------ 3. one writer, regular files
def test_o_follows_the_umask(tmp_path):
    def umask():  # pragma: no cover
        os.umask(0o027)

    r = ketadose(*PLAN, "--format", "json", "-o", "p.json", cwd=tmp_path, preexec_fn=umask)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "p.json").st_mode) == 0o640


@pytest.mark.parametrize("target", ["/dev/null", "fifo", "dir"])
def test_o_refuses_devices_fifos_and_folders_even_with_force(tmp_path, target):
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    if target == "dir":
        (tmp_path / "dir").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    before = os.stat(path)
    r = ketadose(*PLAN, "--format", "json", "-o", path, "--force", timeout=60)
    assert r.returncode == 2, r.stderr
    one_line_error(r)
    after = os.stat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_o_writes_through_a_symlink_only_with_force_and_keeps_it(tmp_path):
    (tmp_path / "real.json").write_text("old")
    os.symlink("real.json", tmp_path / "link.json")
    r = ketadose(*PLAN, "--format", "json", "-o", "link.json", cwd=tmp_path)
    assert r.returncode == 2 and "symbolic link" in one_line_error(r)
    assert (tmp_path / "real.json").read_text() == "old"
    r = ketadose(*PLAN, "--format", "json", "-o", "link.json", "--force", cwd=tmp_path)
    assert r.returncode == 0
    assert os.path.islink(tmp_path / "link.json")
    assert json.loads((tmp_path / "real.json").read_text())["blocked"] is False


def test_plot_shares_the_writer(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    os.symlink("notes.txt", tmp_path / "chart.svg")
    args = ["simulate", "crps-schwartzman-2009", "--patient", EXAMPLE, "--format", "json",
            "--resolution", "30 min"]
    r = ketadose(*args, "--plot", "chart.svg", cwd=tmp_path, stdout=subprocess.DEVNULL)
    assert r.returncode == 2 and (tmp_path / "notes.txt").read_text() == "my notes"
    (tmp_path / "c2.svg").write_text("mine")
    r = ketadose(*args, "--plot", "c2.svg", cwd=tmp_path, stdout=subprocess.DEVNULL)
    assert r.returncode == 2 and "exists" in one_line_error(r)
    assert (tmp_path / "c2.svg").read_text() == "mine"
    r = ketadose(*args, "--plot", "new.svg", cwd=tmp_path, stdout=subprocess.DEVNULL)
    assert r.returncode == 0 and (tmp_path / "new.svg").read_text().startswith("<svg")
    os.mkfifo(tmp_path / "f.svg")
    r = ketadose(*args, "--plot", "f.svg", "--force", cwd=tmp_path, stdout=subprocess.DEVNULL,
                 timeout=60)
    assert r.returncode == 2 and stat.S_ISFIFO(os.stat(tmp_path / "f.svg").st_mode)


def test_no_clobber_is_atomic_two_writers_one_wins(tmp_path):
    procs = [subprocess.Popen([*KETADOSE, *PLAN, "--format", "json", "-o", "same.json"],
                              cwd=tmp_path, stderr=subprocess.PIPE) for _ in range(4)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes.count(0) == 1 and codes.count(2) == 3, codes
    assert sorted(os.listdir(tmp_path)) == ["same.json"]


@pytest.mark.parametrize("where", ["--patient", "regimen", "--patients", "template folder"])
def test_a_fifo_input_is_refused_not_waited_on(tmp_path, where):
    fifo = tmp_path / "in.yaml"
    os.mkfifo(fifo)
    if where == "--patient":
        args = ["plan", "crps-schwartzman-2009", "--patient", str(fifo)]
    elif where == "regimen":
        args = ["plan", str(fifo), "--patient", EXAMPLE]
    elif where == "--patients":
        args = ["check", "--patients", str(fifo), "--format", "jsonl"]
    else:
        # a FIFO in a template folder is one bad template: reported once, skipped by `list`,
        # the error for a command that names it (issue 16)
        r = ketadose("--regimens", str(tmp_path), "list", timeout=30)
        assert r.returncode == 0 and r.stderr.decode().count("not a regular file") == 1
        args = ["--regimens", str(tmp_path), "show", "in"]
    r = ketadose(*args, timeout=30)
    assert r.returncode == 2 and "not a regular file" in one_line_error(r)


def test_o_into_missing_readonly_or_folder_paths_is_exit_2(tmp_path):
    for path in (str(tmp_path / "missing" / "p.json"), "/proc/p.json", str(tmp_path)):
        r = ketadose(*PLAN, "--format", "json", "-o", path)
        assert r.returncode == 2, (path, r.stderr)


# ------------------------------------------------------------------ 4. exit codes
@pytest.mark.parametrize("value", ["0mg/mL", "-0mg/mL", "1e-320mg/mL", "nan mg/mL", "inf mg/mL"])
def test_meaningless_concentrations_are_input_errors(value):
    r = ketadose(*PLAN, "--format", "json", "--concentration", value)
    assert r.returncode == 2 and "--concentration" in one_line_error(r)
    assert r.stdout == b""


@pytest.mark.parametrize("value", ["0", "nan", "-1", "inf", "1e-320"])
def test_meaningless_ka_is_an_input_error(value):
    r = ketadose("simulate", "crps-schwartzman-2009", "--patient", EXAMPLE, "--format", "json",
                 "--ka", value)
    assert r.returncode == 2 and "--ka" in one_line_error(r) and r.stdout == b""


def test_priming_nan_is_an_input_error():
    r = ketadose(*PLAN, "--format", "json", "--priming", "nan")
    assert r.returncode == 2 and r.stdout == b""


def test_start_beyond_the_calendar_is_an_input_error(batch):
    r = ketadose(*PLAN, "--format", "json", "--start", "9999-12-25T09:00")
    assert r.returncode == 2 and "--start" in one_line_error(r)
    r = ketadose("plan", "crps-schwartzman-2009", "--patients", batch(3), "--format", "jsonl",
                 "--start", "9999-12-25T09:00")
    assert r.returncode == 2 and r.stdout == b""


@pytest.mark.parametrize("value", ["1" * 5000, '!!int "0x1"', '!!float "abc"', '!!int "1_000"',
                                   '!!bool "yes"', '!!null "x"'])
def test_odd_numbers_and_tags_in_a_patient_are_input_errors(tmp_path, value):
    path = tmp_path / "p.yaml"
    path.write_text(f"weight: 72 kg\nage: {value}\n")
    r = ketadose(*PLAN[:2], "--patient", str(path), "--format", "json")
    assert r.returncode == 2
    assert "p.yaml:2:" in one_line_error(r)


def test_closed_stdin_for_dash_is_an_input_error():
    r = ketadose("plan", "crps-schwartzman-2009", "--patient", "-", "--format", "json",
                 stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=lambda: os.close(0))
    assert r.returncode == 2 and "standard input is closed" in one_line_error(r)


def test_unreadable_template_folder_is_an_input_error(tmp_path, monkeypatch):
    """In-process: as root (CI) no folder is unreadable, so listing is made to fail."""
    from click.testing import CliRunner

    from ketadose.cli import cli

    folder = tmp_path / "clinic"
    folder.mkdir()
    real = os.listdir

    def refuse(path="."):
        if str(path) == str(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", refuse)
    r = CliRunner().invoke(cli, ["--regimens", str(folder), "list"])
    assert r.exit_code == 2 and "permission denied" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_unreadable_template_folder_as_another_user(tmp_path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "x.yaml").write_text("id: x\n")
    folder.chmod(0o700)
    tmp_path.chmod(0o755)

    def nobody():  # pragma: no cover
        os.setgid(65534)
        os.setuid(65534)

    try:
        r = ketadose("--regimens", str(folder), "list", preexec_fn=nobody, cwd="/")
    except PermissionError:
        pytest.skip("the interpreter is not readable by another user here")
    assert r.returncode == 2 and "permission denied" in one_line_error(r)


def test_lone_surrogate_is_one_error_record_and_the_batch_goes_on(tmp_path):
    path = tmp_path / "b.jsonl"
    good = json.dumps({"id": "ok", **RECORD})
    path.write_text(good + "\n" + '{"id": "\\ud800", "age": 45}\n' + good + "\n")
    r = ketadose("check", "--patients", str(path), "--format", "jsonl")
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["exit"] for x in lines] == [0, 2, 0] and r.returncode == 2
    assert "surrogate" in lines[1]["error"]


def test_huge_numbers_are_named_not_echoed(tmp_path):
    digits = "9" * 4000
    r = ketadose("plan", "crps-schwartzman-2009", "--weight", "72kg", "--age", digits)
    line = one_line_error(r)
    assert r.returncode == 2 and "(4000 digits)" in line and len(line) < 300
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"age": int(digits), **{k: v for k, v in RECORD.items()
                                                       if k != "age"}}) + "\n")
    r = ketadose("check", "--patients", str(path), "--format", "jsonl")
    record = json.loads(r.stdout)
    assert record["exit"] == 2 and len(record["error"]) < 300


def test_a_stream_whose_making_failed_writes_and_says_nothing_when_closed():
    """A refused -o file or a closed stdout raises in the stream's __init__; io's finalizer
    still closes (so flushes) the half-made object. Python 3.13 prints what that raises under
    the one-line message (found running the suite on 3.13.0: a traceback after every refused
    output); 3.11 drops it silently, so the half-made stream is tested directly."""
    from ketadose.io import writer

    for cls in (writer.AtomicFile, writer.StdoutStream):
        half = cls.__new__(cls)
        half.flush()
        half.close()


def test_standard_output_closed_before_its_stream_is_flushed_says_nothing(monkeypatch):
    """At exit Python closes sys.stdout, then io's finalizer closes (so flushes) a StdoutStream
    still alive: Python 3.13 printed "Exception ignored ... ValueError: flush of closed file"
    with a traceback under every fast-path validate/simulate to a pipe or a file (found running
    the suite on 3.13.0); 3.11 drops it silently, so the order is played here directly."""
    import io

    from ketadose.io import writer

    out = io.BytesIO()
    buffer = io.BufferedWriter(out)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="utf-8"))
    stream = writer.StdoutStream()
    stream.write("all of it\n")
    stream.flush()
    assert out.getvalue() == b"all of it\n"
    buffer.close()
    stream.flush()
    stream.close()


def test_fast_path_output_to_a_pipe_or_a_file_leaves_stderr_empty(tmp_path):
    """The same through the real entry point, on whichever Python runs the suite."""
    template = str(ROOT / "regimens" / "crps-schwartzman-2009.yaml")
    r = ketadose("validate", template)
    assert (r.returncode, r.stderr) == (0, b"")
    with open(tmp_path / "out.txt", "w") as fh:
        r = subprocess.run([sys.executable, "-m", "ketadose", "validate", template], stdout=fh,
                           stderr=subprocess.PIPE, timeout=120, check=False)
    assert (r.returncode, r.stderr) == (0, b"")
    assert "all valid" in (tmp_path / "out.txt").read_text()
