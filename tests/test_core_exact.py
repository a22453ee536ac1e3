"""Exact behaviour of the safety core's small functions (written to kill mutants that the
scenario tests let survive: rounding ties, flags, defaults, library fields)."""

import math

import pytest
import yaml

from ketadose.dosing import pump_rate
from ketadose.errors import KetadoseError, UnitError
from ketadose.io.library import data_text, limit_library
from ketadose.limits import LimitContext, check, library_from_data
from ketadose.units import parse_quantity


def test_per_kg_amount_over_time_gives_a_per_kg_rate():
    q = parse_quantity("2 mg/kg over 4 h")
    rate = q.rate()
    assert rate.unit.symbol == "mg/kg/h" and rate.value == 0.5 and rate.unit.per_kg
    assert parse_quantity("80 mg over 5 h").rate().unit.symbol == "mg/h"


@pytest.mark.parametrize("mg_h, conc, ceiling, ml_h, down", [
    (24.95, 1.0, None, 24.9, True),    # never above the rate asked: the nearest (25.0) is above
    (24.94, 1.0, None, 24.9, False),
    (24.96, 1.0, 30.0, 24.9, True),    # a ceiling above the rate asked changes nothing
    (24.96, 1.0, 24.96, 24.9, True),   # rounding up would exceed it: rounded down
    (24.96, 1.0, 24.85, 24.8, True),   # a ceiling below the rate asked lowers it
    (0.35 * 50, 50.0, None, 0.3, True),  # Schwartzman at 50 kg and 50 mg/mL: 0.35 -> 0.3 mL/h
    (0.04, 1.0, None, 0.0, False),     # below one step: 0 mL/h (the gate refuses it)
    (25.0, 1.0, 25.0, 25.0, False),    # exactly at the ceiling is allowed
    (16.0, 0.16, None, 100.0, False),
])
def test_pump_rounding_exactly(mg_h, conc, ceiling, ml_h, down):
    pump = pump_rate(mg_h, conc, ceiling)
    assert pump.ml_h == ml_h and pump.rounded_down is down
    assert math.isclose(pump.ml_h_exact, mg_h / conc)
    assert math.isclose(pump.mg_h_delivered, ml_h * conc)
    assert pump.mg_h == mg_h and pump.mg_h_delivered <= mg_h


def test_limit_library_fields_are_read_exactly():
    lib = library_from_data(yaml.safe_load(data_text("limits.yaml")))  # not the cached one
    l1 = lib.by_id("KD-LIM-001")
    assert (l1.soft, l1.hard, l1.unit, l1.drug, l1.routes, l1.measure) == (
        0.5, 1.0, "mg/kg/h", "racemic-ketamine", ("iv",), "rate_per_kg")
    assert l1.bounds("icu")[:2] == (2.0, 7.0) and l1.bounds("home")[:2] == (0.5, 1.0)
    # the ICU lift needs the regimen's confirm of that limit
    assert l1.bounds("icu", {})[:2] == (0.5, 1.0)
    assert l1.bounds("icu", {"KD-LIM-001": "ICU protocol"})[:2] == (2.0, 7.0)
    assert not l1.hard_inclusive and l1.unverified is None
    assert "  " not in l1.source and "\n" not in l1.source
    assert lib.by_id("KD-LIM-003").hard_inclusive
    assert lib.by_id("KD-LIM-007").routes == ("iv", "sc")
    assert lib.by_id("KD-LIM-007").bounds("inpatient")[:2] == (5, 14)
    assert "7.2 mcg/kg/min" in lib.by_id("KD-LIM-101").unverified
    assert lib.by_id("KD-LIM-101").bounds("icu")[3].startswith("ICU values")
    assert lib.by_id("KD-LIM-020").hard is None
    assert lib.by_id("KD-LIM-999") is None
    assert lib.version == yaml.safe_load(data_text("limits.yaml"))["version"]
    assert [x.id for x in lib.find("esketamine", "iv", "rate")] == ["KD-LIM-102"]
    assert {x.id for x in lib.find("racemic-ketamine", "iv", "concentration")} == {
        "KD-LIM-006", "KD-LIM-016"}
    assert lib.by_id("KD-LIM-016").direction == "min" and lib.by_id("KD-LIM-016").kind == "guard"
    assert lib.find("racemic-ketamine", "oral", "rate") == []


def test_library_refuses_duplicates_and_bad_units():
    raw = yaml.safe_load(data_text("limits.yaml"))
    raw["limits"].append(dict(raw["limits"][0]))
    with pytest.raises(ValueError):
        library_from_data(raw)
    raw = yaml.safe_load(data_text("limits.yaml"))
    raw["limits"][0]["unit"] = "mg/fortnight"
    with pytest.raises(UnitError):
        library_from_data(raw)


def ctx(**kw):
    return LimitContext(kw.get("drug", "racemic-ketamine"), kw.get("route", "iv"),
                   kw.get("setting", "monitored-outpatient"), kw.get("confirmed", {}))


def test_unit_hints_exactly():
    [f] = check(limit_library(), ctx(), "rate_per_kg", parse_quantity("22.2 mg/kg/h"), "rate")
    assert f.message.endswith("likely unit error? 22.2 mg/h per 70 kg would be 0.317 mg/kg/h; "
                              "or 22.2 mcg/kg/h would be 0.022 mg/kg/h")
    [g] = check(limit_library(), ctx(), "rate", parse_quantity("900 mg/h"), "rate")
    assert "900 mcg/h would be 0.9 mg/h" in g.message and "per 70 kg" not in g.message
    [h] = check(limit_library(), ctx(), "rate", parse_quantity("50000 mg/h"), "rate")
    assert "likely unit error" not in h.message  # 50000 mcg/h = 50 mg/h: still above the soft limit
    [k] = check(limit_library(), ctx(), "rate_per_kg", parse_quantity("0.02 mg/kg/min"), "rate")
    assert "0.02 mg/kg/h would be 0.02 mg/kg/h" in k.message


def test_limit_consulted_records_every_comparison():
    consulted = []
    check(limit_library(), ctx(), "rate", parse_quantity("30 mg/h"), "rate", consulted=consulted)
    [c] = consulted
    assert (c["rule"], c["value"], c["soft"], c["hard"], c["outcome"]) == ("KD-LIM-002", 30, 25, 40,
                                                                            "warning")


def _plan(rid, weight="100 kg", conc=None):
    from ketadose.io.library import vocabulary
    from ketadose.io.regimens import load_regimen
    from ketadose.patient import build
    from ketadose.plan import make_plan

    _src, regimen, findings = load_regimen(rid)
    patient, _ = build({"weight": weight, "height": "175 cm", "sex": "male"}, vocabulary())
    return make_plan(regimen, patient, limit_library(),
                     concentration=parse_quantity(conc) if conc else None, regimen_findings=findings)


def _rows(phase):
    return [(w.what, w.value if w.value is None else round(w.value, 6), w.unit) for w in phase.derivation]


def test_derivation_of_a_capped_rate_exactly():
    [ph] = _plan("crps-schwartzman-2009", conc="0.16 mg/mL").phases
    # the dose is what the pump delivers at its programmed rate (24.992 mg/h), not 25 mg/h
    assert _rows(ph) == [("rate", 35.0, "mg/h"), ("capped", 25.0, "mg/h"),
                         ("pump rate", 156.2, "mL/h"), ("delivered", 24.992, "mg/h"),
                         ("dose in this phase", 99.968, "mg")]
    assert ph.pump.rounded_down and ph.pump.ml_h == 156.2  # 156.3 mL/h would give 25.008 mg/h
    assert "rounded down (never above the rate asked)" in ph.derivation[2].expression
    assert ph.derivation[0].expression == "0.35 mg/kg/h x 100 kg dosing weight"
    assert "PMID 19783371" in ph.derivation[0].source and "PMID 19783371" in ph.derivation[1].source
    assert ph.derivation[3].expression == "156.2 mL/h x 0.16 mg/mL (-0.008 mg/h, -0.03% from rounding)"
    assert ph.derivation[4].expression == ("delivered at 156.2 mL/h x 0.16 mg/mL = 24.99 mg/h; "
                                           "24.99 mg/h x 4 h")
    assert ph.dose_mg_max == pytest.approx(99.968)


def test_derivation_of_fixed_and_converted_rates_exactly():
    [ph] = _plan("sci-amr-2010").phases
    assert _rows(ph)[:2] == [("rate from a fixed dose", 16.0, "mg/h"), ("pump rate", 100.0, "mL/h")]
    assert _rows(ph)[-1] == ("dose in this phase", 80.0, "mg")  # 100 mL/h x 0.16 mg/mL: exact
    assert ph.derivation[0].expression == "80 mg / 5 h"
    [burst1, _b2, _b3] = _plan("cancer-pain-burst-ketamine").phases
    assert _rows(burst1)[0] == ("step 1", round(100 / 24, 6), "mg/h")
    assert burst1.derivation[0].expression == "100 mg/24 h as written = 4.167 mg/h"
    [sig] = _plan("crps-sigtermans-2009", "70 kg").phases
    assert sig.derivation[0].expression == "1.2 mcg/kg/min (= 0.072 mg/kg/h) x 70 kg dosing weight"
    assert sig.unverified == {"max": sig.unverified["max"]} and "7.2" in sig.unverified["max"]
    [g] = _plan("crps-goldberg-2010").phases
    assert g.derivation[0].expression == "10 mg/h as written" and g.derivation[0].unit == "mg/h"


def test_prolonged_course_boundaries():
    from ketadose.io.library import thresholds
    from ketadose.io.regimens import load_regimen
    from ketadose.screen import Context as ScreenContext

    def screen_ctx(regimen):
        return ScreenContext(regimen, thresholds=thresholds())

    def ctx(rid):
        return screen_ctx(load_regimen(rid)[1])

    assert ctx("crps-sigtermans-2009").prolonged() is True  # 100 h continuous
    assert ctx("crps-schwartzman-2009").prolonged() is True  # 10 daily sessions
    assert ctx("consensus-cohen-2018").prolonged() is False  # one session
    assert ctx("cancer-pain-burst-ketamine").prolonged() is True  # 120 h at most
    assert screen_ctx(None).prolonged() is None
    import dataclasses
    r = load_regimen("sci-amr-2010")[1]
    assert screen_ctx(dataclasses.replace(r, days=3)).prolonged() is False
    assert screen_ctx(dataclasses.replace(r, days=4)).prolonged() is True
    cont = load_regimen("crps-sigtermans-2009")[1]
    p72 = dataclasses.replace(cont.phases[0], duration=parse_quantity("72 h"))
    assert screen_ctx(dataclasses.replace(cont, phases=(p72,))).prolonged() is False
    p73 = dataclasses.replace(cont.phases[0], duration=parse_quantity("73 h"))
    assert screen_ctx(dataclasses.replace(cont, phases=(p73,))).prolonged() is True


def test_phase_fields_exactly():
    bolus, infusion = _plan("consensus-cohen-2018", "70 kg", "1 mg/mL").phases
    assert bolus.bolus_mg == 24.5 and bolus.bolus_ml == 24.5 and bolus.cap_mg_h is None
    assert bolus.mg_h == pytest.approx(24.5 * 60) and bolus.dose_mg_min == 24.5
    assert infusion.start_h == pytest.approx(1 / 60) and infusion.cap_binds is False
    [oral] = _plan("oral-marchetti-2015", "70 kg", "10 mg/mL").phases
    # 0.5 mg/kg x 3 a day at the start; the top of the titration is 3 mg/kg/day = 210 mg a day
    assert (oral.per_dose_mg, oral.dose_mg_min, oral.dose_mg_max, oral.ml_per_dose) == (35, 105, 210, 3.5)
    assert oral.per_dose_mg_max == 70 and oral.written == "0.5 mg/kg up to 3 mg/kg/day"
    assert oral.times_per_day == 3 and not oral.cap_binds and "15-20 mg" in oral.criteria
    [sch] = _plan("crps-schwartzman-2009").phases
    assert sch.cap_mg_h == 25 and sch.cap_binds and sch.per_kg_h == 0.25 and sch.written == "0.35 mg/kg/h"
    [sig] = _plan("crps-sigtermans-2009", "70 kg").phases
    assert sig.cap_binds is False and sig.steps[-1].written == "7.2 mcg/kg/min"
    assert sig.steps[0].written == "1.2 mcg/kg/min" and sig.criteria.startswith("individualised")
    [heavy] = _plan("crps-sigtermans-2009", "100 kg").phases
    assert heavy.cap_binds and heavy.steps[-1].written == "7.2 mcg/kg/min lowered to the hard limit"
    s1, s2, s3 = _plan("cancer-pain-burst-ketamine").phases
    assert s1.criteria.startswith("start; if effective") and s2.criteria.startswith("pain not controlled")
    assert (s1.name, s3.name) == ("burst step 1", "burst step 3 and hold")
    assert (s1.start_h, s2.start_h, s3.start_h) == (0, 24, 48) and s3.duration_h == 72
    assert (s1.dose_mg_min, s2.dose_mg_min) == (pytest.approx(300), 0)
    [top] = _plan("topical-rabi-2016").phases
    assert top.strength == "10%" and top.applications_per_day == 3 and top.amount is None


def test_dosing_weight_and_findings_exactly():
    from ketadose.dosing import dosing_weight, weight_findings
    from ketadose.io.library import vocabulary
    from ketadose.io.regimens import load_regimen
    from ketadose.patient import build

    regimen = load_regimen("crps-schwartzman-2009")[1]
    patient, _ = build({"weight": "120 kg", "height": "170 cm", "sex": "male"}, vocabulary())
    w = dosing_weight(regimen, patient, "adjusted")
    ideal = 50 + 2.3 * (170 / 2.54 - 60)
    assert w.ideal_kg == pytest.approx(ideal) and w.adjusted_kg == pytest.approx(ideal + 0.4 * (120 - ideal))
    assert w.kg == w.adjusted_kg and w.basis == "adjusted" and w.origin == "--weight-basis"
    assert w.bmi == pytest.approx(120 / 1.7 ** 2) and w.height_cm == 170 and w.actual_kg == 120
    assert [d.what for d in w.derivation] == ["actual weight", "ideal weight (Devine)",
                                               "adjusted weight", "dosing weight"]
    assert w.derivation[-1].value == w.kg and w.derivation[1].unit == "kg"
    [f] = weight_findings(w)
    assert f.rule == "KD-DOSE-001" and f.severity == "warning"
    assert f.message.startswith("BMI 41.5 (obese): actual 120.0 kg, ideal 65.9 kg, adjusted 87.6 kg; "
                                "dosing on adjusted weight")
    a = dosing_weight(regimen, patient, None)
    assert a.basis == "actual" and a.kg == 120 and a.origin == "regimen"
    assert "consider ideal or adjusted weight" in weight_findings(a)[0].message
    thin, _ = build({"weight": "50 kg", "height": "190 cm", "sex": "female"}, vocabulary())
    t = dosing_weight(regimen, thin, "ideal")
    assert t.kg == 50 and "above the actual weight" in t.note
    [note] = weight_findings(t)
    assert note.rule == "KD-DOSE-002" and note.severity == "info"
    short, _ = build({"weight": "50 kg", "height": "150 cm", "sex": "female"}, vocabulary())
    with pytest.raises(KetadoseError, match="not defined below 152.4 cm"):
        dosing_weight(regimen, short, "ideal")
    assert weight_findings(dosing_weight(regimen, short, None)) == []
    fixed = dosing_weight(load_regimen("sci-amr-2010")[1], patient, None)
    assert fixed.kg is None and fixed.basis == "not-needed" and fixed.actual_kg == 120


def test_totals_and_calendar_exactly():
    plan = _plan("cancer-pain-burst-ketamine")
    t = plan.totals
    assert (t["max_session_mg"], t["min_session_mg"], t["max_daily_mg"]) == (
        pytest.approx(1900), pytest.approx(300), pytest.approx(500))
    assert [(d.day, round(d.dose_mg_min), round(d.dose_mg_max)) for d in plan.days] == [
        (1, 100, 100), (2, 100, 300), (3, 100, 500), (4, 0, 500), (5, 0, 500)]
    assert [round(d.cumulative_mg_max) for d in plan.days] == [100, 400, 900, 1400, 1900]
    assert [d.sessions for d in plan.days] == [0] * 5
    whys = {w.what: w for w in plan.totals_derivation}
    assert whys["course (maximum)"].value == pytest.approx(1900)
    assert whys["course (minimum)"].value == pytest.approx(300)
    assert whys["session (maximum)"].expression.startswith("100 mg (burst step 1) + 300 mg")
    daily = _plan("sci-amr-2010")
    assert [d.sessions for d in daily.days] == [1] * 7 and not any(d.conditional for d in daily.days)
