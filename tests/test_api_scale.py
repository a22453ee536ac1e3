"""ketadose.api and the Dask example (issue 18): the API's documents and lines are the command
line's, and the example on Dask's local process scheduler writes, for 1,000 records in shards,
exactly what `ketadose plan --patients SHARD --format jsonl` writes for each shard."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_jobs import jsonl

from ketadose import api

ROOT = Path(__file__).resolve().parent.parent
REGIMEN = "crps-schwartzman-2009"
START = "2026-12-01T09:00"


def cli(*args, stdin=None) -> bytes:
    return subprocess.run([sys.executable, "-m", "ketadose", *args], input=stdin,
                          capture_output=True, timeout=180, check=False).stdout


def test_api_lines_and_documents_are_the_command_lines():
    text = jsonl(120, seed=7)
    batch = api.Batch("plan", api.load_regimen(REGIMEN), start=START, reproducible=True)
    lines = list(batch.lines(text.encode()))
    expected = cli("plan", REGIMEN, "--patients", "-", "--format", "jsonl", "--start", START,
                   "--reproducible", stdin=text.encode()).decode()
    assert "".join(lines) == expected
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.endswith("}"):
            assert batch.document(json.loads(raw), number) == json.loads(lines[number - 1])
    check = api.Batch("check", None, date="2026-11-21")
    got = "".join(check.lines(text.encode()))
    assert got == cli("check", "--patients", "-", "--format", "jsonl", "--date", "2026-11-21",
                      stdin=text.encode()).decode()


@pytest.mark.parametrize("kwargs", [{"weight_basis": "lean"}, {"priming": 900.0},
                                    {"start": "tomorrow"}, {"concentration": "1 mg"},
                                    {"date": "2026-11-21"}])
def test_api_options_are_checked_like_the_command_lines(kwargs):
    with pytest.raises(api.KetadoseError):
        api.Batch("plan", api.load_regimen(REGIMEN), **kwargs)


def test_api_invalid_records_are_error_records():
    batch = api.Batch("check", None, date="2026-11-21")
    doc = batch.document({"id": "x", "weight": "-3 kg"}, 4)
    assert doc["line"] == 4 and doc["exit"] == 2 and "negative" in doc["error"]
    assert batch.document({"weight": float("nan")})["exit"] == 2
    with pytest.raises(api.KetadoseError, match="no regimen"):
        api.load_regimen("no-such-regimen")


@pytest.mark.skipif(importlib.util.find_spec("dask") is None,
                    reason="dask is not installed (pip install 'ketadose[scale]')")
def test_dask_example_on_1000_records_matches_the_cli(tmp_path):
    # run as a user runs it (a subprocess): dask is never imported into the test process,
    # whose size would otherwise count in the other tests' child-process memory figures
    shards = []
    for i, size in enumerate((400, 350, 250)):  # 1,000 records, three shards
        path = tmp_path / "in" / f"part-{i}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text(jsonl(size, seed=i))
        shards.append(path)
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_batch.py"), "plan", REGIMEN,
                        str(tmp_path / "in" / "*.jsonl"), str(tmp_path / "out"), "--start", START,
                        "--reproducible", "--workers", "2"], capture_output=True, text=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    total = 0
    for shard in shards:
        expected = cli("plan", REGIMEN, "--patients", str(shard), "--format", "jsonl",
                       "--start", START, "--reproducible")
        got = (tmp_path / "out" / shard.name).read_bytes()
        assert got == expected
        total += len(got.splitlines())
    assert total == 1000
