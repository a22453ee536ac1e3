"""Start-up time (issue 18, goal 3): `ketadose validate` on a shipped template next to `yamllint`
on the same file, `ketadose plan ID --format json` for one patient, and `ketadose --help`.
Prints medians and ratios measured in the same run; not a test.

The commands are run ALTERNATING (k, y, k, y, ...) so that a load from other processes on the
machine falls on both sides alike; each ratio is median(ketadose) / median(yamllint).

Run it on a NORMAL install, not an editable one (an editable install adds a path hook that costs
milliseconds at start-up):
    python3 -m venv /tmp/kb && /tmp/kb/bin/pip install '.[bench]'
    /tmp/kb/bin/python bench/startup.py [RUNS]          (default 20)
Targets: validate <= 0.8 x yamllint; plan --format json <= 1.5 x yamllint; --help < 50 ms;
simulate --format json (10-day course, 1-min resolution) <= 2 x `python -c "import numpy"`.
"""

import os
import resource
import statistics
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
BIN = os.path.dirname(sys.executable)
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regimens",
                        "crps-schwartzman-2009.yaml")


def tool(name: str) -> str:
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        sys.exit(f"{name} is not installed beside {sys.executable} (pip install '.[bench]')")
    return path


def once(cmd) -> tuple:
    """Wall time and CPU time (user + system, from the kernel's accounting of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


CPU: dict = {}  # median CPU ms of each command: less disturbed by other work on the machine


def alternating(cmds: dict) -> dict:
    """Median wall time in ms of each command, the commands run in turn RUNS times."""
    times: dict = {name: [] for name in cmds}
    cpu: dict = {name: [] for name in cmds}
    for cmd in cmds.values():  # warm the page cache and the .pyc files
        once(cmd)
    for _ in range(RUNS):
        for name, cmd in cmds.items():
            wall, used = once(cmd)
            times[name].append(wall)
            cpu[name].append(used)
    CPU.update({name: statistics.median(t) * 1000 for name, t in cpu.items()})
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def main():
    ketadose, yamllint = tool("ketadose"), tool("yamllint")
    where = subprocess.run([sys.executable, "-c", "import ketadose; print(ketadose.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    if "site-packages" not in where:
        print(f"note: ketadose is imported from {where} (an editable install?); "
              "the issue's figures are for a normal install")
    m = alternating({
        "validate": [ketadose, "validate", TEMPLATE],
        "yamllint": [yamllint, "-d", "relaxed", TEMPLATE],
        "plan": [ketadose, "plan", "crps-schwartzman-2009", "--weight", "72kg", "--age", "40",
                 "--format", "json", "--reproducible"],
        "help": [ketadose, "--help"],
        "python": [sys.executable, "-c", "pass"],
        "simulate": [ketadose, "simulate", "crps-schwartzman-2009", "--weight", "72kg",
                     "--format", "json"],
        "numpy": [sys.executable, "-c", "import numpy"],
    })
    y = m["yamllint"]
    print(f"{RUNS} alternating runs each; medians in ms (python -c pass: {m['python']:.0f} ms)")
    print(f"yamllint -d relaxed {os.path.basename(TEMPLATE)}: {y:.0f} ms")
    print(f"ketadose validate (same file): {m['validate']:.0f} ms; "
          f"ratio {m['validate'] / y:.2f} (target <= 0.8)")
    print(f"ketadose plan ID --format json, one patient: {m['plan']:.0f} ms; "
          f"ratio {m['plan'] / y:.2f} (target <= 1.5)")
    print(f"ketadose --help: {m['help']:.0f} ms (target < 50 ms); "
          f"{m['help'] - m['python']:.0f} ms more than the bare interpreter")
    print(f"ketadose simulate --format json, 10-day course at 1-min resolution: "
          f"{m['simulate']:.0f} ms; python -c 'import numpy': {m['numpy']:.0f} ms; ratio "
          f"{m['simulate'] / m['numpy']:.2f} (target <= 2)")
    c = CPU
    print(f"CPU time (user+sys) medians in ms, the same runs: validate {c['validate']:.0f} vs "
          f"yamllint {c['yamllint']:.0f} (ratio {c['validate'] / c['yamllint']:.2f}); plan "
          f"{c['plan']:.0f} (ratio {c['plan'] / c['yamllint']:.2f}); --help {c['help']:.0f}; "
          f"simulate {c['simulate']:.0f} vs numpy {c['numpy']:.0f} "
          f"(ratio {c['simulate'] / c['numpy']:.2f}); python -c pass {c['python']:.0f}")


if __name__ == "__main__":
    main()
