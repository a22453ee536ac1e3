"""What the review of issue 18's batch fast paths found, held.

The fast paths' caches are bounded in size, not only in count.

patient.Builder remembers each field's distinct values; before the bound on a value's length a
batch of distinct 1 MB notes (no rule reads notes) piled them up: 4096 values per field, and a
line may be 16 MiB, so a batch the general path finishes died of MemoryError part-way, leaving
the later patients unscreened (found by the review of issue 18's fast paths).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from ketadose.io.library import vocabulary
from ketadose.patient import Builder

DAY = dt.date(2026, 11, 20)


def test_a_long_value_goes_to_the_general_path_and_is_not_kept():
    builder = Builder(vocabulary(), DAY)
    short = {"id": "a", "age": 40, "notes": "x" * Builder.LONG}
    long = {"id": "b", "age": 40, "notes": "x" * (Builder.LONG + 1)}
    listed = {"id": "c", "age": 40, "allergies": ["y" * Builder.LONG]}
    assert builder.read(short) is not None
    assert builder.read(long) is None
    assert builder.read(listed) is None  # the list's repr is longer than LONG
    kept = sum(len(k) if isinstance(k, (str, bytes)) else len(repr(k))
               for cache in builder.caches() for k in cache)
    assert kept <= 2 * Builder.LONG


def _peak_mib(tmp, n: int) -> float:
    path = os.path.join(tmp, f"big{n}.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"p{i}", "age": 40, "notes": f"{i} " + "x" * 1_000_000}) + "\n")
    # the figure of a grandchild: ru_maxrss of RUSAGE_CHILDREN counts the largest child, and
    # this test process (with pytest's imports) must not be that child's parent
    code = ("import resource, subprocess, sys; subprocess.run([sys.executable, '-m', "
            f"'ketadose', 'check', '--patients', {path!r}, '--date', '{DAY}'], "
            "stdout=subprocess.DEVNULL, check=False); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout) / 1024


def test_distinct_large_values_do_not_pile_up(tmp_path):
    small, large = _peak_mib(str(tmp_path), 10), _peak_mib(str(tmp_path), 120)
    # 110 more records of 1 MB would cost over 100 MiB if they were kept
    assert large - small < 50, (small, large)


def _stdin_batch(text: str) -> list:
    done = subprocess.run([sys.executable, "-m", "ketadose", "check", "--patients", "-",
                           "--date", str(DAY)], input=text.encode(), capture_output=True,
                          check=False)
    return [json.loads(x) for x in done.stdout.splitlines()]


def test_json_lines_on_stdin_after_a_bom_or_blank_lines_are_read_as_json_lines():
    # formerly sniffed from the first byte alone: every line became an "invalid CSV" error
    record = json.dumps({"id": "a", "age": 40, "allergies": ["Ketalar"]}) + "\n"
    for head in ("\ufeff", "\n", " ", "\ufeff\n \n"):
        lines = _stdin_batch(head + record)
        assert lines and lines[-1].get("status") == "contraindicated", (head, lines)
    # and a CSV is still a CSV
    lines = _stdin_batch("id,age,allergies\nb,40,Ketalar\n")
    assert lines and lines[-1].get("status") == "contraindicated", lines


def test_bidirectional_controls_are_refused_per_record_as_for_one_patient(tmp_path):
    # `check --patient FILE` refuses them (Trojan Source); the batch screened such records
    lines = ['{"id": "a\u202e", "age": 40}',                       # escaped, in the id
             json.dumps({"id": "b", "age": 40, "allergies": ["Ketalar\u2066"]},
                        ensure_ascii=False),                          # literal, in a list
             json.dumps({"id": "c", "age": 40, "allergies": ["Ketalar"]})]
    out = _stdin_batch("\n".join(lines) + "\n")
    assert [x.get("exit") for x in out[:2]] == [2, 2], out
    assert "U+202E" in out[0]["error"] and "U+2066" in out[1]["error"], out
    assert out[2].get("status") == "contraindicated", out
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("id,age,allergies\nd\u202e,40,\ne,40,Ketalar\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ketadose", "check", "--patients",
                           str(csv_path), "--date", str(DAY)], capture_output=True, check=False)
    out = [json.loads(x) for x in done.stdout.splitlines()]
    assert out[0].get("exit") == 2 and "U+202E" in out[0]["error"], out
    assert out[1].get("status") == "contraindicated", out
