"""KD-GATE-004's weight-for-age guard (issue 13 item 5): hand-computed limits, the transcribed
CDC table, and the finding through the real entry point in every output format.

The CDC 2000 weight-for-age charts (Kuczmarski 2002, PMID 12043359) with the CDC's own cut-offs
for a biologically implausible weight (modified z-score below -5 or above +8); docs/evidence.md
E1. A typing-error guard, not a clinical range.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from ketadose import growth
from ketadose.io.library import limit_library, vocabulary
from ketadose.io.regimens import load_regimen
from ketadose.patient import build
from ketadose.plan import make_plan


def test_limits_of_a_10_year_old_boy_by_hand():
    # Age 10 covers the CDC rows 119.5-132.5 months; both limits fall on the oldest, 132.5:
    # L = -1.019277299, M = 36.07262569, S = 0.190029545 (CDC wtage.csv, sex 1).
    # L x S = -0.193692801; the z = -2 line: M x (1 + 2 x 0.193692801)^(1/L)
    #   = 36.07262569 x 1.387385603^-0.981087287 = 26.16193766 kg
    # the z = +2 line: M x (1 - 2 x 0.193692801)^(1/L) = 36.07262569 x 0.612614397^-0.981087287
    #   = 58.33990113 kg
    # modified z -5: M - 5 x (36.07262569 - 26.16193766) / 2 = 11.29590561 kg
    # modified z +8: M + 8 x (58.33990113 - 36.07262569) / 2 = 125.14172746 kg
    low, high = growth.implausible_outside(10, "male")
    assert low == pytest.approx(11.29590561, abs=1e-6)
    assert high == pytest.approx(125.14172746, abs=1e-6)


def test_modified_z_is_the_cdc_formula_and_its_inverse():
    # the same row: 20 kg is (20 - 36.07262569) / ((36.07262569 - 26.16193766) / 2) = -3.2434...
    row = (-1.019277299, 36.07262569, 0.190029545)
    assert growth.modified_z(20.0, *row) == pytest.approx(-16.07262569 / 4.955344015, rel=1e-8)
    for z in (-5.0, -1.0, 0.0, 2.5, 8.0):
        assert growth.modified_z(growth.weight_at_modified_z(z, *row), *row) == pytest.approx(z)


@pytest.mark.parametrize("sex, agemos, p3, p50, p97", [
    # percentiles printed in the CDC file itself (wtage.csv), reproduced from its L, M, S
    ("male", 24.0, 10.38209025, 12.6707633, 15.59648294),
    ("male", 132.5, 26.59626062, 36.07262569, 56.26028801),
    ("male", 192.5, 45.79300591, 61.09536847, 88.95303286),
    ("female", 180.5, 39.59012338, 52.13568193, 81.64830091),
    ("female", 240.0, 45.04654822, 58.21897289, 89.04485133),
])
def test_transcribed_rows_reproduce_the_cdc_percentiles(sex, agemos, p3, p50, p97):
    [row] = [r for r in growth._rows() if r[0] == sex and r[1] == agemos]
    lam, mu, sigma = row[2:]
    for z, want in ((-1.880793608, p3), (0.0, p50), (1.880793608, p97)):  # z of 3rd, 97th
        assert mu * (1 + lam * sigma * z) ** (1 / lam) == pytest.approx(want, rel=1e-7)


def test_the_table_is_whole_and_smooth():
    """A slipped digit in any of the 436 transcribed rows breaks the smoothness of its column."""
    rows = growth._rows()
    for sex in ("male", "female"):
        mine = [r for r in rows if r[0] == sex]
        ages = [r[1] for r in mine]
        assert ages == [24.0] + [m + 0.5 for m in range(24, 240)] + [240.0]
        for a, b in zip(mine, mine[1:]):
            assert b[3] > a[3], (sex, b[1])  # the median weight rises with age
            assert abs(b[2] - a[2]) < 0.05 and abs(b[3] / a[3] - 1) < 0.02 \
                and abs(b[4] - a[4]) < 0.002, (sex, b[1])


@pytest.mark.parametrize("age, sex, low, high", [
    # the shown ranges (rounded inwards): docs/evidence.md E1's examples
    (5, None, 8.4, 58.0), (10, "male", 11.3, 125.1), (15, "female", 19.1, 190.6),
    (15, "male", 17.0, 182.6),
])
def test_ranges_by_age_and_sex(age, sex, low, high):
    got = growth.implausible_outside(age, sex)
    assert math.ceil(got[0] * 10) / 10 == low and math.floor(got[1] * 10) / 10 == high


def test_under_two_only_an_upper_bound_and_adults_none():
    assert growth.implausible_outside(0, None) == (None, growth.implausible_outside(2, None)[1])
    assert growth.implausible_outside(1, "male")[0] is None
    assert growth.implausible_outside(20, "female") is None
    assert growth.implausible_outside(95, None) is None


def _plan(override=None, **patient):
    p, errors = build(patient, vocabulary())
    assert p is not None, errors
    return make_plan(load_regimen("crps-schwartzman-2009")[1], p, limit_library(),
                     override=override)


@pytest.mark.parametrize("patient, flagged", [
    ({"age": 10, "sex": "male", "weight": "150 kg"}, True),
    ({"age": 10, "sex": "male", "weight": "125 kg"}, False),  # inside 11.30-125.14
    ({"age": 10, "sex": "male", "weight": "11.2 kg"}, True),
    ({"age": 10, "sex": "male", "weight": "35 kg"}, False),
    ({"age": 15, "sex": "female", "weight": "18 kg"}, True),  # a girl's limit is 19.09
    ({"age": 15, "sex": "male", "weight": "18 kg"}, False),  # a boy's is 16.97
    ({"age": 15, "weight": "18 kg"}, False),  # no sex: the wider of the two
    ({"age": 5, "weight": "70 kg"}, True),  # an adult's weight with a child's age
    ({"age": 1, "weight": "40 kg"}, True),
    ({"age": 1, "weight": "3 kg"}, False),  # under 2: no lower bound
    ({"age": 25, "weight": "250 kg"}, False),  # adults: the adult checks only
])
def test_the_gate_flags_exactly_the_implausible(patient, flagged):
    plan = _plan(**patient)
    found = [f for f in plan.findings if f.rule == "KD-GATE-004"]
    assert bool(found) == flagged, found
    if flagged:
        [f] = found
        assert f.severity == "error" and plan.blocked
        assert "typing-error guard, not a clinical range" in f.message
        assert "PMID 12043359" in f.source and "docs/evidence.md E1" in f.source


def test_override_confirms_and_keeps_the_finding():
    plan = _plan(override="weighed twice today", age=10, sex="male", weight="150 kg")
    [f] = [f for f in plan.findings if f.rule == "KD-GATE-004"]
    assert f.severity == "info" and "confirmed with --override: weighed twice today" in f.message
    assert "outside 11.3-125.1 kg" in f.message


def cli(*args):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], capture_output=True,
                          text=True, timeout=120)


def test_refused_through_the_entry_point():
    # 19 years (an adult: no screening contraindication), 250 kg, no height: only the CDC check
    proc = cli("plan", "crps-schwartzman-2009", "--weight", "250kg", "--age", "19", "--format",
               "json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    [f] = [w for w in data["warnings"] if w["rule"] == "KD-GATE-004"]
    assert f["severity"] == "error"
    assert "weight 250 kg at age 19 y (either sex, outside 23.8-202.3 kg" in f["message"]


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "csv", "fhir", "html"])
def test_confirmed_finding_reaches_every_format(fmt):
    proc = cli("plan", "crps-schwartzman-2009", "--weight", "250kg", "--age", "19", "--override",
               "weighed twice today", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "KD-GATE-004" in proc.stdout, fmt
    if fmt != "csv":  # the CSV's findings column names rule and severity only, as for every rule
        assert "typing-error guard, not a clinical range" in " ".join(proc.stdout.split()), fmt


def test_batch_records_carry_it(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in (
        {"id": "typo", "weight": "250 kg", "age": 19},
        {"id": "ok", "weight": "70 kg", "age": 19})) + "\n")
    proc = cli("plan", "crps-schwartzman-2009", "--patients", str(path), "--format", "jsonl")
    records = {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    rules = {k: {w["rule"] for w in r.get("warnings", [])} for k, r in records.items()}
    assert "KD-GATE-004" in rules["typo"] and "KD-GATE-004" not in rules["ok"], records
    assert records["typo"]["exit"] == 1 and records["ok"]["exit"] == 0
