"""`--jobs N` (issue 18): a batch spread over worker processes writes exactly what one process
writes (input order, error records, exit code), refuses bad values, and ends cleanly when the
reader goes away or the run is stopped. Through the real entry point (subprocess)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

REGIMEN = "crps-schwartzman-2009"
MEDS = ["morphine", "oxycodone", "diazepam", "gabapentin", "clarithromycin", "levothyroxine"]


def ketadose(*args, stdin=None, timeout=180):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], input=stdin,
                          capture_output=True, timeout=timeout, check=False)


def jsonl(n: int, seed: int = 1) -> str:
    """Patients with, among them, broken lines, invalid fields and contraindicated ones."""
    rnd, lines = random.Random(seed), []
    for i in range(n):
        if i % 97 == 5:
            lines.append('{"broken')
            continue
        p = {"id": f"p{i}", "age": rnd.randint(18, 80), "sex": rnd.choice(["female", "male"]),
             "weight": f"{rnd.randint(45, 130)} kg", "pregnant": False, "breastfeeding": False,
             "blood_pressure": f"{rnd.randint(100, 170)}/{rnd.randint(60, 95)}",
             "heart_rate": rnd.randint(55, 100), "conditions": [], "allergies": [],
             "medications": [{"name": m} for m in rnd.sample(MEDS, rnd.randint(0, 2))],
             "liver": {"alt": "30 U/L", "alt_uln": "45 U/L"}, "previous_courses": []}
        if i % 89 == 3:
            p["weight"] = "-3 kg"
        if i % 50 == 7:
            p.update(sex="female", pregnant=True)  # contraindicated: exit 1
        lines.append(json.dumps(p))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def patients(tmp_path_factory):
    path = tmp_path_factory.mktemp("jobs") / "patients.jsonl"
    path.write_text(jsonl(600))  # three chunks of 256
    return path


@pytest.mark.parametrize("mode", ["plan", "check"])
def test_jobs_write_exactly_what_one_process_writes(patients, mode):
    args = [mode, REGIMEN, "--patients", str(patients), "--format", "jsonl", "--date",
            "2026-11-21"] if mode == "check" else \
        [mode, REGIMEN, "--patients", str(patients), "--format", "jsonl", "--start",
         "2026-12-01T09:00", "--reproducible"]
    one = ketadose(*args)
    assert one.returncode == 2 and one.stderr == b""  # error records: exit 2, the batch went on
    lines = [json.loads(x) for x in one.stdout.decode().splitlines()]
    assert [x["line"] for x in lines] == list(range(1, 601))
    assert {x["exit"] for x in lines} == {0, 1, 2}
    for jobs in ("2", "3") if mode == "check" else ("3",):
        many = ketadose(*args, "--jobs", jobs)
        assert (many.returncode, many.stdout, many.stderr) == (one.returncode, one.stdout, b"")


def test_jobs_with_csv_and_stdin(patients):
    rows = [json.loads(x) for x in patients.read_text().splitlines()[:300] if x.endswith("}")]
    csv = "id,age,sex,weight\n" + "".join(f"{r['id']},{r['age']},{r['sex']},{r['weight']}\n"
                                         for r in rows)
    one = ketadose("plan", REGIMEN, "--patients", "-", "--patients-format", "csv", "--format",
                   "jsonl", "--reproducible", "--start", "2026-12-01T09:00", stdin=csv.encode())
    two = ketadose("plan", REGIMEN, "--patients", "-", "--patients-format", "csv", "--format",
                   "jsonl", "--reproducible", "--start", "2026-12-01T09:00", "--jobs", "2",
                   stdin=csv.encode())
    assert one.stdout == two.stdout and one.returncode == two.returncode
    assert len(one.stdout.splitlines()) == len(rows)


def test_jobs_auto_and_output_file(patients, tmp_path):
    out = tmp_path / "out.jsonl"
    r = ketadose("check", "--patients", str(patients), "--format", "jsonl", "--date",
                 "2026-11-21", "--jobs", "auto", "-o", str(out))
    one = ketadose("check", "--patients", str(patients), "--format", "jsonl", "--date",
                   "2026-11-21")
    assert r.returncode == one.returncode and out.read_bytes() == one.stdout


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "257", ""])
def test_bad_jobs_values_are_usage_errors(patients, value):
    r = ketadose("check", "--patients", str(patients), "--format", "jsonl", "--jobs", value)
    assert r.returncode == 2 and r.stdout == b""
    assert len(r.stderr.decode().strip().splitlines()) == 1 and b"--jobs" in r.stderr


def test_jobs_without_a_batch_is_a_usage_error():
    r = ketadose("plan", REGIMEN, "--weight", "70kg", "--jobs", "2")
    assert r.returncode == 2 and r.stdout == b""
    assert b"--jobs is for batches" in r.stderr


def _children(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def test_reader_gone_ends_the_workers_too(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text(jsonl(20000))
    p = subprocess.Popen([sys.executable, "-m", "ketadose", "check", "--patients", str(path),
                          "--format", "jsonl", "--jobs", "2"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout.readline().startswith(b'{"line":1,')
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read()
    assert p.wait(timeout=120) == 141 and b"Traceback" not in err


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_sigterm_ends_the_workers_and_removes_the_temporary_file(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text(jsonl(40000))
    out = tmp_path / "out.jsonl"
    p = subprocess.Popen([sys.executable, "-m", "ketadose", "plan", REGIMEN, "--patients",
                          str(path), "--format", "jsonl", "--jobs", "2", "-o", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_children(p.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(p.pid)
    assert len(workers) >= 2
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 128 + signal.SIGTERM
    for pid in workers:
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    if fh.read().split(") ")[1].startswith("Z"):
                        break  # a zombie: ended, waiting to be reaped by init
            except OSError:
                break
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z")
    assert not out.exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".ketadose-")]


# --- Generated batches: --jobs 2 against one process, byte for byte (issue 18, goal 2) ---------
# The workers get undecoded records and decode them (io.batch.decode); these properties hold the
# two runs together over generated input bytes: varied records (tests/test_screen_batch.py's
# generator), error lines, blank lines, long values, a BOM on some lines, CRLF, invalid UTF-8,
# bidirectional controls, CSV with quoted multi-line cells and wrong cell counts.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from conftest import budget  # noqa: E402

CSV_CELLS = {
    "id": ["p1", "patient \u00e9", "", "a,b", '"q"', "x\u202ey"],
    "age": ["40", "", "forty", "130", " 7 "],
    "sex": ["female", "male", "", "other"],
    "weight": ["70", "70 kg", "154 lb", "-3 kg", ""],
    "pregnant": ["true", "false", "", "yes"],
    "blood_pressure": ["128/82", "185/105", "", "high"],
    "heart_rate": ["72", "", "300"],
    "conditions": ["none", "glaucoma;crps", "", "unknown-thing", "seizure-disorder"],
    "medications": ["none", "morphine:60 mg/day;diazepam", "", "unknownium", "clonidine"],
    "allergies": ["none", "Ketalar (anaphylaxis)", "", "latex;midazolam", "x" * 2100],
    "alt": ["30 U/L", "", "150 U/L"], "alt_uln": ["45 U/L", ""],
    "previous_courses": ["", "none", "2026-09-01|100 h|false", "2099-01-01"],
}


def _json_line(draw) -> bytes:
    from test_screen_batch import records as varied_records

    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([b"", b"   ", b'{"broken', b"[1, 2]", b'{"a": 1, "a": 2}', b"   ",
                                     b'{"age": NaN}', b"\xff\xfe{}", b'{"id": "\\ud800"}',
                                     b'{"id": "x\\u202ey"}', b'{"notes": "' + b"y" * 2100 + b'"}',
                                     b'{"age": 40}' + b" " * 5]))
    data = draw(varied_records())
    return json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8")


def _csv_record(draw, header) -> bytes:
    import csv
    import io

    cells = [draw(st.sampled_from(CSV_CELLS[h])) for h in header]
    if draw(st.integers(0, 14)) == 0:
        cells = cells[:-1] if cells else ["extra"]  # a wrong number of cells
    if draw(st.integers(0, 14)) == 0 and cells:
        cells[0] = "two\nlines"  # a quoted cell across lines
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    text = buf.getvalue().encode("utf-8")
    if draw(st.integers(0, 19)) == 0:
        text = draw(st.sampled_from([b'"unclosed', b"\xff", b" "]))
    return text


@st.composite
def batch_bytes(draw):
    """(kind, the bytes of a generated batch file)."""
    kind = draw(st.sampled_from(["jsonl", "csv"]))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    n = draw(st.integers(0, 14))
    if kind == "jsonl":
        lines = [_json_line(draw) for _ in range(n)]
    else:
        header = draw(st.lists(st.sampled_from(sorted(CSV_CELLS)), min_size=1, max_size=6,
                               unique=True))
        lines = [",".join(header).encode()] + [_csv_record(draw, header) for _ in range(n)]
    lines = [(b"\xef\xbb\xbf" if draw(st.integers(0, 9)) == 0 else b"") + x for x in lines]
    end = draw(st.sampled_from([eol, b""]))
    return kind, eol.join(lines) + (end if lines else b"")


from ketadose.commands.parallel import _write as _PARENT_WRITES  # noqa: E402


def _run_in_process(path, kind, jobs, monkeypatch, max_line=None, sink="file"):
    """(exit code or the input error, output bytes) of a check batch run in this process,
    written to a file (the workers write it themselves) or to an in-memory stream (no file
    descriptor: the workers send their lines back and this process writes them)."""
    import datetime as dt
    import io
    import tempfile

    from ketadose.commands import batch, parallel
    from ketadose.errors import KetadoseError
    from ketadose.io.writer import _Stream

    if sink == "file":
        fd, name = tempfile.mkstemp()
        os.unlink(name)
        raw = io.FileIO(fd, "w+b")

        calls = []

        def not_here(*args):  # the parent writes the chunks it works on before the fork only
            calls.append(1)
            if len(calls) > parallel.WARM:
                raise AssertionError("a line came back to the parent: the workers write a file")
            return _PARENT_WRITES(*args)

        monkeypatch.setattr(parallel, "_write", not_here)
    else:
        raw = io.BytesIO()
        monkeypatch.setattr(parallel, "_write", _PARENT_WRITES)
    stream = _Stream(raw)
    monkeypatch.setattr(batch, "output", lambda: stream)
    monkeypatch.setattr(parallel, "CHUNK", 2)  # several chunks, spread over the workers
    try:
        code = batch.run_batch("check", (), REGIMEN, str(path), kind, {"override": None},
                               dt.date(2026, 11, 20), max_line=max_line, jobs=jobs)
    except KetadoseError as exc:
        code = str(exc)
    stream.flush()
    raw.seek(0)
    data = raw.read()
    raw.close()
    return code, data


@settings(max_examples=budget(40), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(batch_bytes(), st.sampled_from([None, 1024]))
def test_two_jobs_write_what_one_process_writes_for_generated_batches(tmp_path_factory,
                                                                     monkeypatch, batch,
                                                                     max_line):
    """max_line 1024: the long values make over-long lines between ordinary ones (found by
    the parent, which never sends them)."""
    kind, data = batch
    path = tmp_path_factory.mktemp("gen") / f"p.{kind}"
    path.write_bytes(data)
    one = _run_in_process(path, kind, 1, monkeypatch, max_line)
    two = _run_in_process(path, kind, 2, monkeypatch, max_line)
    assert two == one
    assert _run_in_process(path, kind, 3, monkeypatch, max_line, sink="memory") == one
    if kind == "jsonl":  # one line out per line in that is not blank, numbered as in the file
        want = [n for n, raw in enumerate(data.split(b"\n"), start=1)
                if raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").strip()]
        assert [json.loads(x)["line"] for x in one[1].splitlines()] == want


def _log_each_record(monkeypatch, log, entry):
    """Make the JSON Lines reader (bytes in, records out) append ``entry()`` to the file
    ``log`` for each record it reads, in whichever process reads it; the real reader."""
    from ketadose.io import batch as io_batch

    real = io_batch._jsonl_records

    def logged(*args):
        for item in real(*args):
            with open(log, "a") as fh:
                fh.write(entry() + "\n")
            yield item

    monkeypatch.setattr(io_batch, "_jsonl_records", logged)
    return real


def test_the_workers_decode_the_records_not_the_parent(tmp_path, monkeypatch):
    """With --jobs the parent only splits the input: each record is decoded in a worker (the
    parent once decoded and pickled every record: a third of check's work with two jobs),
    except those of the first WARM chunks, which the parent works on before the fork."""
    from ketadose.commands import parallel
    from ketadose.io import batch as io_batch

    log = tmp_path / "decoded-by"
    real = _log_each_record(monkeypatch, log, lambda: f"{os.getpid()}")
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl(40))
    code, out = _run_in_process(path, "jsonl", 2, monkeypatch)
    pids = log.read_text().split()
    warm = parallel.WARM * 2  # CHUNK is 2 here
    assert warm and pids[:warm] == [str(os.getpid())] * warm
    assert len(pids) == 40 and str(os.getpid()) not in pids[warm:] and len(set(pids[warm:])) == 2
    monkeypatch.setattr(io_batch, "_jsonl_records", real)
    assert (code, out) == _run_in_process(path, "jsonl", 1, monkeypatch)


def test_the_workers_run_with_the_batch_collector_and_the_parent_gets_its_own_back(
        tmp_path, monkeypatch):
    """commands.batch._Collector (the youngest generation collected every GEN0 objects, the
    objects made before the batch frozen out of collections) is set before the fork, so the
    workers run with it as one process does (without it, their collections cost about 7% of
    a plan worker's time); the parent's collector is as it was after the run."""
    import gc

    from ketadose.commands import batch

    log = tmp_path / "collector"
    _log_each_record(monkeypatch, log,
                     lambda: f"{os.getpid()} {gc.get_threshold()[0]} {gc.get_freeze_count()}")
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl(40))
    before = gc.get_threshold(), gc.get_freeze_count()
    _run_in_process(path, "jsonl", 2, monkeypatch)
    # frozen or not as before (the count itself falls as frozen objects die)
    assert (gc.get_threshold(), gc.get_freeze_count() > 0) == (before[0], before[1] > 0)
    seen = [line.split() for line in log.read_text().splitlines()]
    workers = [(int(t), int(f)) for pid, t, f in seen if pid != str(os.getpid())]
    assert len(workers) >= 30
    assert all(t >= batch._Collector.GEN0 and f > 0 for t, f in workers), workers[:3]


@pytest.mark.parametrize("records", [0, 1, 2, 3])
def test_a_batch_no_longer_than_the_warm_up_forks_no_worker(tmp_path, monkeypatch, records):
    """The parent works on the first WARM chunks itself; when nothing follows, no worker is
    started (a short batch with --jobs costs no fork)."""
    from ketadose.commands import parallel

    started = []
    real = parallel._start
    monkeypatch.setattr(parallel, "_start", lambda *a: started.append(1) or real(*a))
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl(records))
    one = _run_in_process(path, "jsonl", 1, monkeypatch)
    assert _run_in_process(path, "jsonl", 2, monkeypatch) == one
    assert len(one[1].splitlines()) == records
    assert bool(started) == (records > parallel.WARM * 2)  # CHUNK is 2 here


def test_generated_varied_batches_through_the_entry_point(tmp_path):
    """The real command: varied JSON Lines and CSV (error lines, BOMs, CRLF, long values), one
    process against two and three, stdout and exit code."""
    rnd = random.Random(5)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    import csv as csvmod

    from varied_patients import CSV_HEADER, csv_row
    from varied_patients import records as varied

    rows = list(varied(700, seed=3))
    lines = [json.dumps(r, ensure_ascii=rnd.random() < 0.5).encode() for r in rows]
    lines[10] = b"\xef\xbb\xbf" + lines[10]
    lines[20] = b'{"notes": "' + b"z" * 5000 + b'"}'
    lines[30] = b"\xff not UTF-8"
    (tmp_path / "p.jsonl").write_bytes(b"\r\n".join(lines) + b"\r\n")
    with open(tmp_path / "p.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csvmod.writer(fh, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_row(r) for r in rows)
    for name in ("p.jsonl", "p.csv"):
        args = ["check", REGIMEN, "--patients", str(tmp_path / name), "--date", "2026-11-20"]
        one = ketadose(*args)
        assert one.returncode == 2 and one.stderr == b""
        assert len(one.stdout.splitlines()) == 700
        for jobs in ("2", "3"):
            many = ketadose(*args, "--jobs", jobs)
            assert (many.returncode, many.stdout, many.stderr) == (2, one.stdout, b"")


# --- The workers write the output themselves, taking turns (since 2026-11-26) -----------------
# Every place the output can go, through the real entry point: a file (also opened for appending
# or after bytes written by someone else), a pipe read slowly, -o; and every way a run can end:
# a full disk, a file size limit, a worker killed, the parent killed.

PLAN_ARGS = ["plan", REGIMEN, "--format", "jsonl", "--start", "2026-12-01T09:00",
             "--reproducible"]


@pytest.fixture(scope="module")
def reference(patients):
    """The one-process output of `plan` for the 600 patients (three chunks)."""
    one = ketadose(*PLAN_ARGS, "--patients", str(patients))
    assert one.returncode == 2 and len(one.stdout.splitlines()) == 600
    return one.stdout


def _alive(marker: str) -> list:
    """Processes (not zombies) whose command line holds ``marker``: a run and its workers."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if marker.encode() not in fh.read():
                    continue
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ")[1].startswith("Z"):
                    continue
        except (OSError, IndexError):
            continue
        found.append(int(pid))
    return found


def _gone(marker: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(marker)


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_files_get_the_bytes_of_one_process(patients, reference, tmp_path, jobs):
    """A file as standard output (written at the shared file offset, after what was there,
    also in append mode) and -o."""
    args = [*PLAN_ARGS, "--patients", str(patients), "--jobs", jobs]
    with open(tmp_path / "plain", "wb") as fh:
        r = subprocess.run([sys.executable, "-m", "ketadose", *args], stdout=fh, timeout=180)
    assert r.returncode == 2 and (tmp_path / "plain").read_bytes() == reference
    with open(tmp_path / "after", "wb") as fh:
        fh.write(b"header\n")
        fh.flush()
        r = subprocess.run([sys.executable, "-m", "ketadose", *args], stdout=fh, timeout=180)
    assert (tmp_path / "after").read_bytes() == b"header\n" + reference
    (tmp_path / "appended").write_bytes(b"before\n")
    with open(tmp_path / "appended", "ab") as fh:
        r = subprocess.run([sys.executable, "-m", "ketadose", *args], stdout=fh, timeout=180)
    assert (tmp_path / "appended").read_bytes() == b"before\n" + reference
    r = ketadose(*args, "-o", str(tmp_path / "out.jsonl"))
    assert r.returncode == 2 and r.stdout == b""
    assert (tmp_path / "out.jsonl").read_bytes() == reference
    again = ketadose(*args, "-o", str(tmp_path / "out.jsonl"))  # never silently overwritten
    assert again.returncode == 2 and b"exists" in again.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == reference


def test_a_slow_pipe_reader_gets_the_bytes_of_one_process(patients, reference):
    """The pipe fills while a worker writes its chunk (11 MB through a 64 KiB pipe): the other
    worker must wait for its turn, not write in between."""
    p = subprocess.Popen([sys.executable, "-m", "ketadose", *PLAN_ARGS, "--patients",
                          str(patients), "--jobs", "2"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    got = bytearray()
    while chunk := p.stdout.read1(1 << 15):
        got += chunk
        time.sleep(0.002)
    assert p.wait(timeout=60) == 2 and p.stderr.read() == b""
    assert bytes(got) == reference


@pytest.mark.parametrize("mode", ["plan", "check"])
def test_a_full_disk_is_a_failed_run(patients, mode, tmp_path):
    """A worker's failed write ends the run as a one-process run's does: exit 2, one line."""
    marker = str(tmp_path / "full.jsonl")
    os.link(patients, marker)
    args = [mode, REGIMEN, "--patients", marker, "--format", "jsonl"]
    with open("/dev/full", "wb") as full:
        one = subprocess.run([sys.executable, "-m", "ketadose", *args], stdout=full,
                             stderr=subprocess.PIPE, timeout=180)
        two = subprocess.run([sys.executable, "-m", "ketadose", *args, "--jobs", "2"],
                             stdout=full, stderr=subprocess.PIPE, timeout=180)
    assert (two.returncode, two.stderr) == (one.returncode, one.stderr) == (2, two.stderr)
    assert b"No space left" in two.stderr and len(two.stderr.splitlines()) == 1
    assert _gone(marker)


def test_a_file_size_limit_is_a_failed_run_and_leaves_no_file(patients, tmp_path):
    import resource

    def small():  # pragma: no cover - in the child
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    for out in (["-o", "out.jsonl"], []):
        with open(tmp_path / "stdout", "wb") as fh:
            r = subprocess.run([sys.executable, "-m", "ketadose", *PLAN_ARGS, "--patients",
                                str(patients), "--jobs", "2", *out], cwd=tmp_path, stdout=fh,
                               stderr=subprocess.PIPE, preexec_fn=small, timeout=180)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
        assert b"cannot write" in r.stderr and b"File too large" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["stdout"]  # no out.jsonl, no temporary file


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    path = tmp_path_factory.mktemp("many") / "many.jsonl"
    path.write_text(jsonl(40000))
    return path


def _started(p, marker: str, workers: int = 2) -> list:
    """The run's workers once they are all alive, in the order they were started: worker 0
    first. The kernel lists a process's children in the order it forked them
    (/proc/PID/task/PID/children); not by pid, which wraps around (pid_max is 32768 here)."""
    deadline = time.monotonic() + 60
    while len(_alive(marker)) < workers + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # working
    alive = set(_alive(marker))
    workers = [pid for pid in _children(p.pid) if pid in alive]
    started = [_start_time(pid) for pid in workers]  # clock ticks since boot: ties possible
    assert started == sorted(started), (workers, started)
    return workers


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(") ", 1)[1].split()[19])  # field 22, starttime


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_a_killed_worker_fails_the_run(many, tmp_path):
    """Our failure (exit 3, one line), never a hang nor a partial -o file in place."""
    marker = str(tmp_path / "kill.jsonl")
    os.link(many, marker)
    out = tmp_path / "out.jsonl"
    p = subprocess.Popen([sys.executable, "-m", "ketadose", *PLAN_ARGS, "--patients", marker,
                          "--jobs", "2", "-o", str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    workers = _started(p, marker)
    assert len(workers) == 2
    os.kill(workers[1], signal.SIGKILL)
    assert p.wait(timeout=60) == 3
    err = p.stderr.read().decode()
    assert len(err.splitlines()) == 1 and "internal error" in err and "worker" in err
    assert _gone(marker)
    assert not out.exists() and not [f for f in os.listdir(tmp_path) if f.startswith(".ketadose")]


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_the_workers_end_when_the_parent_is_killed(many, tmp_path):
    marker = str(tmp_path / "orphans.jsonl")
    os.link(many, marker)
    p = subprocess.Popen([sys.executable, "-m", "ketadose", *PLAN_ARGS, "--patients", marker,
                          "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert len(_started(p, marker)) == 2
    p.kill()
    p.wait(timeout=60)
    assert _gone(marker)


def _rest_after_one_worker_ended(p, marker: str, rest: bytes) -> int:
    """Once one of the two workers has ended (two processes left: the parent and the other
    worker) while the run still waits for input, feed it the rest; its exit code. Both workers
    must have been forked first (an ended one stays the run's child, a zombie, until it is
    reaped): between the two forks, too, two processes are alive."""
    deadline = time.monotonic() + 60
    while len(_children(p.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    while len(_alive(marker)) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_alive(marker)) == 2 and p.poll() is None
    try:
        p.stdin.write(rest)
        p.stdin.close()
    except BrokenPipeError:
        pass
    return p.wait(timeout=60)


def _held_input(args: list, cwd=None, preexec_fn=None):
    """A run reading its patients from a pipe (the test gives part, then waits: a slow
    producer), so that a worker can end while the run waits for input."""
    return subprocess.Popen([sys.executable, "-m", "ketadose", *args, "--patients", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, preexec_fn=preexec_fn)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_a_worker_gone_while_the_input_waits_is_still_reported(tmp_path):
    """Review of 2026-11-26: a worker that had ended (its write failed, or it was killed) made
    this process's next send fail with EPIPE, which click turns into a silent exit 1 (the code
    for blocked patients): the failed write or the dead worker must be reported as such."""
    import resource

    from ketadose.commands.parallel import CHUNK, WARM

    lines = jsonl(900).encode().splitlines(keepends=True)
    warm = WARM * CHUNK  # lines the parent works on before the fork
    assert len(lines) > warm + CHUNK + 10
    first, rest = b"".join(lines[:warm + CHUNK + 10]), b"".join(lines[warm + CHUNK + 10:])
    before_fork = ketadose(*PLAN_ARGS, "--patients", "-", stdin=b"".join(lines[:warm])).stdout
    limit = len(before_fork) + 100_000

    def small():  # pragma: no cover - in the child
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    # the parent writes its chunk; worker 0's first write goes over the file size limit; it
    # ends; then the input goes on
    marker = str(tmp_path / "held-fsize.jsonl")
    p = _held_input([*PLAN_ARGS, "--jobs", "2", "-o", marker], cwd=tmp_path,
                    preexec_fn=small)
    p.stdin.write(first)
    p.stdin.flush()
    assert _rest_after_one_worker_ended(p, marker, rest) == 2
    err = p.stderr.read()
    assert b"cannot write" in err and b"File too large" in err and len(err.splitlines()) == 1
    assert _gone(marker)
    assert os.listdir(tmp_path) == []  # neither the file nor a temporary one

    # worker 0 killed while this process waits for input: our failure, exit 3
    marker = str(tmp_path / "held-kill.jsonl")
    p = _held_input([*PLAN_ARGS, "--jobs", "2", "-o", marker], cwd=tmp_path)
    p.stdin.write(first)  # the workers start once a chunk follows the parent's
    p.stdin.flush()
    workers = _started(p, marker)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)  # the first started: worker 0, next chunk's
    assert _rest_after_one_worker_ended(p, marker, rest) == 3
    err = p.stderr.read().decode()
    assert len(err.splitlines()) == 1 and "internal error" in err and "worker" in err
    assert _gone(marker)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_run_stopped_while_a_worker_writes_leaves_whole_lines(patients, reference, tmp_path,
                                                                 sig):
    """Review of 2026-11-26: the workers were killed (SIGKILL) when the run was stopped, one of
    them in the middle of writing its chunk, which left a cut line in a file given as standard
    output (a one-process run writes whole lines there). The signal comes as soon as the file
    grows, that is while a worker writes."""
    out = tmp_path / "stopped.jsonl"
    for at_least in (1, len(reference) // 3 + 1):  # while chunk 0, then chunk 1, is written
        with open(out, "wb") as fh:
            p = subprocess.Popen([sys.executable, "-m", "ketadose", *PLAN_ARGS, "--patients",
                                  str(patients), "--jobs", "2"], stdout=fh,
                                 stderr=subprocess.PIPE)
            deadline = time.monotonic() + 120
            while out.stat().st_size < at_least and p.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.0005)
            finished = p.poll() is not None
            if not finished:
                p.send_signal(sig)
            rc = p.wait(timeout=60)
        err = p.stderr.read()
        data = out.read_bytes()
        if finished or (rc, err, data) == (2, b"", reference):
            # pragma: no cover - the run ended before the signal (a machine faster than the
            # polling, or one so loaded that the run finished between the poll and the signal)
            assert (rc, data) == (2, reference)
        elif sig == signal.SIGTERM:
            assert (rc, err) == (128 + sig, b"")
        else:  # Ctrl-C
            assert rc == 2 and b"aborted" in err
        # whole lines; none at all when the signal came during (or just after) the first write,
        # before it was counted: io.writer.Rollback cuts a write in progress back whole (seen
        # under load, with the first chunk's 64 KiB block)
        assert reference.startswith(data) and (data.endswith(b"\n") or data == b"")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_a_second_signal_while_the_workers_finish_their_writes_does_not_hang(patients,
                                                                             reference):
    """Review of 2026-11-26: a stopped worker finishes its write (whole lines), for at most
    STOP_WAIT; a second SIGTERM in that wait, with a reader that does not read, left the
    workers to multiprocessing's exit handler, which waits for them without end."""
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, "-m", "ketadose", *PLAN_ARGS, "--patients",
                          str(patients), "--jobs", "2"], stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    try:
        first = len(b"".join(reference.splitlines(keepends=True)[:256]))  # the parent's chunk
        got = 0
        while got < first + 100_000:  # then the start of a worker's
            got += len(os.read(r, 1 << 16))
        assert len(_children(p.pid)) == 2
        time.sleep(1)  # the pipe full again: a worker waits in its write
        p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        os.close(r)
        if p.poll() is None:  # pragma: no cover - the failure this test is for
            p.kill()
            p.wait()


@settings(max_examples=budget(60), deadline=None, database=None)
@given(st.lists(st.binary(max_size=40).map(lambda b: b + b"\n"), max_size=1200),
       st.randoms(use_true_random=False))
def test_a_workers_chunk_goes_out_whole_through_short_writes_one_line_a_buffer(lines, rnd):
    """A worker writes its chunk's lines with os.writev (parallel._write_all), never joined into
    one block (a plan chunk is some MiB: such blocks, made and freed for each chunk, left each
    worker's malloc heap fragmented, 110 MB at 10^6 patients against 65 MB for one process).
    Every byte goes out once and in order whatever a call writes (a short write, a pipe left
    non-blocking), and no buffer handed to writev is more than one line."""
    from ketadose.commands import parallel

    written = bytearray()

    def writev(fd, buffers):
        buffers = [bytes(b) for b in buffers]
        assert len(buffers) <= parallel._IOV
        assert all(len(b) <= max(map(len, lines)) for b in buffers)
        if rnd.random() < 0.1:
            raise BlockingIOError
        data = b"".join(buffers)
        n = rnd.randint(1, len(data)) if data else 0
        written.extend(data[:n])
        return n

    real = parallel.os.writev, parallel.select.select
    parallel.os.writev, parallel.select.select = writev, lambda *a: a
    try:
        parallel._write_all(99, lines)
    finally:
        parallel.os.writev, parallel.select.select = real
    assert bytes(written) == b"".join(lines)


def test_a_workers_chunk_goes_out_whole_through_a_non_blocking_pipe():
    """The same through a real pipe left non-blocking, read slowly: short writes and EAGAIN."""
    import threading

    from ketadose.commands import parallel

    lines = [(f"{i:06d}" * random.Random(i).randint(1, 5000)).encode() + b"\n"
             for i in range(300)]
    r, w = os.pipe()
    os.set_blocking(w, False)
    got = bytearray()

    def read():
        while chunk := os.read(r, 1 << 13):
            got.extend(chunk)
            time.sleep(0.0005)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        parallel._write_all(w, lines)
    finally:
        os.close(w)
        reader.join()
        os.close(r)
    assert bytes(got) == b"".join(lines)


# A run of the console entry point whose JSON Lines reader logs the process that reads each
# record (the real reader); argv: the log, then NAME=VALUE settings of commands.parallel, then
# the command's arguments.
_LOGGED_RUN = """
import os, sys
from ketadose.commands import parallel
from ketadose.io import batch as io_batch
from ketadose.launch import main

log = sys.argv.pop(1)
while "=" in sys.argv[1]:
    name, value = sys.argv.pop(1).split("=")
    setattr(parallel, name, int(value))
real = io_batch._jsonl_records

def logged(*args):
    for item in real(*args):
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        yield item

io_batch._jsonl_records = logged
sys.argv[0] = "ketadose"
main()
"""


def _asleep(pid: int) -> bool:
    """Every thread of the process is waiting (in a read, a write or a select)."""
    try:
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                states.append(fh.read().split(") ")[1][0])
    except OSError:
        return False
    return all(s == "S" for s in states)


def _settled(log, parent: int, timeout: float = 60) -> list:
    """Records read by each worker once both wait and the counts stay the same."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        pids = log.read_text().split() if log.exists() else []
        counts = {}
        for pid in pids:
            if pid != str(parent):
                counts[pid] = counts.get(pid, 0) + 1
        now = list(counts.items())
        if len(now) == 2 and now == last and all(_asleep(int(pid)) for pid, _ in now):
            return [n for _, n in now]
        last = now
        time.sleep(0.3)
    raise AssertionError(f"the workers did not settle: {last}")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
@pytest.mark.parametrize("mode,settings", [("check", []), ("check", ["INPUT_AHEAD=1000"]),
                                           ("plan", [])])
def test_how_far_a_worker_works_ahead_of_the_turn(tmp_path, mode, settings):
    """The output waits for its reader (a pipe not read): the first worker's first chunk
    blocks in its write, holding the turn, so the other worker works ahead on its own chunks
    until it has none left or holds AHEAD bytes of finished lines. The parent queues a worker
    up to MAX_IN_FLIGHT chunks while their input is under INPUT_AHEAD (IN_FLIGHT in any case):
    check's small lines give it all 16 (the slack that cut the workers' waits for their
    turn), a large input only 3, and plan's 18 KiB lines stop it at AHEAD bytes."""
    from ketadose.commands import parallel

    chunks = parallel.MAX_IN_FLIGHT + 1
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl(parallel.CHUNK * (parallel.WARM + 2 * chunks)))
    log = tmp_path / "read-by"
    args = [mode, REGIMEN, "--patients", str(path), "--format", "jsonl"]
    if mode == "plan":
        args += ["--start", "2026-12-01T09:00", "--reproducible"]
    p = subprocess.Popen([sys.executable, "-c", _LOGGED_RUN, str(log), *settings, *args,
                          "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        # the parent writes the chunks it works on before the fork itself (WARM): read them
        warm = [p.stdout.readline() for _ in range(parallel.CHUNK * parallel.WARM)]
        first, ahead = sorted(_settled(log, p.pid))
        assert first == parallel.CHUNK  # its chunk, blocked in the write
        assert ahead % parallel.CHUNK == 0
        held = ahead // parallel.CHUNK
        if mode == "check":
            assert held == (parallel.IN_FLIGHT if settings else parallel.MAX_IN_FLIGHT)
            p.stdout.close()
            assert p.wait(timeout=60) == 141
            return
        out = b"".join(warm) + p.stdout.read()
        assert p.wait(timeout=120) in (0, 1, 2)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # the lines of the second worker's chunks (after the parent's WARM chunks: the first
    # worker's, the second's, ...): it began each while holding less than AHEAD bytes of
    # finished lines, and stopped at AHEAD, short of all it had
    lines = out.splitlines(keepends=True)[parallel.CHUNK * parallel.WARM:]
    sizes = [sum(map(len, lines[parallel.CHUNK * k:parallel.CHUNK * (k + 1)]))
             for k in range(1, 2 * chunks, 2)]
    assert sum(sizes[:held - 1]) < parallel.AHEAD <= sum(sizes[:held])
    assert held < parallel.MAX_IN_FLIGHT


def test_a_worker_gone_before_its_chunk_leaves_no_pickled_chunk_in_a_garbage_cycle(
        tmp_path, monkeypatch):
    """The workers fail as they start (their receive thread cannot start, as under ulimit -v)
    and are gone before the parent sends them a chunk: the send's EPIPE was the context of the
    error raised next, and its traceback held multiprocessing's memoryview over the pickled
    chunk's BytesIO in a reference cycle. Collected at exit, the BytesIO was finalized before
    the view: CPython 3.13 printed 'Exception ignored ... BufferError: Existing exports of
    data' under the one-line message. Here the collector keeps what it finds (DEBUG_SAVEALL):
    no memoryview among it, on any Python."""
    import gc
    import threading

    from ketadose.commands import parallel

    parent = os.getpid()
    real_start, real_workers = threading.Thread.start, parallel._start

    def start(self):
        if os.getpid() != parent:
            raise RuntimeError("can't start new thread")
        return real_start(self)

    def gone(*args):  # the workers have ended before the first chunk is sent
        workers = real_workers(*args)
        for proc, _conn in workers:
            proc.join(60)
        return workers

    monkeypatch.setattr(threading.Thread, "start", start)
    monkeypatch.setattr(parallel, "_start", gone)
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl(40))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        code, _out = _run_in_process(path, "jsonl", 2, monkeypatch)
        assert "can't start new thread" in code  # errors.OutOfResources: a limit, exit 2
        gc.collect()
        views = [x for x in gc.garbage if isinstance(x, memoryview)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert views == []
