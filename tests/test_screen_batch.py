"""`check --patients` fast path (issue 18): the lines made by commands.check.BatchLines (fields
built once per distinct value, rule outcomes remembered by the fields they read) are the same
bytes as the general path's (build + screen.run + the screen document, one record at a time),
over generated records: every field sometimes missing, wrong or odd, allergy spellings, stop
dates, grades, overrides, several regimens, and caches shared across examples so that remembered
outcomes meet new records. The general path is the reference: it is what `check` runs for one
patient, and the rules themselves are not changed by the fast path."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import budget
from ketadose.commands.batch import _encode, make_job
from ketadose.io.batch import RecordError, _jsonl_record
from ketadose.io.library import vocabulary
from ketadose.io.yamlsrc import UNSAFE
from ketadose.patient import Builder, build
from ketadose.rules import screening_reads, screening_rules

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from varied_patients import ALLERGIES, CONDITIONS, MEDICINES, OBJECT_ALLERGIES

DAY = dt.date(2026, 11, 20)
REGIMENS = ("crps-schwartzman-2009", "oral-marchetti-2015", "crps-ketcrps2-esketamine",
            "topical-rabi-2016", None)
OVERRIDES = (None, "clinician reviewed: proceed")

ODD = st.sampled_from([None, "", " ", 0, -1, 1.5, True, [], {}, "none", "\u202e", "x" * 70])
dates = st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", st.sampled_from([2025, 2026]),
                  st.integers(1, 12), st.integers(1, 28))
medications = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(MEDICINES + ["st-johns_wort", " Morphine ", "Paracetamol"])},
    optional={"dose": st.sampled_from(["60 mg/day", "25 mcg/h", "10 mg", "2 mg/h"]),
              "route": st.sampled_from(["oral", "iv"]), "stopped": dates}), max_size=3)
allergies = st.lists(st.one_of(
    st.sampled_from(ALLERGIES + ["Ketalar", "KETALAR\u00ae", "ketamine\u00a0HCl", "ket amine",
                                 "\uff2b\uff45\uff54\uff41\uff4d\uff49\uff4e\uff45",
                                 "esketamina", "calypsol (rash)", "Ket-a-lar", "ketamne"]),
    st.sampled_from(OBJECT_ALLERGIES), st.text(min_size=1, max_size=12).filter(str.strip)),
    max_size=3)
liver = st.dictionaries(st.sampled_from(["alt", "alt_uln", "ast", "ast_uln", "alp", "alp_uln",
                                         "ggt", "ggt_uln"]),
                        st.sampled_from(["30 U/L", "150 U/L", "45 U/L", "75 U/L", "25 U/L"]),
                        max_size=5)
courses = st.lists(st.fixed_dictionaries(
    {"ended": dates.filter(lambda d: d <= "2026-11-20")},
    optional={"hours": st.sampled_from(["4 h", "100 h", "2 d"]),
              "liver_injury": st.booleans(), "regimen": st.just("x")}), max_size=2)
FIELDS = {
    "id": st.text(min_size=1, max_size=8).filter(str.strip),
    "age": st.integers(0, 120),
    "sex": st.sampled_from(["female", "male"]),
    "weight": st.sampled_from(["70 kg", "70", 70, 70.5, "154 lb", "3 kg"]),
    "height": st.sampled_from(["170 cm", "1.7 m", "150 cm"]),
    "pregnant": st.booleans(), "breastfeeding": st.booleans(),
    "blood_pressure": st.sampled_from(["128/82", "185/105", "165/90", "120 / 80", "181/99"]),
    "heart_rate": st.integers(20, 300),
    "conditions": st.lists(st.sampled_from(CONDITIONS + ["ischaemic-heart-disease:severe",
                                                         "Myocardial Disease:stable"]),
                           max_size=3),
    "liver": liver, "medications": medications, "allergies": allergies,
    "previous_courses": courses,
    "not_understood": st.lists(st.fixed_dictionaries({"text": st.sampled_from(["a", "b"])},
                                                     optional={"source": st.just("C/1")}),
                               max_size=1),
    "notes": st.text(min_size=1, max_size=5).filter(str.strip),
}
# What build() refuses (or turns into an error record): one of these breaks a record now and then
BROKEN = {
    "id": st.one_of(st.integers(), st.just(" ")), "age": st.sampled_from([-1, 125, 40.0, "40"]),
    "sex": st.just("other"), "weight": st.sampled_from(["1 kg", "70 stone", -3, "0 kg"]),
    "height": st.sampled_from(["10 cm", "170"]), "pregnant": st.just("yes"),
    "blood_pressure": st.sampled_from(["80/120", "1200/80", "high"]),
    "heart_rate": st.sampled_from([10, 72.0]),
    "conditions": st.just(["unknown-thing"]),
    "medications": st.sampled_from([[{"name": "unknownium"}], [{"name": "morphine", "dose": "5 kg"}],
                                    [{"name": "morphine", "started": "2026-02-01",
                                      "stopped": "2026-01-01"}]]),
    "liver": st.just({"alt": "5 mg"}), "previous_courses": st.just([{"ended": "2027-01-01"}]),
    "colour": st.just("blue"),
}


@st.composite
def records(draw):
    """Mostly records build() accepts (so that the fast path is exercised), some broken."""
    if draw(st.integers(0, 19)) == 0:
        return {"resourceType": "Patient", "id": "x"}
    data = {}
    for name, strategy in FIELDS.items():
        if draw(st.integers(0, 3)):
            data[name] = draw(strategy)
    if draw(st.integers(0, 5)) == 0:
        name = draw(st.sampled_from(sorted(BROKEN) + ["odd"]))
        if name == "odd":
            data[draw(st.sampled_from(sorted(FIELDS)))] = draw(ODD)
        else:
            data[name] = draw(BROKEN[name])
    return data


def _jobs():
    return {(r, o): make_job("check", (), r, {"override": o}, DAY)
            for r in REGIMENS for o in OVERRIDES}


JOBS = _jobs()


def slow_line(job, number, data):
    record = job.record(number, data)
    return record["exit"], _encode(record) + "\n"


@settings(max_examples=budget(600), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(records(), st.sampled_from(sorted(JOBS, key=str)), st.integers(1, 10**6))
def test_the_fast_check_line_is_the_general_path_line(data, which, number):
    job = JOBS[which]
    # through the JSON reader, as a batch reads it (duplicate keys, surrogates, constants)
    text = json.dumps(data, ensure_ascii=False)
    parsed = _jsonl_record(text)
    if isinstance(parsed, RecordError):
        # a bidirectional control or a control character: the reader refuses the record (as
        # --patient FILE refuses the file) before any checking, on either path
        assert UNSAFE.search(text) and str(parsed).endswith("; remove it")
        return
    fast = job.fast(number, parsed)
    if fast is not None:  # the line as the batch writes it: UTF-8 bytes
        code, line = slow_line(job, number, parsed)
        assert fast == (code, line.encode("utf-8", "backslashreplace"))
    assert job.line(number, parsed) == slow_line(job, number, parsed)


def test_every_rule_read_its_declared_fields_only():
    """No remembered outcome was refused for reading an undeclared field (a rule that reads
    more than its READS entry says is caught here), over varied records and every regimen."""
    from varied_patients import records as varied

    rows = list(varied(400, seed=5))
    for job in _jobs().values():
        for n, data in enumerate(rows, 1):
            job.line(n, _jsonl_record(json.dumps(data)))
        assert job.fast.memo.undeclared == 0
    assert all(job.fast.memo.undeclared == 0 for job in JOBS.values())
    reads = screening_reads()
    assert {r.id for r in screening_rules()} == set(reads)


def test_a_rule_reading_past_its_declaration_is_caught_and_not_remembered():
    from ketadose.screen import Context, Memo, Undeclared, _View

    rules = [r for r in screening_rules() if r.id == "KD-CI-008"]  # age
    memo = Memo(Context(None, DAY, vocabulary(), JOBS[(None, None)].fast.memo.ctx.thresholds),
                rules, {"KD-CI-008": ("sex",)})
    patient = build({"age": 12, "sex": "female"}, vocabulary(), DAY)[0]
    first = memo.outcomes({"sex": "'female'"}, patient)
    assert memo.undeclared == 1 and first[0][0][2]  # computed on the whole patient: it fires
    assert all(not cache for *_x, cache in memo.groups)
    with pytest.raises(Undeclared):
        _ = _View(patient, frozenset({"sex"})).age


@settings(max_examples=budget(400), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(records())
def test_the_builder_builds_what_build_builds(data):
    builder = BUILDER
    keys = builder.read(data)
    patient, errors = build(data, vocabulary(), DAY)
    if "resourceType" in data:
        assert keys is None
        return
    assert (keys is None) == (patient is None)
    if keys is not None:
        assert builder.patient(data, keys) == patient


BUILDER = Builder(vocabulary(), DAY)

# Values equal under == (and of equal hash) but of other JSON types, which build() may treat
# differently: the builder's caches must never take one for another (1, 1.0 and True are the
# same dict key in Python; so are 0.0 and -0.0)
COUSINS = [0, 0.0, -0.0, False, 1, 1.0, True, 40, 40.0, 72, 72.0, 70, 70.0, "70", "40", None,
           "", [], [0], [False], [0.0], {}, {"alt": 30}, {"alt": 30.0}, {"alt": True},
           [{"name": "morphine"}], [{"name": "morphine", "dose": 1}],
           [{"name": "morphine", "dose": True}], ["crps"], [["crps"]], [{"substance": "x",
                                                                          "ketamine_family": 1}],
           [{"substance": "x", "ketamine_family": True}], [{"ended": "2026-01-01", "hours": 4}],
           [{"ended": "2026-01-01", "liver_injury": 0}],
           [{"ended": "2026-01-01", "liver_injury": False}]]
CACHED = Builder(vocabulary(), DAY)


@settings(max_examples=budget(300), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(sorted(Builder.FIELDS)), st.sampled_from(COUSINS)),
                min_size=1, max_size=6))
def test_equal_values_of_other_types_are_never_taken_for_each_other(fields):
    """Field by field through one builder (its caches shared across examples): each record
    gives what build() gives, to the type of every value (repr: 70 and 70.0 differ)."""
    for name, value in fields:
        data = {name: value}
        keys = CACHED.read(data)
        patient, _errors = build(data, vocabulary(), DAY)
        assert (keys is None) == (patient is None), data
        if keys is not None:
            assert repr(CACHED.patient(data, keys)) == repr(patient), data


def test_every_field_with_every_cousin_read_twice():
    """Each field with each of COUSINS and blank or odd texts, through one builder, twice: the
    first read builds and keeps each value (the long way, Builder._read), the second finds it
    kept by subscripts (an id is never kept: its text is looked at each time). Both give
    what build() gives, to the type of every value, and the same keys."""
    builder = Builder(vocabulary(), DAY)
    values = [*COUSINS, " ", "\t", "\u3000", "x", "male", "female", True, False, None, [" "]]
    cases = [{name: value} for name in sorted(Builder.FIELDS) for value in values]
    cases += [{"id": "a", "sex": "male", "pregnant": True}, {"sex": "male", "breastfeeding": True},
              {"sex": "male", "pregnant": False}, {"sex": "female", "pregnant": True},
              {"id": " ", "age": 40}, {"age": 40, "unknown": 1}]
    for _round in range(2):
        for data in cases:
            keys = builder.read(data)
            patient, _errors = build(data, vocabulary(), DAY)
            assert (keys is None) == (patient is None), data
            if keys is not None:
                assert repr(builder.patient(data, keys)) == repr(patient), data
                assert keys == builder._read(data), data


def test_a_record_seen_before_is_screened_from_what_was_kept():
    """The short cuts are taken (a look-up that never hits would only be slower, and no
    differential test would see it): a record read a second time gives the same keys, and
    every group's outcome is found kept (Memo.kept) with its line."""
    job = make_job("check", (), "crps-schwartzman-2009", {"override": None}, DAY)
    lines = job.fast
    data = {"id": "p1", "age": 72, "sex": "female", "weight": "62 kg", "height": "186 cm",
            "pregnant": False, "breastfeeding": False, "blood_pressure": "132/67",
            "heart_rate": 86, "conditions": [], "medications": [{"name": "gabapentin"}],
            "allergies": [], "liver": {"alt": "30 U/L", "alt_uln": "45 U/L"},
            "previous_courses": []}
    first = lines(1, data)
    keys = lines.builder.read(dict(data, id="p2"))
    assert keys == lines.builder._read(data) and keys["id"] is not None
    assert keys["not_understood"] is None  # a field the record leaves out
    outcomes = lines.memo.kept(keys)
    assert outcomes is not None and tuple(outcomes) in lines.lines
    assert lines(2, data) == (first[0], first[1].replace(b'"line":1,', b'"line":2,', 1))


def test_the_builder_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(Builder, "SIZE", 3)
    builder = Builder(vocabulary(), DAY)
    for age in range(20, 40):
        data = {"age": age, "weight": f"{age + 40} kg"}
        keys = builder.read(data)
        assert builder.patient(data, keys) == build(data, vocabulary(), DAY)[0]
    caches = builder.caches()
    assert all(len(c) <= 3 for c in caches)
    assert sum(map(len, caches)) >= 3  # the ages and weights were kept (up to the bound)


def test_check_batch_cli_lines_are_the_general_path_lines(tmp_path):
    """Through the real entry point: a varied batch (error lines included), JSON Lines and
    CSV, with and without --override; every line equals the general path's line."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    import csv

    from varied_patients import CSV_HEADER, csv_row
    from varied_patients import records as varied

    rows = list(varied(300, seed=11))
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                     encoding="utf-8")
    with open(tmp_path / "p.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_row(r) for r in rows)
    from ketadose.io.batch import open_records
    from ketadose.io.batch import records as read_records

    for override in OVERRIDES:
        job = JOBS[("crps-schwartzman-2009", override)]
        for path in (jsonl, tmp_path / "p.csv"):
            args = [sys.executable, "-m", "ketadose", "check", "crps-schwartzman-2009",
                    "--patients", str(path), "--date", DAY.isoformat()]
            if override:
                args += ["--override", override]
            r = subprocess.run(args, capture_output=True, timeout=300)
            stream, kind = open_records(str(path), None)
            with stream:
                want = [slow_line(job, n, d)[1] if not isinstance(d, RecordError)
                        else job.line(n, d)[1] for n, d, _s in read_records(stream, kind)]
            assert r.stdout.decode("utf-8") == "".join(want)
            worst = max(json.loads(x)["exit"] for x in want)
            assert r.returncode == worst


MEMOS: dict = {}


@settings(max_examples=budget(300), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(records(), st.sampled_from(REGIMENS), st.sampled_from(OVERRIDES))
def test_memo_screen_is_run(data, regimen, override):
    """Memo.screen (for a batch that needs the Screen itself, e.g. a plan batch) is the Screen
    screen.run makes: findings, order, questions, rules evaluated, status."""
    from ketadose.screen import Memo, run

    job = JOBS[(regimen, None)]
    ctx = job.fast.memo.ctx
    memo = MEMOS.setdefault(regimen, Memo(ctx, screening_rules(), screening_reads()))
    keys = BUILDER.read(data)
    if keys is None:
        return
    patient = BUILDER.patient(data, keys)
    assert memo.screen(keys, lambda: BUILDER.patient(data, keys), override) == \
        run(patient, ctx, screening_rules(), override)


# --- The batch line against the single-patient `ketadose check` (issue 18) --------------------

YAML_PRINTABLE = re.compile("[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
SINGLE = ("status", "blocking", "findings", "not_assessed", "override", "override_applied")
LOADED: dict = {}


def _single(path, regimen, override):
    """What `ketadose check REGIMEN --patient PATH --format json` computes (its document), or
    None when it refuses the patient (an input error)."""
    from ketadose.commands.check import check_document
    from ketadose.errors import KetadoseError
    from ketadose.io.patients import load_patient
    from ketadose.io.regimens import load_regimen

    if regimen not in LOADED:
        LOADED[regimen] = load_regimen(regimen, ()) if regimen else (None, None, None)
    src, reg, _findings = LOADED[regimen]
    try:
        patient, data = load_patient(str(path), {}, DAY)
    except KetadoseError:
        return None
    return check_document(src, reg, patient, data, override, DAY)[0]


@settings(max_examples=budget(200), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(records(), st.sampled_from(REGIMENS), st.sampled_from(OVERRIDES))
def test_the_batch_line_is_the_single_patient_check(tmp_path_factory, data, regimen, override):
    """A record's batch line (the fast path, caches shared across examples) says what `check
    --patient FILE` says of the same record: status, findings, questions, override, exit code;
    a record the single-patient path refuses is an error line."""
    from hypothesis import assume

    path = tmp_path_factory.mktemp("one") / "p.json"
    # characters as themselves: PyYAML (the --patient reader) refuses JSON's surrogate-pair
    # escapes of characters beyond U+FFFF, and any character YAML does not call printable
    # (a JSON line may hold both: the two readers differ there, docs/speed.md)
    text = json.dumps(data, ensure_ascii=False)
    assume(YAML_PRINTABLE.fullmatch(text))
    path.write_text(text, encoding="utf-8")
    code, line = JOBS[(regimen, override)].line(7, _jsonl_record(json.dumps(data)))
    got = json.loads(line)
    doc = _single(path, regimen, override)
    if doc is None or "resourceType" in data:
        assert "error" in got or "resourceType" in data
        return
    assert {k: got[k] for k in SINGLE} == {k: doc[k] for k in SINGLE}
    assert code == got["exit"] == (1 if doc["blocking"] else 0)
    assert got["line"] == 7


def test_batch_lines_are_single_patient_checks_through_the_entry_point(tmp_path):
    """The real commands: `check --patients` lines and `check --patient FILE --format json` for
    a few varied records (stdout and exit code of each)."""
    from varied_patients import records as varied

    rows = [r for r in varied(40, seed=21) if "colour" not in r][:12]
    batch = tmp_path / "p.jsonl"
    batch.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    base = [sys.executable, "-m", "ketadose", "check", "crps-schwartzman-2009", "--date",
            DAY.isoformat()]
    lines = subprocess.run([*base, "--patients", str(batch)], capture_output=True,
                           timeout=300).stdout.decode().splitlines()
    assert len(lines) == len(rows)
    for n, (row, line) in enumerate(zip(rows, lines)):
        path = tmp_path / f"p{n}.json"
        path.write_text(json.dumps(row), encoding="utf-8")
        one = subprocess.run([*base, "--patient", str(path), "--format", "json"],
                             capture_output=True, timeout=300)
        got = json.loads(line)
        if one.returncode == 2:
            assert got["exit"] == 2 and "error" in got
            continue
        doc = json.loads(one.stdout)
        assert {k: got[k] for k in SINGLE} == {k: doc[k] for k in SINGLE}
        assert one.returncode == got["exit"]


# --- A rule made of parts (KD-DDI-008: the allergies part and the medicines part) --------------

@settings(max_examples=budget(200), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(records(), st.sampled_from(REGIMENS), st.booleans())
def test_a_rule_of_parts_is_its_parts_one_after_the_other(data, regimen, with_vocabulary):
    """screen.Memo keeps each part of such a rule by the fields the part reads: the rule's
    outcome must be the parts' outcomes one after the other (with and without a vocabulary),
    and the parts must read no more than the rule declares (a part reading past its own
    declaration is caught by the memo's view: test_every_rule_read_its_declared_fields_only)."""
    import dataclasses

    from ketadose.rules import screening_parts
    from ketadose.screen import _items

    patient, _errors = build(data, vocabulary(), DAY) if "resourceType" not in data else (None, 0)
    if patient is None:
        return
    ctx = JOBS[(regimen, None)].fast.memo.ctx
    if not with_vocabulary:
        ctx = dataclasses.replace(ctx, vocabulary=None)
    rules = {r.id: r for r in screening_rules()}
    for rid, parts in screening_parts().items():
        assert {a for _part, attrs in parts for a in attrs} == set(screening_reads()[rid])
        joined = tuple(x for part, _attrs in parts for x in _items(part(patient, ctx)))
        assert _items(rules[rid].check(patient, ctx)) == joined
