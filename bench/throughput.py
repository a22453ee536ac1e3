"""Throughput: N generated patients through `ketadose plan --patients FILE --format jsonl`.
Prints patients per second and peak memory; not a test.

Run:  python bench/throughput.py [N]        (default 10000)
Targets (issue #7): >= 5,000 patients per second on one core; peak memory under 100 MB.
"""

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
MEDS = ["morphine", "oxycodone", "diazepam", "gabapentin", "clarithromycin", "levothyroxine"]


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


def main():
    ketadose = shutil.which("ketadose") or sys.exit("install ketadose first (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "patients.jsonl")
        with open(path, "w") as fh:
            for p in patients(N):
                fh.write(json.dumps(p) + "\n")
        t0 = time.perf_counter()
        subprocess.run([ketadose, "plan", "crps-schwartzman-2009", "--patients", path,
                        "--format", "jsonl"], stdout=subprocess.DEVNULL, check=False)
        elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{N} patients planned (crps-schwartzman-2009) in {elapsed:.2f} s: "
          f"{N / elapsed:,.0f} patients per second (target >= 5,000)")
    print(f"peak memory of the ketadose process: {peak_mb:.0f} MB (target < 100 MB)")


if __name__ == "__main__":
    main()
