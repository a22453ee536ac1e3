"""Throughput: N generated patients through `ketadose plan --patients FILE` (JSON Lines output),
the patients given as JSON Lines and as CSV. Prints patients per second, peak memory, and the
ratio to a floor script that only parses the same JSON Lines and writes lines of the same size
(measured in the same run); not a test.

Run:  python bench/throughput.py [N] [REGIMEN]     (default 10000 crps-schwartzman-2009)
Targets (issue 18): >= 10,000 patients per second on one core with JSON Lines input and
>= 5,000 with CSV; peak memory under 100 MB.
"""

import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
REGIMEN = sys.argv[2] if len(sys.argv) > 2 else "crps-schwartzman-2009"
MEDS = ["morphine", "oxycodone", "diazepam", "gabapentin", "clarithromycin", "levothyroxine"]
CSV_COLUMNS = ["id", "age", "sex", "weight", "height", "pregnant", "breastfeeding",
               "blood_pressure", "heart_rate", "conditions", "medications", "allergies", "alt",
               "alt_uln", "previous_courses"]

# The floor: read each line, parse it, write a line as long as ketadose's (one json.dumps of a
# record of that size), nothing else.
FLOOR = r"""
import json, sys
size = int(sys.argv[2])
pad = "x" * size
out = sys.stdout
with open(sys.argv[1], "rb") as fh:
    for number, raw in enumerate(fh, 1):
        data = json.loads(raw)
        out.write(json.dumps({"line": number, "id": data.get("id"), "pad": pad},
                             ensure_ascii=False, separators=(",", ":")) + "\n")
"""


def patients(n, seed=1):
    rnd = random.Random(seed)
    for i in range(n):
        yield {"id": f"p{i}", "age": rnd.randint(18, 80), "sex": rnd.choice(["female", "male"]),
               "weight": f"{rnd.randint(45, 130)} kg", "height": f"{rnd.randint(150, 195)} cm",
               "pregnant": False, "breastfeeding": False,
               "blood_pressure": f"{rnd.randint(100, 170)}/{rnd.randint(60, 95)}",
               "heart_rate": rnd.randint(55, 100), "conditions": [],
               "medications": [{"name": m} for m in rnd.sample(MEDS, rnd.randint(0, 2))],
               "allergies": [], "liver": {"alt": "30 U/L", "alt_uln": "45 U/L"},
               "previous_courses": []}


def csv_row(p):
    return [p["id"], p["age"], p["sex"], p["weight"], p["height"], "false", "false",
            p["blood_pressure"], p["heart_rate"], "none",
            ";".join(m["name"] for m in p["medications"]) or "none", "none",
            p["liver"]["alt"], p["liver"]["alt_uln"], ""]


def timed(cmd, out_path):
    """(seconds, peak MB) of one child process writing to out_path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(out_path, "w") as out:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=out, check=False)
        elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main():
    ketadose = shutil.which("ketadose") or sys.exit("install ketadose first (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        jsonl, csvf = os.path.join(tmp, "patients.jsonl"), os.path.join(tmp, "patients.csv")
        with open(jsonl, "w") as fh, open(csvf, "w", newline="") as fc:
            writer = csv.writer(fc)
            writer.writerow(CSV_COLUMNS)
            for p in patients(N):
                fh.write(json.dumps(p) + "\n")
                writer.writerow(csv_row(p))
        out = os.path.join(tmp, "out.jsonl")
        base = [ketadose, "plan", REGIMEN, "--start", "2026-12-01T09:00", "--patients"]
        t_jsonl, mb = timed(base + [jsonl], out)
        size = os.path.getsize(out)
        t_csv, mb_csv = timed(base + [csvf], out)
        floor = [sys.executable, "-c", FLOOR, jsonl, str(max(0, size // N - 40))]
        t_floor, _ = timed(floor, out)
    print(f"{N} patients planned ({REGIMEN}), {size / N / 1024:.1f} KiB a line; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  JSON Lines in: {t_jsonl:6.2f} s  {N / t_jsonl:8,.0f} patients/s (target >= 10,000)"
          f"  floor/ketadose time ratio {t_floor / t_jsonl:.2f}")
    print(f"  CSV in:        {t_csv:6.2f} s  {N / t_csv:8,.0f} patients/s (target >= 5,000)")
    print(f"  floor (parse + write the same size): {t_floor:.2f} s  {N / t_floor:,.0f} lines/s")
    print(f"  peak memory of a ketadose process: {max(mb, mb_csv):.0f} MB (target < 100 MB)")


if __name__ == "__main__":
    main()
