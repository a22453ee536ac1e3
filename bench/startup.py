"""Start-up time: `ketadose validate` on a shipped template next to `yamllint` on the same file,
and `ketadose --help`. Prints medians; not a test.

Run:  pip install -e '.[bench]' && python bench/startup.py [RUNS]
Targets (issue #7): validate <= 0.8 x yamllint's time; `ketadose --help` under 100 ms.
"""

import shutil
import statistics
import subprocess
import sys
import time
from importlib import resources

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def median_ms(cmd) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main():
    template = str(resources.files("ketadose.regimens").joinpath("crps-schwartzman-2009.yaml"))
    ketadose = shutil.which("ketadose") or sys.exit("install ketadose first (pip install -e .)")
    k_validate = median_ms([ketadose, "validate", template])
    k_help = median_ms([ketadose, "--help"])
    print(f"runs per command: {RUNS}")
    print(f"ketadose validate {template.rsplit('/', 1)[-1]}: median {k_validate:.0f} ms")
    yamllint = shutil.which("yamllint")
    if yamllint:
        y = median_ms([yamllint, "-d", "relaxed", template])
        print(f"yamllint on the same file: median {y:.0f} ms; ratio {k_validate / y:.2f} (target <= 0.8)")
    else:
        print("yamllint not installed (pip install -e '.[bench]'): no comparison")
    print(f"ketadose --help: median {k_help:.0f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
