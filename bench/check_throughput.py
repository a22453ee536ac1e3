"""Screening throughput (issue 18, goal 1): N patients through `ketadose check REGIMEN --patients
FILE` (JSON Lines out), from JSON Lines and from CSV, next to a floor measured in the same run: a
Python script that only parses the same input lines and writes the same output lines (json.loads
of each input line, then the line ketadose wrote for it, flushed as ketadose flushes each line). Prints records per second by wall time
and by CPU time of the process (user + sys: on a shared machine the wall time includes waiting
for a core), the ratio to the floor, and peak memory. Not a test.

Run:  python bench/check_throughput.py [N] [RUNS]     (defaults 50000 patients, 3 runs; medians)
Two inputs: "simple" (bench/throughput.py's patients: few distinct values) and "varied"
(bench/varied_patients.py: every field varied, allergy texts, stop dates, error lines).
Target: >= 25,000 patients/s on one core; peak memory flat (< 100 MB).
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
with open(ref, encoding="utf-8") as fh:
    done = fh.readlines()  # the output lines, to be written again
with open(inp, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
    lines = (line for line in src if line.strip())
    if inp.endswith(".csv"):
        import csv
        lines = csv.DictReader(src)
    for line, text in zip(lines, done):
        if isinstance(line, str):
            json.loads(line)
        dst.write(text)
        dst.flush()
"""


def timed(cmd):
    """(wall s, cpu s, peak MB) of one child process."""
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    child.returncode = 0  # reaped by wait4
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


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
            floor = [sys.executable, "-c", FLOOR, path, out, os.path.join(tmp, "floor.jsonl")]
            runs = {"check": [], "floor": []}
            for _ in range(RUNS):
                runs["check"].append(timed(cmd))
                runs["floor"].append(timed(floor))
            (wall, cpu), (fwall, fcpu) = (
                (statistics.median(r[0] for r in runs[k]), statistics.median(r[1] for r in runs[k]))
                for k in ("check", "floor"))
            peak = max(r[2] for r in runs["check"])
            size = os.path.getsize(out) / N
            print(f"{name:12s} check {N / wall:8,.0f}/s wall, {N / cpu:8,.0f}/s CPU | floor "
                  f"{N / fwall:8,.0f}/s wall, {N / fcpu:8,.0f}/s CPU | check/floor CPU time "
                  f"{cpu / fcpu:4.2f}x | {size:,.0f} B/record | peak {peak:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}  (target >= 25,000/s on one core)")


if __name__ == "__main__":
    main()
