"""`plan --patients` lines from remembered parts (commands/plan_lines.py, plan.DosingMemo) against
the general path with no memo and the single-patient path, byte for byte, over generated
cohorts on several shipped regimens: decimals, short and tall, children, obese, over hard and
soft limits, --override, error records, and repeated and near-repeated patients (so that the
memos hit). The jobs live across examples, as a long batch's memos do.

Each comparison can fail: test_a_wrong_memo_key_is_caught breaks the dosing key and the screen
key on purpose and checks that the same comparison then finds a wrong line.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_batch_fast import job_or_none, long_way, options

from conftest import budget
from ketadose.commands import batch as cbatch
from ketadose.io.batch import RecordError
from ketadose.io.library import vocabulary
from ketadose.patient import build
from ketadose.render.documents import batch as rbatch
from ketadose.render.documents.plan import batch_record

START = dt.datetime(2026, 12, 1, 9, 0)
TODAY = START.date()
# IV per kg with a cap, IV per kg with ideal/adjusted, esketamine, oral, SC, topical, mg/h
REGIMENS = ["crps-schwartzman-2009", "consensus-cohen-2018", "crps-ketcrps2-esketamine",
            "oral-marchetti-2015", "cancer-pain-burst-ketamine", "topical-rabi-2016",
            "crps-sigtermans-2009", "sci-amr-2010", "crps-goldberg-2010"]
MEDS = ["morphine", "oxycodone", "diazepam", "gabapentin", "clarithromycin", "levothyroxine",
        "phenelzine", "amlodipine"]


@st.composite
def patient(draw):
    """One record: an adult or a child, light to very heavy, short to tall, in kg (decimals)
    or lb; sometimes a field missing, sometimes an error."""
    child = draw(st.booleans()) and draw(st.booleans())
    age = draw(st.integers(2, 17) if child else st.integers(18, 95))
    kg = draw(st.one_of(st.integers(8, 60) if child else st.integers(25, 260),
                        st.floats(3, 300, allow_nan=False).map(lambda x: round(x, 1)),
                        st.sampled_from([70, 70.5, 100, 130.2])))  # met again across examples
    p = {"id": draw(st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["p1", "é\u200e", "\x7f", "a\x85"]))),
         "age": age, "sex": draw(st.sampled_from(["female", "male"])),
         "weight": draw(st.sampled_from([f"{kg} kg", f"{kg:.1f} kg", f"{round(kg * 2.2)} lb"])),
         "height": f"{draw(st.integers(80, 150) if child else st.integers(135, 215))} cm",
         "blood_pressure": f"{draw(st.integers(95, 185))}/{draw(st.integers(55, 105))}",
         "heart_rate": draw(st.integers(45, 130)),
         "conditions": draw(st.lists(st.sampled_from(["crps", "glaucoma", "schizophrenia"]),
                                     max_size=1, unique=True)),
         "medications": [{"name": m} for m in draw(st.lists(st.sampled_from(MEDS), max_size=2,
                                                            unique=True))],
         "allergies": [], "liver": {"alt": f"{draw(st.integers(10, 160))} U/L",
                                    "alt_uln": "45 U/L"}}
    for key in draw(st.lists(st.sampled_from(["height", "sex", "age", "weight", "liver", "id"]),
                             max_size=2, unique=True)):
        del p[key]
    broken = draw(st.sampled_from([None] * 8 + ["weight", "unknown", "pregnant", "age"]))
    if broken == "weight":
        p["weight"] = "heavy"
    elif broken == "unknown":
        p["shoe_size"] = 42
    elif broken == "pregnant":
        p.update(sex="male", pregnant=True)
    elif broken == "age":
        p["age"] = 70.5
    return p


@st.composite
def cohort(draw):
    """Patients with repeats (the same record again, another id) and near repeats (0.1 kg
    more), and an unreadable line now and then."""
    pool = draw(st.lists(patient(), min_size=1, max_size=4))
    out: list = []
    for _ in range(draw(st.integers(1, 8))):
        p = dict(draw(st.sampled_from(pool)))
        change = draw(st.sampled_from(["same", "id", "near", "height", "age", "sex", "meds",
                                       "error"]))
        if change == "id":
            p["id"] = f"q{len(out)}"
        elif change == "near" and isinstance(p.get("weight"), str) and p["weight"].endswith("kg"):
            p["weight"] = f"{float(p['weight'].split()[0]) + 0.1:.1f} kg"
        elif change == "height":  # the same weight: another ideal, adjusted, BMI
            p["height"] = f"{draw(st.integers(120, 215))} cm"
        elif change == "age":
            p["age"] = draw(st.integers(2, 95))
        elif change == "sex":
            p["sex"] = "male" if p.get("sex") == "female" else "female"
            p.pop("pregnant", None)
        elif change == "meds":
            p["medications"] = [{"name": m} for m in draw(st.lists(st.sampled_from(MEDS),
                                                                  max_size=2, unique=True))]
        elif change == "error":
            p = RecordError("line 3: not JSON")
        out.append(p)
    return out


def general_line(j, number, data) -> str:
    """The general path's line: no remembered part at all (commands/batch._one)."""
    fast, fast_plan = j.fast, j.fast_plan
    j.fast = j.fast_plan = None
    try:
        return j.encode(j.record(number, data)) + "\n"
    finally:
        j.fast, j.fast_plan = fast, fast_plan


def single_patient_line(rid, opts, number, data) -> str | None:
    """The reference encoding of what `plan --format json`'s path computes for this patient,
    as a batch line (None when that path refuses the record or the plan)."""
    result = long_way(rid, opts, data)
    if result is None:
        return None
    record = {"line": number, "id": data.get("id") if isinstance(data.get("id"), str) else None,
              **batch_record(result)}
    return rbatch.reference(record) + "\n"


def check_cohort(j, rid, opts, people) -> None:
    for number, data in enumerate(people, 1):
        code, line = j.line(number, data, True)
        want = general_line(j, number, data)
        assert line == want.encode("utf-8", "backslashreplace"), (rid, opts, data)
        assert code == json.loads(want)["exit"]
        if not isinstance(data, RecordError) and json.loads(want).get("plan"):
            assert single_patient_line(rid, opts, number, data) == want
        assert j.line(number, data)[1] == want  # the text form too


@settings(max_examples=budget(80), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(REGIMENS), st.data())
def test_memoised_lines_are_the_general_and_single_patient_lines(rid, data):
    opts = data.draw(options(rid))
    j = job_or_none(rid, opts)
    if j is None:
        return
    check_cohort(j, rid, opts, data.draw(cohort()))
    # nothing remembered was computed past its declaration
    assert j.fast_plan.dosing.undeclared == 0
    assert j.fast.undeclared == 0 and j.fast.memo.undeclared == 0


def test_the_memos_hit_and_the_lines_stay_exact():
    """A cohort with repeats: the dosing is computed once per dosing weight, the sections once
    per dosing, the screen once per outcome; every line equals the general path's."""
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    people = [{"id": f"p{i}", "age": 30 + i % 40, "sex": ["female", "male"][i % 2],
               "weight": f"{60 + i % 3}.5 kg", "height": f"{160 + i % 7} cm",
               "blood_pressure": f"{120 + i % 5}/80", "heart_rate": 70,
               "medications": [{"name": "morphine"}] if i % 4 else []} for i in range(40)]
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert len(j.fast_plan.dosing.cache) == 3 and j.fast_plan.dosing.hits >= 37
    assert len(j.fast.sections) == 3
    assert len(j.fast.screens) <= 8  # blood pressures 120-124 say the same: not 40 screens


def test_a_read_past_the_declaration_is_computed_again_and_not_remembered():
    """The dosing memo runs the dosing on a weight with only the declared fields: declaring
    too few makes the dosing fail on the view, and the plan is computed on the whole weight
    (counted, not remembered), still exact."""
    from ketadose.plan import DosingMemo

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast_plan.dosing = DosingMemo(reads=("kg",))  # the gate reads actual_kg and basis too
    people = [{"id": "a", "age": 40, "weight": f"{kg} kg", "height": "170 cm", "sex": "male"}
              for kg in (70, 71, 72)]  # three weights: the dosing memo sees each (not weighed's)
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert j.fast_plan.dosing.undeclared >= 3 and not j.fast_plan.dosing.cache


def test_a_wrong_memo_key_is_caught():
    """The comparison above can fail: a dosing key without the dosing weight (with the basis
    ideal, two patients of 100 kg and different heights have different dosing weights), and a
    screen key that leaves out the interaction rules' outcome, each give a wrong line that
    check_cohort reports."""
    import pytest

    from ketadose.commands import plan_lines
    from ketadose.plan import DosingMemo

    opts = {"start": START, "weight_basis": "ideal"}
    people = [{"id": "a", "age": 40, "sex": "male", "weight": "100 kg", "height": h}
              for h in ("160 cm", "190 cm")]

    class NoActual(DosingMemo):
        """Keyed without ``kg``; the dosing still sees it."""

        def __call__(self, weight, args):
            key = (weight.actual_kg, weight.basis)
            if key not in self.cache:
                self.cache[key] = super().__call__(weight, args)
            return self.cache[key]

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", opts, TODAY)
    j.fast_plan.dosing = NoActual()
    with pytest.raises(AssertionError):
        check_cohort(j, "crps-schwartzman-2009", opts, people)

    # the screen: a key that ignores the interaction rules' outcome
    class Careless(plan_lines.PlanLines):
        def outcome(self, results):
            if results and results[0][1].id.startswith("KD-DDI"):
                self.__dict__.setdefault("ddi", super().outcome(results))
                return self.ddi  # every interaction outcome as the first one
            return super().outcome(results)

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast = Careless(j.fast_plan)
    people = [{"id": "m", "age": 40, "weight": "70 kg", "medications": meds}
              for meds in ([], [{"name": "oxycodone"}])]
    with pytest.raises(AssertionError):
        check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)


def test_memos_are_bounded_in_count_and_size():
    from ketadose.commands.plan_lines import PlanLines
    from ketadose.plan import DosingMemo

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast_plan.dosing = DosingMemo()
    j.fast_plan.dosing.SIZE = 5
    j.fast = PlanLines(j.fast_plan)
    j.fast.BUDGET = 60_000  # about three dosings' sections
    people = [{"id": f"p{i}", "age": 40, "weight": f"{50 + i} kg"} for i in range(12)]
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert len(j.fast_plan.dosing.cache) <= 5
    assert j.fast.kept_bytes[id(j.fast.sections)] <= 60_000 and len(j.fast.sections) <= 4
    assert j.fast.used <= 60_000 + j.fast.SCREENS + 2 * j.fast.FOUND


def test_a_cache_over_its_budget_leaves_the_dosings_sections(monkeypatch):
    """Screens and findings made anew that overflow their budgets empty their own caches only:
    the remembered dosing's sections are encoded once (with one budget for all they were
    encoded again after each overflow)."""
    from ketadose.commands.plan_lines import PlanLines

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast = PlanLines(j.fast_plan)
    j.fast.SCREENS = j.fast.FOUND = 1  # every screen and finding kept overflows its budget
    made = []
    encode = j.fast.dosing_sections
    monkeypatch.setattr(j.fast, "dosing_sections", lambda plan: made.append(1) or encode(plan))
    # one weight (one dosing), obese at 150 cm (a finding made anew, its message with the
    # numbers), blood pressures that fire and quote their values (new screens)
    people = [{"id": f"p{i}", "age": 40 + i, "sex": "female", "weight": "95 kg",
               "height": f"{150 + i} cm", "blood_pressure": f"{175 + i}/100"} for i in range(8)]
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert len(made) == 1 and len(j.fast.sections) == 1
    assert len(j.fast.screens) <= 1 and len(j.fast.by_value) <= 1


def test_a_patient_field_without_a_plain_default_is_refused_at_import():
    """Builder.patient fills left-out fields from plain defaults: a default_factory field would
    have put dataclasses' MISSING marker into a patient (review of 2026-11-26)."""
    from dataclasses import dataclass, field

    from ketadose.patient import Patient, plain_defaults

    assert plain_defaults(Patient)  # every field of the real Patient has one

    @dataclass(frozen=True)
    class WithFactory:
        a: int = 0
        b: list = field(default_factory=list)

    with pytest.raises(TypeError, match="WithFactory.b needs a plain default"):
        plain_defaults(WithFactory)


@settings(max_examples=budget(1000), deadline=None)
@given(st.one_of(st.none(), st.floats(), st.floats(-1e-3, 1e-3), st.integers(-10**20, 10**20),
                 st.floats(-1e14, 1e14), st.floats(0, 400), st.integers(0, 40000).map(
                     lambda n: n / 200), st.integers(-10**6, 10**6).map(lambda n: n / 1000 + 5e-4),
                 st.booleans(), st.sampled_from([0.005, 0.015, 1e-5, 2.675, -0.0, 1e16, 1e22,
                                                 9999999999999.995, 1e13, -1e13, 0.05, 0.25])),
       st.sampled_from([1, 2]))
def test_a_number_of_the_patient_section_is_written_as_the_reference_writes_it(x, nd):
    """plan_lines._number (the plan's patient section, written without a dict) against the
    reference encoding of render.numbers.machine: the same text, or the general path."""
    from ketadose.commands.plan_lines import _number, _Otherwise
    from ketadose.render.numbers import machine

    try:
        text = _number(x, nd)
    except _Otherwise:  # the general path: the reference refuses it or it is no float or int
        value = machine(x, nd)
        assert value.__class__ not in (float, int) or value - value != 0
        return
    assert text == rbatch.reference(machine(x, nd))


_NUMBERS_JOB: list = []


@settings(max_examples=budget(1000), deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(), st.integers(-10**6, 10**6), st.booleans(),
                          st.floats(0, 400), st.sampled_from([0.0, -0.0, 0, 1, 1.0, True, 70,
                                                              70.0, 2.675, 1e16, 1e-5])),
                max_size=20),
       st.sampled_from([1, 2]))
def test_a_remembered_number_is_the_number_written_anew(xs, nd):
    """PlanLines.number (the patient section's numbers remembered by value) against _number on
    the spot, one job across examples so that remembered texts meet values equal to them in
    Python (0.0 and -0.0, 70 and 70.0 and True): the same text or the same refusal. Fails when
    the memo keeps 0.0 (then -0.0 is written 0.0) or an int (tried)."""
    from ketadose.commands.plan_lines import _number, _Otherwise

    if not _NUMBERS_JOB:
        _NUMBERS_JOB.append(cbatch.make_job("plan", (), "crps-schwartzman-2009",
                                            {"start": START}, TODAY))
    lines = _NUMBERS_JOB[0].fast
    for x in xs + xs[::-1]:
        try:
            expected = _number(x, nd)
        except _Otherwise:
            with pytest.raises(_Otherwise):
                lines.number(x, nd)
            continue
        assert lines.number(x, nd) == expected, (x, nd)


def test_a_declared_view_reads_the_declared_fields_only():
    """plan.Declared and screen._View (their own __getattribute__): a declared field is the
    wrapped object's, an undeclared one raises Undeclared, even when the object has it; their
    own attributes are theirs. No declared name is one of their own attributes (a declared
    name is looked up on the wrapped object first)."""
    from ketadose import gate, screen
    from ketadose.commands.plan_lines import PlanLines
    from ketadose.plan import Declared, Undeclared
    from ketadose.render.documents.plan import DOSING_SECTIONS_READS
    from ketadose.rules import screening_parts, screening_reads

    class Of:
        sex = "female"

        def __init__(self):
            self.kg, self.basis, self.age = 70.0, "actual", 40

        def weight_kg(self):
            return self.kg

    view = Declared(Of(), ("kg", "basis", "weight_kg", "height_cm"))
    assert (view.kg, view.basis, view.weight_kg()) == (70.0, "actual", 70.0)
    assert view.__class__ is Declared
    for name in ("age", "sex", "missing", "height_cm"):  # height_cm: declared, not there
        with pytest.raises(Undeclared, match=repr(name)):
            getattr(view, name)
    for names in (gate.DOSING_WEIGHT_READS, DOSING_SECTIONS_READS, PlanLines.WEIGHT_READS):
        assert not set(names) & set(dir(Declared))
    patient = build({"age": 40, "sex": "female"}, vocabulary(), TODAY)[0]
    seen = screen._View(patient, frozenset({"sex"}))
    assert seen.sex == "female" and seen.__class__ is screen._View
    with pytest.raises(screen.Undeclared):
        _ = seen.age
    reads = {name for declared in screening_reads().values() for name in declared}
    reads |= {name for parts in screening_parts().values() for _p, declared in parts
              for name in declared}
    assert reads and not reads & set(dir(screen._View))


@settings(max_examples=budget(300), deadline=None)
@given(st.one_of(st.text(), st.text(st.characters(max_codepoint=0x7f)),
                 st.sampled_from(["p1", "a\"b", "a\\b", "\x7f", "\x85", "é\u200e", "\ud800",
                                  "\t", "\u2028", ""])))
def test_an_id_is_written_as_the_reference_writes_it(text):
    """PlanLines.text_json: the reference's JSON of the id, or None (the general path) when
    json_safe escapes a character of it or orjson refuses it."""
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    got = j.fast.text_json(text)
    want = rbatch.reference(text)
    if got is None:
        import orjson

        try:
            assert want != orjson.dumps(text).decode()  # escaped by json_safe
        except TypeError:  # a lone surrogate: orjson refuses it
            pass
        return
    assert got == want.encode()


def test_the_fast_dosing_weight_is_the_dataclass():
    """dosing._weight (DosingWeight without its __init__) makes the object DosingWeight(...)
    makes: every field, in order, and nothing else (a new field makes this fail)."""
    from dataclasses import astuple, fields

    from ketadose.dosing import DosingWeight, _weight

    values = (70.0, "ideal", 80.5, 65.1, 71.3, 27.8, 170.0, "--weight-basis", "a note", ("w",))
    made = _weight(*values)
    assert made == DosingWeight(*values) and astuple(made) == values
    assert list(vars(made)) == [f.name for f in fields(DosingWeight)]
    assert repr(made) == repr(DosingWeight(*values))


def test_a_wrong_part_of_the_line_is_caught(monkeypatch):
    """The comparisons above can fail on the parts a line is put together from: a weight
    written to one decimal, and the screen and the concentration's places swapped, each give a
    wrong line that check_cohort reports."""
    from ketadose.commands import plan_lines

    people = [{"id": "w", "age": 40, "sex": "male", "weight": "70.25 kg", "height": "181 cm"}]
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    with monkeypatch.context() as m:
        m.setattr(plan_lines, "_number", lambda x, nd: "null" if x is None else repr(round(x, 1)))
        with pytest.raises(AssertionError):
            check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    pieces = list(j.fast.pieces)
    pieces[3], pieces[5] = pieces[5], pieces[3]
    j.fast.pieces = tuple(pieces)
    with pytest.raises(AssertionError):
        check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)  # unbroken: exact


def test_every_kind_of_block_is_the_general_paths_line():
    """A plan the gate refuses, by the dosing's verdict (below the pump's step at 50 mg/mL, a
    hard limit per kg), by the plausibility guard (an adult of 25 kg; confirmed with
    --override it is an info finding) or a regimen that refuses the weight, is written by the
    general path (exit 1, no plan); next to it the same cohort's plans. Each fails when the
    line's blocked test leaves out the dosing's or the patient's findings (both tried)."""
    from ketadose.units import parse_quantity

    people = [{"id": f"b{kg}", "age": age, "sex": "male", "weight": f"{kg} kg",
               "height": "180 cm"} for kg, age in ((70, 40), (25, 40), (25, 12), (210, 50),
                                                   (71.5, 66))]
    cases = [("crps-schwartzman-2009", {"start": START, "concentration":
                                        parse_quantity("50 mg/mL")}),
             ("crps-schwartzman-2009", {"start": START}),
             ("crps-schwartzman-2009", {"start": START, "override": "weighed twice"}),
             ("consensus-cohen-2018", {"start": START}), ("sci-amr-2010", {"start": START})]
    exits = set()
    for rid, opts in cases:
        j = cbatch.make_job("plan", (), rid, opts, TODAY)
        check_cohort(j, rid, opts, people)
        exits |= {j.line(n, p)[0] for n, p in enumerate(people, 1)}
    assert exits == {0, 1}


@st.composite
def findings(draw):
    """Findings that differ in one field or another (the message most often), with texts
    json_safe escapes and long ones (the card's summary is cut)."""
    from ketadose.findings import Finding

    text = st.sampled_from(["BMI 31.2 (obese): actual 98.0 kg; dosing on actual weight",
                            "short", "x" * 150 + "; and more", "a\u200eb", "é; \x85", ""])
    return Finding(draw(st.sampled_from(["KD-DOSE-001", "KD-GATE-004"])),
                   draw(st.sampled_from(["warning", "error", "info"])),
                   draw(st.one_of(text, st.text(max_size=30))),
                   draw(st.sampled_from(["Erstad BL 2020, PMID 32513237", "a source", ""])),
                   where=draw(st.sampled_from([None, "f.yaml:3:4", "odd"])),
                   unverified=draw(st.sampled_from([None, "E"])),
                   title=draw(st.sampled_from(["", "Obesity: dosing weight", "Body\u2028measures"])))


_lines_job: list = []


@settings(max_examples=budget(200), deadline=None)
@given(st.lists(findings(), min_size=1, max_size=6))
def test_a_finding_made_for_a_patient_is_encoded_as_the_reference_encodes_it(made):
    """PlanLines.found_anew (the per-patient findings, from templates of the findings that
    differ in the message alone) against the reference encoding of the warning and the card,
    with one PlanLines across examples. Fails when the template's key leaves a field out
    (test_a_finding_template_key_without_a_field_is_caught)."""
    from ketadose.render.documents.plan import warning_data
    from ketadose.render.explain import cards

    if not _lines_job:
        _lines_job.append(cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START},
                                          TODAY))
    lines = _lines_job[0].fast
    for f in made:
        assert lines.found_anew(f) == (rbatch.reference_bytes(warning_data(f)),
                                       rbatch.reference_bytes(cards([f])[0]),
                                       f.severity == "error")


def test_a_finding_template_key_without_a_field_is_caught(monkeypatch):
    import operator

    from ketadose.commands import plan_lines
    from ketadose.findings import Finding

    monkeypatch.setattr(plan_lines, "_ALL_BUT_MESSAGE", operator.attrgetter("rule", "title"))
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    from ketadose.render.documents.plan import warning_data

    a, b = (Finding("KD-DOSE-001", "warning", "m", source) for source in ("one", "two"))
    j.fast.found_anew(a)
    assert j.fast.found_anew(b)[0] != rbatch.reference_bytes(warning_data(b))


def test_the_weight_memo_keys_on_the_weight_height_and_sex():
    """PlanLines.weighed keeps a patient's dosing weight, dosing, weight findings and patient
    section by the weight and height objects and the sex: a key without the height gives a
    wrong line that check_cohort reports; declaring too few reads computes the weight on the
    whole patient (counted, not kept), still exact; a repeat hits."""
    from ketadose.commands import plan_lines

    people = [{"id": "h", "age": 40, "sex": "male", "weight": "100 kg", "height": h}
              for h in ("160 cm", "190 cm", "160 cm")]
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert len(j.fast.weights) == 2 and j.fast.undeclared == 0

    class Careless(plan_lines.PlanLines):
        def weighed(self, patient):
            by_weight = self.__dict__.setdefault("by_weight", {})
            if id(patient.weight) not in by_weight:
                by_weight[id(patient.weight)] = super().weighed(patient)
            return by_weight[id(patient.weight)]

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast = Careless(j.fast_plan)
    with pytest.raises(AssertionError):
        check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast.WEIGHT_READS = ("weight_kg",)  # dosing_weight reads the height and sex too
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert j.fast.undeclared >= 3 and not j.fast.weights


def test_the_dosing_memo_key_tells_every_read_apart():
    """The real DosingMemo key (plan._weight_key) through the batch: one actual weight with
    two heights under --weight-basis ideal (two dosing weights), and 70 against 70.0 kg. A key
    without the dosing weight makes check_cohort fail (tried)."""
    opts = {"start": START, "weight_basis": "ideal"}
    people = [{"id": "k", "age": 40, "sex": "male", "weight": "100 kg", "height": h}
              for h in ("160 cm", "190 cm", "175 cm")]
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", opts, TODAY)
    check_cohort(j, "crps-schwartzman-2009", opts, people)
    assert len(j.fast_plan.dosing.cache) == 3
    people = [{"id": "k", "age": 40, "sex": "male", "weight": w, "height": "175 cm"}
              for w in ("70 kg", "70.0 kg", "70.00 kg")]
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)


def test_the_weight_memo_switched_off_is_exact():
    """After 4,096 misses with few hits PlanLines.weighed stops keeping (a 0.1-kg cohort):
    the same lines without it."""
    people = [{"id": f"s{i}", "age": 30 + i, "sex": "female", "weight": f"{60 + i / 10} kg",
               "height": "165 cm"} for i in range(4)] * 2
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast.weighing = False
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert not j.fast.weights
    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    j.fast.weight_misses = 4095  # the next miss decides: no hit so far, the memo stops
    check_cohort(j, "crps-schwartzman-2009", {"start": START}, people)
    assert not j.fast.weighing and not j.fast.weights


_FROZEN_BEFORE = """
import gc
from ketadose.commands import batch
gc.unfreeze()  # CPython 3.12 starts with objects of its own frozen: first, from none
collector = batch._Collector()
assert gc.get_freeze_count() > 0
collector.restore()
assert gc.get_freeze_count() == 0, "restore() left frozen what the batch froze"
gc.freeze()  # then, as a program using the API that froze its own
before = gc.get_freeze_count()
batch._Collector().restore()
assert gc.get_freeze_count() == before, "restore() unfroze what was frozen before the batch"
print("ok")
"""


def test_the_collector_leaves_what_was_frozen_before_it_frozen():
    """CPython 3.12 starts with 375 objects of its own frozen (3.11 and 3.13 with none), and a
    program using the API may freeze its own: a batch must not unfreeze them afterwards
    (gc.unfreeze() unfreezes everything). In a process of its own: this test, run in the
    suite's, froze everything alive (some 265,000 objects) and could not unfreeze it on 3.12
    without unfreezing CPython's own, which broke the freeze count of later tests."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", _FROZEN_BEFORE], capture_output=True, text=True,
                       timeout=120, check=False)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr


def test_a_plan_batch_makes_no_garbage_cycles_and_the_collector_is_set_back():
    """commands.batch._Collector collects the youngest generation less often during a batch:
    that costs nothing only while a batch's records leave no cycles for the collector (here:
    varied records, errors and unreadable lines, whole-path and general-path lines); and the
    process's collector is as it was after the batch."""
    import gc

    j = cbatch.make_job("plan", (), "crps-schwartzman-2009", {"start": START}, TODAY)
    people = [{"id": f"p{i}", "age": 30 + i, "sex": "female", "weight": f"{60 + i} kg",
               "height": "165 cm", "medications": [{"name": "morphine"}]} for i in range(20)]
    people += [{"weight": "heavy"}, {"shoe_size": 1}, RecordError("line 3: not JSON"),
               {"age": 3, "weight": "90 kg"}, {"age": 40, "weight": "70 kg", "height": "90 cm"}]
    old, frozen = gc.get_threshold(), gc.get_freeze_count()
    collector = cbatch._Collector()
    try:
        assert gc.get_threshold()[0] >= cbatch._Collector.GEN0
        gc.collect()
        gc.disable()
        for number, data in enumerate(people * 3, 1):
            j.line(number, data, True)
        assert gc.collect() == 0
    finally:
        gc.enable()
        collector.restore()
    # Frozen or not as before: not the same count, which falls as frozen objects die (the
    # suite's other tests leave objects alive that may die here)
    assert gc.get_threshold() == old and (gc.get_freeze_count() > 0) == (frozen > 0)
