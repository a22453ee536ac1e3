"""Start-up of `plan --patients` (issue 18): what a batch does not need is not loaded, and what
replaces a library does what the library does."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REGIMENS, budget
from ketadose.io.library import sha256


@settings(max_examples=budget(200), deadline=None)
@given(st.binary(max_size=20_000))
def test_the_regimen_hash_is_hashlibs(raw):
    assert sha256(raw) == hashlib.sha256(raw).hexdigest()


_RUN = """
import sys
from ketadose.launch import main
sys.argv = ["ketadose", "plan", sys.argv[1], "--start", "2026-12-01T09:00", "--patients", "-"]
try:
    main()
except SystemExit as exc:
    print(exc.code, sorted(m for m in ("hashlib", "_hashlib") if m in sys.modules),
          file=sys.stderr)
"""


@pytest.mark.skipif(not any(importlib.util.find_spec(m) for m in ("_sha256", "_sha2")),
                    reason="this interpreter was built without CPython's own SHA-256")
def test_a_plan_batch_records_the_hash_without_loading_openssl():
    path = REGIMENS.joinpath("crps-schwartzman-2009.yaml")
    record = {"id": "p1", "age": 40, "sex": "female", "weight": "70 kg", "height": "165 cm"}
    done = subprocess.run([sys.executable, "-c", _RUN, str(path)], input=json.dumps(record),
                          capture_output=True, text=True, timeout=120)
    assert done.stderr.split("\n")[-2] == "0 []", done.stderr
    line = json.loads(done.stdout)
    assert line["plan"]["regimen"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
