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
