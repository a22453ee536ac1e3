"""Screening throughput (issue 18, goal 1): N patients through `ketadose check REGIMEN --patients
FILE -o OUT` (JSON Lines out), from JSON Lines and from CSV, next to a floor measured in the same
run: a Python script that only parses the same input lines and writes the same output lines
(json.loads of each input line, then the line ketadose wrote for it, through a buffer written
in 64 KiB blocks, as ketadose writes the lines of a file input). Prints records per second by
wall time and by CPU time of the process (user + system: on a shared machine the wall time
includes waiting for a core), the user and system times apart, the ratio to the floor, and
peak memory. Not a test.

Run:  python bench/check_throughput.py [N] [RUNS]     (defaults 50000 patients, 3 runs; medians)
Two inputs: "simple" (bench/throughput.py's patients: few distinct values) and "varied"
(bench/varied_patients.py: every field varied, allergy texts, stop dates, error lines).
Target: >= 25,000 patients/s on one core; peak memory flat (< 100 MB).

Why this bench and bench/jobs.py gave different rates for the same 10^5 simple records
(2026-11-26: 19,800/s wall and 22,241/s of CPU here, 29,268/s wall for `check --jobs 1`
there): not the records (the same generator), not the regimen, not `--date` (valgrind counts
the same user-space instructions for both command lines, 4.17 billion for 20,000 records).
What differed is the measuring:
- this bench writes its output with `-o` to a file (223 MB for 10^5 simple records); jobs.py
  writes to /dev/null. Writing the file costs 0.1-0.8 s of system time in the process per
  10^5 records (5-20% of the run), and its wall time waits for the disk. Writing somewhere
  real is what a user's batch does, so this bench keeps `-o`, but prints user and system time
  apart: the user time is the work a code change moves, the system time is the kernel's.
- it ran the floor (which wrote 223 MB too) and the check one after the other, and each run
  replaced the previous run's 223 MB output (`--force`): the kernel wrote the dirty pages of
  one run back to disk during the next, and freed the replaced file's blocks inside the timed
  run. Since 2026-11-26 each run starts after `os.sync()` on a fresh output path (the old one
  removed before the clock starts).
- the floor flushed every line (a `write` system call a line), where ketadose writes the
  lines of a file input in 64 KiB blocks since the second round: a slower floor made the
  check/floor ratio look better than it was. The floor now writes in 64 KiB blocks.
- jobs.py's figure is wall time on a moment the machine was quiet; this one was the median of
  2 runs (the mean) with other helpers' work on the two cores. The figure for the goal is the
  CPU time (user + system) of the whole run, start-up included, with `-o`; on this shared
  machine it moves by 20% with the load, so before/after comparisons count instructions
  (valgrind; docs/speed.md) and the CPU figure is read with the load average printed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput import patients
from varied_patients import CSV_HEADER, csv_row, records

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
REGIMEN = "crps-schwartzman-2009"

FLOOR = r"""
import json, sys
inp, ref, out = sys.argv[1:4]
with open(ref, "rb") as fh:
    done = fh.readlines()  # the output lines (bytes), to be written again
with open(inp, encoding="utf-8") as src, open(out, "wb") as dst:
    pending, size = [], 0
    lines = (line for line in src if line.strip())
    if inp.endswith(".csv"):
        import csv
        lines = csv.DictReader(src)
    for line, text in zip(lines, done):
        if isinstance(line, str):
            json.loads(line)
        pending.append(text)
        size += len(text)
        if size >= 65536:  # as ketadose writes the lines of a file input
            dst.write(b"".join(pending))
            pending, size = [], 0
    dst.write(b"".join(pending))
"""


def timed(cmd, out):
    """(wall s, cpu s, peak MB, user s, system s) of one child process writing ``out``: the
    previous output removed and the disk synced first, so that neither the blocks of the
    replaced file nor the write-back of an earlier run's pages fall in this run."""
    if os.path.exists(out):
        os.remove(out)
    os.sync()
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    child.returncode = 0  # reaped by wait4
    return (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, usage.ru_utime,
            usage.ru_stime)


def write_inputs(tmp):
    """The inputs, written without holding them (a forked child's peak memory counts its
    parent's)."""
    paths = {}
    for name, rows in (("simple", patients(N)), ("varied", records(N, seed=7))):
        path = os.path.join(tmp, f"{name}.jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            for p in rows:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
        paths[f"{name} jsonl"] = path
    path = os.path.join(tmp, "varied.csv")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for data in records(N, seed=7):
            writer.writerow(csv_row(data))
    paths["varied csv"] = path
    return paths


def main():
    # BENCH_KETADOSE="python -m ketadose" (with PYTHONPATH) measures another checkout
    ketadose = os.environ.get("BENCH_KETADOSE", "").split() or [
        shutil.which("ketadose") or sys.exit("install ketadose first (pip install -e .)")]
    print(f"{N:,} patients, {RUNS} runs each (medians); regimen {REGIMEN}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        only = os.environ.get("BENCH_INPUTS")  # e.g. "simple jsonl"
        for name, path in write_inputs(tmp).items():
            if only and name not in only.split(","):
                continue
            out = os.path.join(tmp, "out.jsonl")
            cmd = [*ketadose, "check", REGIMEN, "--patients", path, "--date", "2026-11-20",
                   "-o", out, "--force"]
            floor_out = os.path.join(tmp, "floor.jsonl")
            floor = [sys.executable, "-c", FLOOR, path, out, floor_out]
            runs = {"check": [], "floor": []}
            for _ in range(RUNS):
                runs["check"].append(timed(cmd, out))  # the floor then writes its lines again
                runs["floor"].append(timed(floor, floor_out))
            (wall, cpu), (fwall, fcpu) = (
                (statistics.median(r[0] for r in runs[k]), statistics.median(r[1] for r in runs[k]))
                for k in ("check", "floor"))
            peak = max(r[2] for r in runs["check"])
            user, system = (statistics.median(r[i] for r in runs["check"]) for i in (3, 4))
            size = os.path.getsize(out) / N
            print(f"{name:12s} check {N / wall:8,.0f}/s wall, {N / cpu:8,.0f}/s CPU | floor "
                  f"{N / fwall:8,.0f}/s wall, {N / fcpu:8,.0f}/s CPU | check/floor CPU time "
                  f"{cpu / fcpu:4.2f}x | {size:,.0f} B/record | peak {peak:.0f} MB")
            print(f"{'':12s} check user {user:.2f} s ({N / user:,.0f}/s), system {system:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}  (target >= 25,000/s on one core)")


if __name__ == "__main__":
    main()
