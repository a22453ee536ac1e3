"""Throughput: N generated patients through `ketadose plan --patients FILE` (JSON Lines output),
the patients given as JSON Lines and as CSV, for two cohorts: "whole" (weights and heights in
whole kg and cm, as the issue's figures were measured) and "decimal" (one decimal place: far
more distinct dosing weights, so the batch's remembered dosings are met less often; both
figures are printed, the goal applies to the first). Prints patients per second by wall time
and by CPU time of the process (user + system: less disturbed by other work on the machine),
peak memory, and the ratio to a floor measured in the same run; not a test.

The floor is a script that only parses the same JSON Lines (json.loads, as ketadose reads
them) and writes lines of the same size with the encoder ketadose writes batch lines with
(orjson; the standard library's json.dumps when orjson is not installed), through a binary
buffer flushed when full, as ketadose does for a file input. (Until 2026-11-26 the floor used
json.dumps, whose pure-Python string escaping took about 65 us of an 18.6 KiB line: a floor of
about 11,000 lines/s, below the goal itself.)

Run:  python bench/throughput.py [N] [REGIMEN]     (default 10000 crps-schwartzman-2009)
Targets (issue 18): >= 10,000 patients per second on one core with JSON Lines input and
>= 5,000 with CSV; peak memory under 100 MB. Run it on an install with compiled bytecode
(`python -m compileall ketadose` when PYTHONDONTWRITEBYTECODE is set): compiling the modules
at start costs about 0.1 s of every run.
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

# The floor: read each line, parse it, write a line as long as ketadose's (one encoder call for
# a record of that size), nothing else.
FLOOR = r"""
import json, sys
try:
    import orjson
    dumps = orjson.dumps
except ImportError:
    dumps = lambda x: json.dumps(x, ensure_ascii=False, separators=(",", ":")).encode()
size = int(sys.argv[2])
pad = "x" * size
out = sys.stdout.buffer
with open(sys.argv[1], "rb") as fh:
    for number, raw in enumerate(fh, 1):
        data = json.loads(raw)
        out.write(dumps({"line": number, "id": data.get("id"), "pad": pad}) + b"\n")
out.flush()
"""


def patients(n, seed=1, decimal=False):
    rnd = random.Random(seed)
    for i in range(n):
        weight, height = ((f"{rnd.randint(450, 1300) / 10:.1f}", f"{rnd.randint(1500, 1950) / 10:.1f}")
                          if decimal else (rnd.randint(45, 130), rnd.randint(150, 195)))
        yield {"id": f"p{i}", "age": rnd.randint(18, 80), "sex": rnd.choice(["female", "male"]),
               "weight": f"{weight} kg", "height": f"{height} cm",
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
    """(wall seconds, CPU seconds, peak MB) of one child process writing to out_path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out_path, "w") as out:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=out, check=False)
        elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, max(after.ru_maxrss, before.ru_maxrss) / 1024


def cohort(tmp, name, decimal):
    """The cohort as JSON Lines and as CSV files."""
    jsonl, csvf = os.path.join(tmp, f"{name}.jsonl"), os.path.join(tmp, f"{name}.csv")
    with open(jsonl, "w") as fh, open(csvf, "w", newline="") as fc:
        writer = csv.writer(fc)
        writer.writerow(CSV_COLUMNS)
        for p in patients(N, decimal=decimal):
            fh.write(json.dumps(p) + "\n")
            writer.writerow(csv_row(p))
    return jsonl, csvf


def main():
    ketadose = shutil.which("ketadose") or sys.exit("install ketadose first (pip install -e .)")
    print(f"{N} patients, plan {REGIMEN}; load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.jsonl")
        base = [ketadose, "plan", REGIMEN, "--start", "2026-12-01T09:00", "--patients"]
        peak = 0.0
        for name, decimal in (("whole", False), ("decimal", True)):
            jsonl, csvf = cohort(tmp, name, decimal)
            t_jsonl, c_jsonl, mb = timed(base + [jsonl], out)
            size = os.path.getsize(out)
            t_csv, c_csv, mb_csv = timed(base + [csvf], out)
            floor = [sys.executable, "-c", FLOOR, jsonl, str(max(0, size // N - 40))]
            t_floor, c_floor, _ = timed(floor, out)
            peak = max(peak, mb, mb_csv)
            label = ("weights and heights in whole kg and cm" if not decimal else
                     "weights and heights to 0.1 kg and 0.1 cm")
            print(f"cohort {name!r} ({label}), {size / N / 1024:.1f} KiB a line:")
            print(f"  JSON Lines in: {t_jsonl:6.2f} s {N / t_jsonl:8,.0f} patients/s wall, "
                  f"{N / c_jsonl:8,.0f}/s of CPU (target >= 10,000)")
            print(f"  CSV in:        {t_csv:6.2f} s {N / t_csv:8,.0f} patients/s wall, "
                  f"{N / c_csv:8,.0f}/s of CPU (target >= 5,000)")
            print(f"  floor (parse + write the same size with ketadose's encoder): {t_floor:.2f} s "
                  f"{N / t_floor:,.0f} lines/s wall, {N / c_floor:,.0f}/s of CPU; ketadose "
                  f"(JSON Lines) takes {c_jsonl / c_floor:.1f}x the floor's CPU time")
    print(f"peak memory of a ketadose process: {peak:.0f} MB (target < 100 MB); load average "
          f"{os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
