"""--jobs (issue 18, goal 2): the same batch with --jobs 1 and --jobs 2 (and auto), run
alternating, median wall time of each; prints the speed-up. Not a test.

The speed-up needs two FREE cores: on a machine shared with other work it is lower (the load
average is printed before and after the runs so that a reader can judge). So the CPU time of
each run (user + system of the command and its workers, from the kernel's accounting of
waited-for children) is printed too: its growth from --jobs 1 to --jobs 2 is the parallel
overhead whatever the load, and jobs x CPU(1) / CPU(2) is the speed-up that overhead allows on
free cores when the work splits evenly.

Run:  python bench/jobs.py [N] [RUNS]      (defaults 20000 patients, 3 runs)
      BENCH_MODES=check (or plan) runs one mode only; BENCH_KETADOSE="python -m ketadose" (with
      PYTHONPATH) measures another checkout.
The start-up (imports, the regimen: the CPU time of a one-patient batch) is not spread over the
workers, so the speed-up CPU times allow is also printed with it counted once:
c1 / (start + (c2 - start) / 2).
Target: >= 1.8x with --jobs 2 on 2 free cores.
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput import patients  # the same generated patients

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def once(cmd) -> tuple:
    """Wall time and CPU time (user + system of the command and its waited-for workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    import json

    ketadose = os.environ.get("BENCH_KETADOSE", "").split() or [
        shutil.which("ketadose") or sys.exit("install ketadose first (pip install .)")]
    cores = len(os.sched_getaffinity(0))
    print(f"{N:,} patients, {RUNS} alternating runs; usable cores {cores}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "patients.jsonl")
        with open(path, "w") as fh:
            for p in patients(N):
                fh.write(json.dumps(p) + "\n")
        times: dict = {}
        cpus: dict = {}
        one_path = os.path.join(tmp, "one.jsonl")
        with open(one_path, "w") as fh:
            fh.write(json.dumps(next(iter(patients(1)))) + "\n")
        for mode in os.environ.get("BENCH_MODES", "plan,check").split(","):
            start = statistics.median(
                once([*ketadose, mode, "crps-schwartzman-2009", "--patients", one_path,
                      "--format", "jsonl"])[1] for _ in range(RUNS))
            cmds = {j: [*ketadose, mode, "crps-schwartzman-2009", "--patients", path, "--format",
                        "jsonl", "--jobs", j] for j in ("1", "2")}
            for _ in range(RUNS):
                for j, cmd in cmds.items():
                    wall, cpu = once(cmd)
                    times.setdefault((mode, j), []).append(wall)
                    cpus.setdefault((mode, j), []).append(cpu)
            one, two = (statistics.median(times[(mode, j)]) for j in ("1", "2"))
            c1, c2 = (statistics.median(cpus[(mode, j)]) for j in ("1", "2"))
            print(f"{mode} --patients: --jobs 1 {one:.2f} s ({N / one:,.0f}/s), --jobs 2 "
                  f"{two:.2f} s ({N / two:,.0f}/s): speed-up {one / two:.2f}x (target >= 1.8)")
            print(f"  CPU (user+sys, with workers): --jobs 1 {c1:.2f} s, --jobs 2 {c2:.2f} s: "
                  f"overhead {100 * (c2 / c1 - 1):+.0f}%; speed-up it allows on 2 free cores "
                  f"{2 * c1 / c2:.2f}x; with the start-up ({start:.2f} s) counted once "
                  f"{c1 / (start + (c2 - start) / 2):.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
