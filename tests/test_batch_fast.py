"""The fast batch path (issue 18) against the long way, over generated patients and records.

- The line encoder (render/documents/batch.encode: orjson, the regimen's sections encoded once)
  writes exactly the text of the reference encoder (one json.dumps of the record, json_safe).
- A batch record's plan is the single-patient document's plan (render/documents/plan.plan_body
  through the single-patient path, commands/plan._result), in the batch line's key order.
- Every float of a batch record is one orjson writes as Python does, except the guarded ones.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TEMPLATE_NAMES, budget
from ketadose.commands import batch as cbatch
from ketadose.render.documents import batch as rbatch
from ketadose.render.documents.plan import REGIMEN_SECTIONS, batch_order, plan_body

START = dt.datetime(2026, 12, 1, 9, 0)
TODAY = START.date()
IDS = [n.removesuffix(".yaml") for n in TEMPLATE_NAMES]
MEDS = ["morphine", "oxycodone", "diazepam", "gabapentin", "clarithromycin", "levothyroxine",
        "phenelzine", "theophylline", "amlodipine", "memantine", "rifampicin", "unknownium"]
UNSAFE = "\x7f\x85\x9f\u061c\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069\u2026\u00e9\u00b0\n\"\\"


def text(max_size=8):
    return st.text(st.one_of(st.characters(), st.sampled_from(UNSAFE)), max_size=max_size)


@st.composite
def patients(draw):
    p = {"id": draw(st.one_of(st.none(), text(), st.integers(-3, 3))),
         "age": draw(st.integers(10, 100)), "sex": draw(st.sampled_from(["female", "male"])),
         "weight": f"{draw(st.floats(20, 200, allow_nan=False)):.1f} kg",
         "height": f"{draw(st.integers(130, 210))} cm",
         "pregnant": False, "breastfeeding": False,
         "blood_pressure": f"{draw(st.integers(90, 190))}/{draw(st.integers(55, 110))}",
         "heart_rate": draw(st.integers(45, 140)),
         "conditions": draw(st.lists(st.sampled_from(["crps", "glaucoma", "schizophrenia"]),
                                     max_size=1, unique=True)),
         "medications": [{"name": m} for m in draw(st.lists(st.sampled_from(MEDS), max_size=3,
                                                            unique=True))],
         "allergies": [], "liver": {"alt": f"{draw(st.integers(10, 200))} U/L",
                                    "alt_uln": "45 U/L"},
         "previous_courses": []}
    for key in draw(st.lists(st.sampled_from(["height", "sex", "blood_pressure", "liver"]),
                             max_size=2, unique=True)):
        del p[key]
    return p


@st.composite
def options(draw, rid):
    from ketadose.io.regimens import load_regimen

    regimen = load_regimen(rid)[1]
    opts: dict = {"start": START}
    if regimen.route == "iv" and draw(st.booleans()):
        opts["priming"] = draw(st.sampled_from([0.0, 1e-05, 0.00005, 20.0, 12.5]))
    if regimen.route != "topical" and draw(st.booleans()):
        from ketadose.units import parse_quantity

        opts["concentration"] = parse_quantity(draw(st.sampled_from(
            ["1 mg/mL", "2 mg/mL", "0.5 mg/mL", "0.00001 mg/mL", "10 mg/mL", "50 mg/mL"])))
    if regimen.weight_based() and draw(st.booleans()):
        opts["weight_basis"] = draw(st.sampled_from(["actual", "ideal", "adjusted"]))
    if draw(st.booleans()):
        opts["override"] = "generated test: a clinician's reason"
    return opts


_jobs: dict = {}


def job(rid, opts):
    key = (rid, repr(sorted(opts.items())))
    if key not in _jobs:
        _jobs[key] = cbatch.make_job("plan", (), rid, opts, TODAY)
    return _jobs[key]


def job_or_none(rid, opts):
    """The batch job, or None for generated options that do not apply to the regimen (a usage
    error before any record: the properties skip that draw)."""
    try:
        return job(rid, opts)
    except Exception:
        return None


def general_record(j, number, data) -> dict:
    """The record the general batch path makes (commands/batch._one, no fast path)."""
    fast, j.fast_plan = j.fast_plan, None
    try:
        return j.record(number, data)
    finally:
        j.fast_plan = fast


def test_the_fast_plan_path_is_taken_for_plain_records():
    j = job("crps-schwartzman-2009", {"start": START})
    plain = {"id": "p1", "age": 40, "sex": "female", "weight": "70 kg", "height": "165 cm",
             "blood_pressure": "120/80", "heart_rate": 70, "medications": [{"name": "morphine"}]}
    done = j.fast_plan(plain)
    assert done is not None and done["exit"] == 0
    assert {"line": 1, "id": "p1", **done} == general_record(j, 1, plain)
    assert j.fast_plan({"resourceType": "Patient"}) is None  # FHIR: the general path


def long_way(rid, opts, data):
    """The single-patient path: what `plan --format json` computes for the same patient."""
    from ketadose.commands.plan import options_result
    from ketadose.io.library import vocabulary
    from ketadose.io.regimens import load_regimen
    from ketadose.patient import build

    src, regimen, findings = load_regimen(rid)
    patient, _errors = build(data, vocabulary(), TODAY)
    if patient is None:
        return None
    try:
        return options_result(src, regimen, findings, patient, data, {**opts, "date": TODAY})
    except Exception:  # a refusal: the batch record says the same (compared elsewhere)
        return None


@settings(max_examples=budget(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(IDS), st.data())
def test_a_batch_record_is_the_single_patient_plan_and_encodes_as_the_reference(rid, data):
    opts = data.draw(options(rid))
    j = job_or_none(rid, opts)
    if j is None:
        return
    for number, patient in enumerate(data.draw(st.lists(patients(), min_size=1, max_size=3)), 1):
        record = j.record(number, patient)
        assert j.encode(record) == rbatch.reference(record)
        assert record == general_record(j, number, patient)  # the fast path (or none) = _one
        if record.get("plan"):
            result = long_way(rid, opts, patient)
            assert result is not None
            want = batch_order(json.loads(json.dumps(plan_body(result))))
            assert json.loads(rbatch.reference(record))["plan"] == want
            assert list(record["plan"]) == list(want)  # the key order too
            _floats_orjson_writes_as_python(record, guarded=True)


def _floats_orjson_writes_as_python(record, guarded):
    """Every float is 0 or at least 1e-4 in size, except the options render.documents.batch
    guards (concentration, priming)."""
    plan = dict(record["plan"])
    if guarded:
        plan.pop("concentration_mg_per_ml")
        plan["preparation"] = {k: v for k, v in plan["preparation"].items()
                               if k not in ("concentration_mg_per_ml", "priming_ml")}

    def walk(x, where):
        if isinstance(x, float):
            assert x == 0 or abs(x) >= 1e-4, where
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{where}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{where}[{i}]")

    walk({**record, "plan": plan}, "record")


def _values(floats):
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), floats, text()),
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(text(4), inner, max_size=4)),
        max_leaves=20)


_json = _values(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                          st.floats(-1e-3, 1e-3)))
# what a record holds: no float under 1e-4 but the guarded options (the test above)
_record_values = _values(st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda x: x == 0 or abs(x) >= 1e-4))


@settings(max_examples=budget(400), deadline=None)
@given(st.dictionaries(text(4), _record_values, max_size=6))
def test_any_record_without_a_plan_encodes_as_the_reference(record):
    record.pop("plan", None)
    assert rbatch.encode(record) == rbatch.reference(record)


@settings(max_examples=budget(200), deadline=None)
@given(_json)
def test_orjson_differs_from_the_reference_only_where_the_encoder_looks(value):
    """What the fast path relies on: orjson and json differ only in floats under 1e-4 (and NaN,
    ints over 64 bits, lone surrogates, which it never sends to orjson or which orjson refuses)."""
    orjson = pytest.importorskip("orjson")
    want = json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def small(x):
        if isinstance(x, float):
            return 0 < abs(x) < 1e-4
        if isinstance(x, dict):
            return any(small(v) for v in x.values())
        if isinstance(x, list):
            return any(small(v) for v in x)
        return False

    try:
        got = orjson.dumps(value).decode()
    except TypeError:  # orjson refuses (an int over 64 bits): the encoder falls back
        return
    assert got == want or small(value)


@pytest.mark.parametrize("version, exact", [
    ("3.9.15", False), ("3.11.5", False), ("3.11.6", False), ("3.11.7", True), ("3.11.10", True),
    ("3.13.0", True), ("4.0", True), ("3.12.0rc1", False), ("x", False)])
def test_an_orjson_older_than_3_11_7_is_not_used(version, exact, monkeypatch):
    """orjson before 3.11.7 wrote 1e16 where json writes 1e+16 (its changelog, 3.11.7): such a
    release, still present when installed without pip's dependency check, is left out."""
    orjson = pytest.importorskip("orjson")
    assert rbatch.orjson_is_exact(version) is exact
    monkeypatch.setattr(orjson, "__version__", version)
    monkeypatch.setattr(rbatch, "_orjson", rbatch._UNSET)
    assert (rbatch._fast() is orjson) is exact


def test_the_installed_orjson_is_used():
    """setup.cfg's floor: the orjson that pip installs takes the fast path."""
    orjson = pytest.importorskip("orjson")
    assert rbatch.orjson_is_exact(orjson.__version__), orjson.__version__


def test_a_lone_surrogate_nan_or_huge_int_takes_the_reference_path():
    for record in ({"line": 1, "id": "\ud800"}, {"line": 2**80}):
        assert rbatch.encode(record) == rbatch.reference(record)
    with pytest.raises(ValueError):
        rbatch.reference({"x": float("nan")})


@pytest.mark.parametrize("rid", ["crps-schwartzman-2009", "oral-marchetti-2015"])
def test_the_command_line_writes_the_reference_lines(tmp_path, rid):
    """Through the real entry point: each line is the reference encoding of the record the
    single-patient path makes for the same patient."""
    import random

    rnd = random.Random(7)
    rows = [{"id": f"p{i}", "age": rnd.randint(18, 80), "sex": rnd.choice(["female", "male"]),
             "weight": f"{rnd.randint(45, 130)} kg", "height": f"{rnd.randint(150, 195)} cm",
             "blood_pressure": "120/80", "heart_rate": 70, "pregnant": False,
             "breastfeeding": False, "conditions": [],
             "medications": [{"name": m} for m in rnd.sample(MEDS[:6], rnd.randint(0, 2))],
             "allergies": [], "liver": {"alt": "30 U/L", "alt_uln": "45 U/L"},
             "previous_courses": []} for i in range(20)]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = subprocess.run([sys.executable, "-m", "ketadose", "plan", rid, "--patients", str(path),
                          "--start", "2026-12-01T09:00"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    lines = out.stdout.splitlines()
    assert len(lines) == len(rows)
    opts = {"start": START}
    for number, (line, row) in enumerate(zip(lines, rows), 1):
        result = long_way(rid, opts, row)
        from ketadose.render.documents.plan import batch_record

        record = {"line": number, "id": row["id"], **batch_record(result)}
        assert line == rbatch.reference(record)
    assert REGIMEN_SECTIONS[0] in json.loads(lines[0]).get("plan", {}) or \
        json.loads(lines[0])["plan"] is None


def test_orjson_is_imported_on_the_batch_path_only():
    code = ("import sys, ketadose.cli, ketadose.commands.batch, ketadose.commands.plan, "
            "ketadose.render.documents.batch; assert 'orjson' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_orjson_is_left_out_where_an_allocation_can_fail():
    """orjson 3.13.0 dies of SIGSEGV when an allocation fails inside dumps(): under an address
    space limit (`ulimit -v`) the batch lines are the standard encoder's (the same bytes,
    test_a_batch_record_is_the_single_patient_plan_and_encodes_as_the_reference), which raises MemoryError (one line, exit 2)."""
    pytest.importorskip("orjson")
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 40, 1 << 40));"
            "from ketadose.render.documents import batch; print(batch._fast() is None)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "True", r.stderr
    r = subprocess.run([sys.executable, "-c", code.split(";", 1)[1].split(";", 1)[1]],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ("True" if rbatch.allocations_may_fail() else "False")
