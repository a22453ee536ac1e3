"""atheris (libFuzzer) target: mutated regimens and patient records through the whole pipeline.

Run (see fuzz/README.md):
  python fuzz/fuzz_ketadose.py fuzz/corpus -max_total_time=3600
"""

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(__file__))

with atheris.instrument_imports(include=["ketadose"]):
    from harness import exercise_patient, exercise_regimen

    from ketadose.io.regimens import load_regimen

REGIMEN = load_regimen("crps-schwartzman-2009")[1]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    text = data[1:].decode("utf-8", errors="replace")
    if data[0] % 2:
        exercise_patient(text, REGIMEN)
    else:
        exercise_regimen(text, simulate=data[0] % 8 == 0)


def main():
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
