"""Behaviour exactly at the edges: a value equal to a limit, a height of exactly 5 ft, a BMI of
exactly 30, a pump rate exactly at its cap. Off-by-one slips live here."""

import pytest
import yaml

from ketadose.dosing import Step, _capped, _titration_max, dosing_weight, pump_rate, weight_findings
from ketadose.errors import KetadoseError
from ketadose.io.library import data_text, limit_library, thresholds, vocabulary
from ketadose.io.regimens import load_regimen
from ketadose.limits import _TOL, LimitContext, above, at_or_above, check, library_from_data
from ketadose.patient import build
from ketadose.units import parse_quantity


def ctx(**kw):
    return LimitContext(kw.get("drug", "racemic-ketamine"), kw.get("route", "iv"),
                   kw.get("setting", "monitored-outpatient"), kw.get("confirmed", {}))


# --- limits ------------------------------------------------------------------------------

def test_tolerance_band_counts_as_equal():
    # Within 1e-9 (relative) of a bound is the bound itself: not above it, and at it.
    assert not above(40 + 40 * _TOL, 40) and above(40 + 80 * _TOL, 40)
    assert at_or_above(40 - 40 * _TOL, 40) and not at_or_above(40 - 80 * _TOL, 40)


def test_a_value_equal_to_a_limit_is_within_it():
    lib = limit_library()
    assert check(lib, ctx(), "rate", parse_quantity("25 mg/h"), "r") == []  # = soft
    [f] = check(lib, ctx(), "rate", parse_quantity("40 mg/h"), "r")         # = hard, exclusive
    assert f.severity == "warning"


def test_soft_warning_keeps_its_path():
    [f] = check(limit_library(), ctx(), "rate", parse_quantity("30 mg/h"), "r", path=("phases", 2))
    assert (f.severity, f.path) == ("warning", ("phases", 2))


def test_a_setting_without_its_own_note_keeps_the_limit_unverified_note():
    lim = limit_library().by_id("KD-LIM-102")
    assert lim.unverified and "unverified" not in lim.settings["icu"]
    assert lim.bounds("icu")[3] == lim.unverified


def test_duplicate_ids_are_refused_with_a_plain_message():
    raw = yaml.safe_load(data_text("limits.yaml"))
    raw["limits"].append(dict(raw["limits"][1]))
    with pytest.raises(ValueError) as info:
        library_from_data(raw)
    assert str(info.value) == "duplicate limit id in the library"


def test_unit_hint_is_offered_only_within_the_soft_limit():
    lib = limit_library()
    session = lib.by_id("KD-LIM-004")  # soft 200 mg, hard 960 mg
    assert (session.soft, session.hard, session.unit) == (200, 960, "mg")
    # 500000 mcg = 500 mg: under the hard limit but over the soft one, so not a plausible reading
    [f] = check(lib, ctx(), session.measure, parse_quantity("500000 mg"), "session")
    assert f.rule == "KD-LIM-004" and "likely unit error" not in f.message
    [g] = check(lib, ctx(), session.measure, parse_quantity("150000 mg"), "session")
    assert g.message.endswith("likely unit error? 150000 mcg would be 150 mg")


# --- dosing weight -----------------------------------------------------------------------

def _weight(basis=None, rid="crps-schwartzman-2009", **patient):
    _src, regimen, _ = load_regimen(rid)
    person, _ = build(patient, vocabulary())
    return dosing_weight(regimen, person, basis)


def test_missing_weight_and_height_are_refused_word_for_word():
    with pytest.raises(KetadoseError) as info:
        _weight()
    assert info.value.message == ("crps-schwartzman-2009 doses per kg: the patient's weight is "
                                  "required (--weight or weight: in the patient file)")
    for basis in ("ideal", "adjusted"):
        with pytest.raises(KetadoseError) as info:
            _weight(basis, weight="70 kg", sex="female")
        assert info.value.message == (f"weight basis {basis!r} needs the patient's height and sex "
                                      "(--height, --sex); there is no default")


def test_height_or_sex_alone_gives_no_ideal_weight():
    only_sex = _weight(weight="70 kg", sex="male")
    assert (only_sex.ideal_kg, only_sex.adjusted_kg, only_sex.bmi) == (None, None, None)
    only_height = _weight(weight="70 kg", height="175 cm")
    assert only_height.ideal_kg is None and only_height.bmi == pytest.approx(70 / 1.75 ** 2)
    assert only_height.note is None and only_height.kg == 70.0


def test_exactly_five_feet_and_ideal_equal_to_actual():
    # Devine at exactly 60 in gives the base weight; adjusted = actual = ideal: no note at all.
    w = _weight("adjusted", weight="45.5 kg", height="152.4 cm", sex="female")
    assert w.ideal_kg == pytest.approx(45.5) and w.kg == pytest.approx(45.5)
    assert w.note is None and weight_findings(w) == []
    assert w.derivation[-1].expression == "adjusted weight (basis from the --weight-basis)"


def test_just_above_five_feet_has_no_devine_note():
    w = _weight("ideal", weight="80 kg", height="153 cm", sex="female")
    assert w.note is None


def test_below_five_feet_ideal_weight_is_refused_and_at_five_feet_it_is_defined():
    from ketadose.errors import KetadoseError

    with pytest.raises(KetadoseError) as err:
        _weight("ideal", weight="80 kg", height="150 cm", sex="male")
    assert err.value.message == (
        "weight basis 'ideal' (from the --weight-basis): the ideal-weight formula (Devine) is not "
        "defined below 152.4 cm (5 ft) and the patient is 150 cm; use --weight-basis actual")
    w = _weight("ideal", weight="80 kg", height="152.4 cm", sex="male")
    assert w.kg == pytest.approx(50.0) and w.note is None
    assert w.derivation[-1].expression == "ideal weight (basis from the --weight-basis)"
    # on actual weight the height does not matter; ideal weight is not shown below 5 ft
    a = _weight("actual", weight="80 kg", height="150 cm", sex="male")
    assert a.kg == 80 and a.ideal_kg is None and a.adjusted_kg is None


def test_bmi_of_exactly_30_is_obese():
    from ketadose.dosing import DosingWeight
    at_30 = DosingWeight(75.0, "actual", 75.0, 50.7, 60.4, 30.0, 158.1, "regimen")
    [f] = weight_findings(at_30)
    assert f.message == ("BMI 30.0 (obese): actual 75.0 kg, ideal 50.7 kg, adjusted 60.4 kg; "
                         "dosing on actual weight (consider ideal or adjusted weight; no "
                         "chronic-pain-specific guidance exists)")
    on_ideal = DosingWeight(50.7, "ideal", 75.0, 50.7, 60.4, 30.9, 158.1, "regimen")
    assert weight_findings(on_ideal)[0].message.endswith("; dosing on ideal weight")
    assert weight_findings(DosingWeight(75.0, "actual", 75.0, 50.7, 60.4, 29.99, 158.1, "x")) == []
    w = _weight(weight="94 kg", height="175 cm", sex="male")  # BMI 30.7
    assert [f.rule for f in weight_findings(w)] == ["KD-DOSE-001"]
    assert weight_findings(w)[0].message.startswith("BMI 30.7 (obese): actual 94.0 kg, ideal 70.5 kg")


def test_obesity_message_on_a_fixed_dose_regimen_names_no_internal_basis():
    """A regimen of fixed doses (mg, or a topical strength; not per kg) has no dosing weight: the
    message says so in words, not the internal basis name ("dosing on not-needed weight" was
    shown to clinicians)."""
    from ketadose.dosing import DosingWeight
    fixed = DosingWeight(None, "not-needed", 125.0, 79.5, 97.7, 36.5, 185.0, "regimen")
    [f] = weight_findings(fixed)
    assert f.message == ("BMI 36.5 (obese): actual 125.0 kg, ideal 79.5 kg, adjusted 97.7 kg; "
                         "no dosing weight: doses are fixed, not per kg")
    assert "not-needed" not in f.message and "not_needed" not in f.message


def test_obesity_without_height_based_weights_says_n_a():
    from ketadose.dosing import DosingWeight
    [f] = weight_findings(DosingWeight(100.0, "actual", 100.0, None, None, 31.0, None, "regimen"))
    assert "ideal n/a, adjusted n/a" in f.message


# --- pumps, caps and staircases ----------------------------------------------------------

def test_pump_rate_exactly_at_the_cap_is_not_rounded_down():
    pump = pump_rate(25.0, 1.0, 25.0)
    assert (pump.ml_h, pump.rounded_down) == (25.0, False)
    why = []
    low = pump_rate(24.96, 1.0, 24.96, why)
    assert (low.ml_h, low.rounded_down) == (24.9, True)
    assert why[0].expression == ("24.96 mg/h / 1 mg/mL = 24.96 mL/h, rounded down (never above "
                                 "the rate asked) to the pump's 0.1 mL/h")
    assert why[1].expression == "24.9 mL/h x 1 mg/mL (-0.06 mg/h, -0.24% from rounding)"
    why = []
    pump_rate(24.94, 1.0, None, why)
    assert why[0].expression == "24.94 mg/h / 1 mg/mL = 24.94 mL/h, rounded to the pump's 0.1 mL/h"
    # rounding down keeps an exact tenth: 2.5 mL/h stays 2.5, not 2.4
    assert pump_rate(2.5, 1.0, 2.5 * (1 - 1e-13)).ml_h == 2.5


def test_a_rate_equal_to_its_cap_does_not_bind():
    why = []
    assert _capped(20.0, 20.0, why, "s") == (20.0, False) and why == []
    assert _capped(20.5, 20.0, why, "s") == (20.0, True) and len(why) == 1


def test_untimed_staircase_counts_the_maximum_throughout():
    nan = float("nan")
    steps = [Step(0.0, 2.0, "2", None), Step(nan, 5.0, "5", None), Step(nan, 9.0, "9", None)]
    assert _titration_max(steps, 10.0) == 90.0
    timed = [Step(0.0, 2.0, "2", None), Step(4.0, 5.0, "5", None), Step(12.0, 9.0, "9", None)]
    assert _titration_max(timed, 10.0) == 2.0 * 4 + 5.0 * 6  # the last step is never reached


def test_screen_records_every_rule_with_its_outcome():
    from ketadose.rules import screening_rules
    from ketadose.screen import Context as ScreenContext
    from ketadose.screen import run

    _src, regimen, _ = load_regimen("crps-schwartzman-2009")
    person, _ = build({"weight": "70 kg"}, vocabulary())  # nothing else was asked
    screen = run(person, ScreenContext(regimen, thresholds=thresholds()), screening_rules())
    statuses = dict(screen.evaluated)
    assert set(statuses) == {r.id for r in screening_rules()}
    assert set(statuses.values()) <= {"fired", "not fired", "not assessed"}
    assert statuses["KD-CI-001"] == "not assessed" and screen.status == "incomplete"
    # a rule may ask more than one question (KD-CI-007: pregnancy and conditions)
    assert list(dict.fromkeys(rid for rid, _q in screen.not_assessed)) == [
        rid for rid, status in screen.evaluated if status == "not assessed"]


def test_findings_name_every_medicine_and_carry_their_title():
    from ketadose.rules import screening_rules
    from ketadose.screen import Context as ScreenContext
    from ketadose.screen import run

    _src, regimen, _ = load_regimen("crps-schwartzman-2009")
    person, _ = build({"weight": "70 kg", "allergies": ["ketamine"],
                       "medications": [{"name": "morphine", "dose": "60 mg/day"},
                                       {"name": "oxycodone", "dose": "20 mg/day"}]}, vocabulary())
    screen = run(person, ScreenContext(regimen, thresholds=thresholds()), screening_rules())
    by_rule = {f.rule: f for f in screen.findings}
    assert by_rule["KD-CI-001"].title == "Ketamine hypersensitivity"
    assert by_rule["KD-DDI-003"].title == "Opioid co-medication"
    assert by_rule["KD-DDI-003"].message.startswith("morphine, oxycodone")
