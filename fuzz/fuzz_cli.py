"""atheris (libFuzzer) target for the shell: generated regimens, patients, option values and
batch lines through ``ketadose.cli.main`` and every renderer and format (fuzz/cli_harness.py).

Run (see fuzz/README.md):
  python fuzz/fuzz_cli.py -max_total_time=1800 -timeout=60 -rss_limit_mb=4096
"""

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(__file__))

with atheris.instrument_imports(include=["ketadose"]):
    # every module now, so that the commands' lazy imports are instrumented too
    import importlib
    import pkgutil

    import ketadose

    for _mod in pkgutil.walk_packages(ketadose.__path__, "ketadose."):
        if not _mod.name.startswith(("ketadose.serve", "ketadose.__main__")):
            try:
                importlib.import_module(_mod.name)
            except ImportError:  # optional extras (matplotlib)
                pass
    import cli_harness

WORKDIR = cli_harness.make_workdir()
COUNTS = {}


def test_one_input(data: bytes) -> None:
    src = cli_harness.FuzzSource(atheris.FuzzedDataProvider(data))
    code = cli_harness.one(src, WORKDIR)
    COUNTS[code] = COUNTS.get(code, 0) + 1


def main():
    import atexit

    atexit.register(lambda: print(f"ketadose exit codes: {dict(sorted(COUNTS.items()))}",
                                  file=sys.stderr))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
