"""--jobs (issue 18, goal 2): the same batch with --jobs 1 and --jobs 2 (and auto), run
alternating, median wall time of each; prints the speed-up. Not a test.

The speed-up needs two FREE cores: on a machine shared with other work it is lower (the load
average is printed before and after the runs so that a reader can judge). So the CPU time of
each run (user + system of the command and its workers, from the kernel's accounting of
waited-for children) is printed too: its growth from --jobs 1 to --jobs 2 is the parallel
overhead whatever the load, and jobs x CPU(1) / CPU(2) is the speed-up that overhead allows on
free cores when the work splits evenly.

Also run, alternating with the others: two `--jobs 1` runs at once, each on half the batch
("halves"). That is the best any split over two processes can do on this machine at that
moment (the start-up paid twice, nothing shared, the two cores as busy as they are): --jobs 2's
wall time is printed against it.

Run:  python bench/jobs.py [N] [RUNS]      (defaults 100000 patients, 3 runs)
      BENCH_MODES=check (or plan) runs one mode only; BENCH_KETADOSE="python -m ketadose" (with
      PYTHONPATH) measures another checkout.
The start-up (imports, the regimen: the time of a one-patient batch) is not spread over the
workers, so the speed-ups are also printed with it counted once: by CPU times,
c1 / (start + (c2 - start) / 2); by wall times, (w1 - start) / (w2 - start).
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

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def once(*cmds) -> tuple:
    """Wall time and CPU time (user + system of the commands and their waited-for workers) of
    the commands run at the same time, and the peak resident memory of the largest process
    (MB; a command's own rusage covers its waited-for workers, as /usr/bin/time's %M)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for cmd in cmds]
    peak = max(os.wait4(p.pid, 0)[2].ru_maxrss for p in procs) / 1024
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), peak


def main():
    import json

    ketadose = os.environ.get("BENCH_KETADOSE", "").split() or [
        shutil.which("ketadose") or sys.exit("install ketadose first (pip install .)")]
    cores = len(os.sched_getaffinity(0))
    print(f"{N:,} patients, {RUNS} alternating runs; usable cores {cores}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "patients.jsonl")
        halves = [os.path.join(tmp, f"half{i}.jsonl") for i in (0, 1)]
        with open(path, "w") as fh, open(halves[0], "w") as h0, open(halves[1], "w") as h1:
            for i, p in enumerate(patients(N)):
                line = json.dumps(p) + "\n"
                fh.write(line)
                (h0 if i < N // 2 else h1).write(line)
        times: dict = {}
        cpus: dict = {}
        peaks: dict = {}
        one_path = os.path.join(tmp, "one.jsonl")
        with open(one_path, "w") as fh:
            fh.write(json.dumps(next(iter(patients(1)))) + "\n")
        for mode in os.environ.get("BENCH_MODES", "plan,check").split(","):
            def command(data, *more, mode=mode):
                return [*ketadose, mode, "crps-schwartzman-2009", "--patients", data,
                        "--format", "jsonl", *more]

            starts = [once(command(one_path)) for _ in range(RUNS)]
            start = statistics.median(c for _w, c, _m in starts)
            start_wall = statistics.median(w for w, _c, _m in starts)
            runs = {"1": [command(path, "--jobs", "1")], "2": [command(path, "--jobs", "2")],
                    "halves": [command(h) for h in halves]}
            for _ in range(RUNS):
                for j, cmds in runs.items():
                    wall, cpu, peak = once(*cmds)
                    times.setdefault((mode, j), []).append(wall)
                    cpus.setdefault((mode, j), []).append(cpu)
                    peaks[(mode, j)] = max(peaks.get((mode, j), 0), peak)
            one, two, halved = (statistics.median(times[(mode, j)]) for j in ("1", "2", "halves"))
            c1, c2, ch = (statistics.median(cpus[(mode, j)]) for j in ("1", "2", "halves"))
            print(f"{mode} --patients: --jobs 1 {one:.2f} s ({N / one:,.0f}/s), --jobs 2 "
                  f"{two:.2f} s ({N / two:,.0f}/s): speed-up {one / two:.2f}x (target >= 1.8); "
                  f"with the start-up ({start_wall:.2f} s) counted once "
                  f"{(one - start_wall) / (two - start_wall):.2f}x")
            print(f"  two --jobs 1 at once on the halves: {halved:.2f} s (speed-up "
                  f"{one / halved:.2f}x: about the most a split over two processes gives here now); "
                  f"--jobs 2 takes "
                  f"{two / halved:.2f}x their time")
            print(f"  CPU (user+sys, with workers): --jobs 1 {c1:.2f} s, --jobs 2 {c2:.2f} s, "
                  f"halves {ch:.2f} s: overhead {100 * (c2 / c1 - 1):+.0f}% (halves "
                  f"{100 * (ch / c1 - 1):+.0f}%); speed-up it allows on 2 free cores "
                  f"{2 * c1 / c2:.2f}x; with the start-up ({start:.2f} s) counted once "
                  f"{c1 / (start + (c2 - start) / 2):.2f}x")
            print(f"  peak memory of the largest process: --jobs 1 {peaks[(mode, '1')]:.0f} MB, "
                  f"--jobs 2 {peaks[(mode, '2')]:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
