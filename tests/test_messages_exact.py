"""The exact words and forms of the units and limits messages.

A clinician acts on these sentences ("refused", "at or above", "likely unit error?"), and
scripts parse the unit forms, so they are pinned here word for word.
"""

import re

import pytest
import yaml

from ketadose.errors import UnitError
from ketadose.io.library import data_text, limit_library
from ketadose.limits import LimitContext, check, library_from_data
from ketadose.units import (
    ACCEPTED,
    OverTime,
    Quantity,
    display,
    format_number,
    format_quantity,
    parse_quantity,
    parse_unit,
)


def _raises(call, message):
    with pytest.raises(UnitError) as info:
        call()
    assert str(info.value.message if hasattr(info.value, "message") else info.value) == message


@pytest.mark.parametrize("text, message", [
    ("mg/", "unknown unit 'mg/'; accepted: " + ACCEPTED),
    ("mg/kg/h/min", "unknown unit 'mg/kg/h/min'; accepted: " + ACCEPTED),
    ("furlong", "unknown unit 'furlong' ('furlong' is not in the vocabulary); accepted: " + ACCEPTED),
    ("MG", "unknown unit 'MG' ('MG' is not in the vocabulary); accepted: " + ACCEPTED),
    ("mcg/mg", "unit 'mcg/mg' is not a dose, rate, weight, time, volume or concentration; "
               "accepted: " + ACCEPTED),
    ("mg/mg", "unit 'mg/mg' is not a dose, rate, weight, time, volume or concentration; "
              "accepted: " + ACCEPTED),
    ("h/min", "unit 'h/min' is not a dose, rate, weight, time, volume or concentration; "
              "accepted: " + ACCEPTED),
])
def test_unit_refusals_word_for_word(text, message):
    _raises(lambda: parse_unit(text), message)


@pytest.mark.parametrize("text, symbol, kind, factor", [
    ("%", "%", "percent", 1),
    ("u/L", "U/L", "enzyme_activity", 1 / 1000),  # canonical volume is mL
    ("iu/L", "U/L", "enzyme_activity", 1 / 1000),
    ("IU/L", "U/L", "enzyme_activity", 1 / 1000),
    ("ML", "mL", "volume", 1),
    ("Ml/h", "mL/h", "volume_rate", 1),
    ("l", "L", "volume", 1000),
    ("mg/24\th", "mg/24 h", "rate", 1 / 24),
    ("mg/kg/24 h", "mg/kg/24 h", "rate_per_kg", 1 / 24),
    ("mg / h / kg", "mg/kg/h", "rate_per_kg", 1),
    ("mcg/kg/min", "mcg/kg/min", "rate_per_kg", 60 / 1000),
    ("g/day", "g/day", "rate", 1000 / 24),
])
def test_unit_forms_exactly(text, symbol, kind, factor):
    unit = parse_unit(text)
    assert (unit.symbol, unit.kind) == (symbol, kind)
    assert float(unit.factor) == pytest.approx(factor, rel=1e-15)
    assert unit.per_kg == ("/kg" in symbol)


@pytest.mark.parametrize("value, message", [
    ([1], "expected a quantity with a unit, e.g. '0.35 mg/kg/h'; got [1]"),
    (True, "expected a quantity with a unit, e.g. '0.35 mg/kg/h'; got True"),
    (None, "expected a quantity with a unit, e.g. '0.35 mg/kg/h'; got None"),
    # no kind known: no guessed unit (issue 16: `weight: 72` suggested '72 mg')
    (5, "'5' has no unit; accepted: " + ACCEPTED),
    ("-5", "'-5' is negative; a negative quantity is never valid here"),
    ("80 mg/h over 5 h", "'80 mg/h' is a rate; expected mass or mass per kg (e.g. mg, mg/kg)"),
    ("80 mg over 5 mg", "'5 mg' is a mass; expected duration (e.g. h)"),
    ("80 mg over 0 h", "'80 mg over 0 h': the duration must be greater than zero"),
    ("0,25 mg", "'0,25 mg': decimal comma? write '0.25 mg'"),
    ("1,5,5 mg", "'1,5,5 mg': decimal comma? write '1.5,5 mg'"),
    ("nan mg", "'nan mg' is not a finite number"),
    ("inf mg", "'inf mg' is not a finite number"),
    ("+inf mg", "'+inf mg' is not a finite number"),
    ("-inf mg", "'-inf mg' is not a finite number"),
    (".nan mg", "'.nan mg' is not a finite number"),
    (".inf mg", "'.inf mg' is not a finite number"),
    ("1e999 mg", "'1e999' is not a finite number"),
    ("about 5 mg", "'about 5 mg' is not a number followed by a unit, e.g. '0.35 mg/kg/h'"),
    (" 5 ", "'5' has no unit; accepted: " + ACCEPTED),
    ("-5 mg", "'-5 mg': a negative quantity is never valid here"),
])
def test_quantity_refusals_word_for_word(value, message):
    _raises(lambda: parse_quantity(value), message)


def test_wrong_kind_names_every_accepted_kind_with_an_example():
    _raises(lambda: parse_quantity("5 mg/h", ("mass_per_kg", "amount_over_time", "volume_rate")),
            "'5 mg/h' is a rate; expected mass per kg or amount over time or volume rate "
            "(e.g. mg/kg, N mg over T h, mL/h)")


def test_conversion_refusal_word_for_word():
    _raises(lambda: Quantity(1.0, parse_unit("mg")).to("kg"),
            "cannot convert 1 mg to kg: mass is not body_weight")


@pytest.mark.parametrize("q, digits, text", [
    (Quantity(1.0, parse_unit("mg")), 3, "1 mg"),
    (Quantity(0.0, parse_unit("mg")), 3, "0 mg"),
    (Quantity(-0.0, parse_unit("mg")), 3, "0 mg"),
    (Quantity(0.35, parse_unit("mg/kg/h")), 3, "0.35 mg/kg/h"),
    (Quantity(100.0, parse_unit("mg")), 3, "100 mg"),
    (Quantity(0.0001, parse_unit("mg")), 3, "0.0001 mg"),
    (Quantity(0.00012345, parse_unit("mg")), 3, "0.000123 mg"),
    (Quantity(10.0, parse_unit("%")), 3, "10%"),
    (Quantity(2.25, parse_unit("mL/h")), 1, "2.2 mL/h"),
    (OverTime(Quantity(80.1234, parse_unit("mg")), Quantity(5.5555, parse_unit("h"))), 1,
     "80.1 mg over 5.6 h"),
    (OverTime(Quantity(80.1234, parse_unit("mg")), Quantity(5.5555, parse_unit("h"))), 3,
     "80.123 mg over 5.556 h"),
])
def test_display_forms(q, digits, text):
    assert display(q, digits) == text


def test_exact_text_forms_read_back():
    assert format_quantity(OverTime(Quantity(80.0, parse_unit("mg")), Quantity(5.0, parse_unit("h")))) \
        == "80 mg over 5 h"
    assert format_quantity(Quantity(10.0, parse_unit("%"))) == "10%"
    assert format_number(1e15) == "1000000000000000.0"  # repr from 1e15 up, as floats print
    assert format_number(1e15 - 1) == "999999999999999"
    assert format_number(0.1) == "0.1"
    assert parse_quantity("1000000000000000.0 mg").value == 1e15


def test_canonical_and_conversion_values():
    assert Quantity(7.2, parse_unit("mcg/kg/min")).canonical() == pytest.approx(0.432, rel=1e-15)
    assert Quantity(3.0, parse_unit("mg/h")).canonical() == 3.0
    assert Quantity(2.0, parse_unit("g")).to("mg").value == 2000.0
    assert Quantity(2.0, parse_unit("mg")).to("mg").value == 2.0
    assert parse_quantity("10%").value == 10.0 and parse_quantity("10%").canonical() == 10.0


# --- limits ------------------------------------------------------------------------------

def ctx(setting="monitored-outpatient", confirmed=None, drug="racemic-ketamine", route="iv"):
    return LimitContext(drug, route, setting, confirmed or {})


def test_hard_limit_message_word_for_word():
    [f] = check(limit_library(), ctx(), "rate", parse_quantity("45 mg/h"), "infusion: rate",
                path=("phases", 0))
    assert (f.rule, f.severity, f.path) == ("KD-LIM-002", "error", ("phases", 0))
    assert f.message == ("infusion: rate 45 mg/h is above the hard limit of 40 mg/h for IV "
                         "infusion rate, absolute (racemic-ketamine); refused, no override; "
                         "likely unit error? 45 mcg/h would be 0.045 mg/h")
    assert f.source == limit_library().by_id("KD-LIM-002").source and f.unverified is None


def test_converted_value_is_shown_in_the_limit_unit():
    [f] = check(limit_library(), ctx(), "rate", parse_quantity("0.75 mg/min"), "rate")
    assert f.message.startswith("rate 0.75 mg/min (= 45 mg/h) is above the hard limit of 40 mg/h")


def test_inclusive_hard_limit_says_at_or_above():
    lib = limit_library()
    inclusive = lib.by_id("KD-LIM-003")
    assert inclusive.hard_inclusive
    [f] = check(lib, ctx(), inclusive.measure, Quantity(inclusive.hard, parse_unit(inclusive.unit)),
                "x")
    assert f" is at or above the hard limit of {inclusive.hard:g} {inclusive.unit} for " in f.message


def test_soft_limit_messages_word_for_word():
    [w] = check(limit_library(), ctx(), "rate", parse_quantity("30 mg/h"), "rate")
    assert (w.severity, w.message) == ("warning", (
        "rate 30 mg/h is above the soft limit of 25 mg/h for IV infusion rate, absolute; confirm "
        "it with a reason (confirm: {KD-LIM-002: \"...\"})"))
    [i] = check(limit_library(), ctx(confirmed={"KD-LIM-002": "inpatient, monitored"}), "rate",
                parse_quantity("30 mg/h"), "rate", path=("phases", 1))
    assert (i.severity, i.path, i.source) == ("info", ("phases", 1),
                                             limit_library().by_id("KD-LIM-002").source)
    assert i.message == "rate 30 mg/h is above the soft limit of 25 mg/h; confirmed: inpatient, monitored"


def test_unverified_limits_carry_their_note_in_every_finding():
    lib = limit_library()
    note = lib.by_id("KD-LIM-102").unverified
    assert note
    for qty, severity in (("100 mg/h", "error"), ("25 mg/h", "warning")):
        found = [f for f in check(lib, ctx(drug="esketamine"), "rate", parse_quantity(qty), "r")
                 if f.rule == "KD-LIM-102"]
        assert found and found[0].severity == severity and found[0].unverified == note
    conf = ctx(drug="esketamine", confirmed={"KD-LIM-102": "a reason long enough"})
    [c] = [f for f in check(lib, conf, "rate", parse_quantity("25 mg/h"), "r", path=("p",))
           if f.rule == "KD-LIM-102"]
    assert (c.severity, c.unverified, c.path) == ("info", note, ("p",))


def test_consulted_records_are_complete():
    consulted = []
    check(limit_library(), ctx(setting="icu", confirmed={"KD-LIM-002": "an ICU protocol"}),
          "rate", parse_quantity("30.1234567 mg/h"), "rate", consulted=consulted)
    [c] = consulted
    lim = limit_library().by_id("KD-LIM-002")
    assert c == {"rule": "KD-LIM-002", "what": "rate", "value": 30.123457, "unit": "mg/h",
                 "soft": None, "hard": None, "hard_inclusive": False, "outcome": "within",
                 "source": lim.source, "unverified": None,
                 "setting_note": "in ICU the per-kg limits (KD-LIM-001) govern"}


def test_bounds_moved_by_a_setting():
    lib = limit_library()
    assert lib.by_id("KD-LIM-002").bounds("icu") == (
        None, None, "in ICU the per-kg limits (KD-LIM-001) govern", None)
    esk = lib.by_id("KD-LIM-101")
    soft, hard, note, unverified = esk.bounds("icu")
    assert (soft, hard, note) == (1.0, 3.5, None) and unverified.startswith("ICU values are")
    assert esk.bounds("home") == (esk.soft, esk.hard, None, esk.unverified)


def test_library_fields_and_refusals_exactly():
    raw = yaml.safe_load(data_text("limits.yaml"))
    lib = library_from_data(raw)
    first = raw["limits"][0]
    lim = lib.by_id(first["id"])
    assert (lim.name, lim.what) == (first["name"], first["what"])
    assert lim.source == " ".join(first["source"].split()) and " " in lim.source
    assert lib.by_id("KD-LIM-002").hard_inclusive is False
    raw["limits"].append(dict(raw["limits"][1]))
    with pytest.raises(ValueError, match=re.escape("duplicate limit id in the library")):
        library_from_data(raw)


@pytest.mark.parametrize("qty, expected", [
    # the review article's slip: 22.2 "mg/kg/h" was mg/h per 70 kg
    ("22.2 mg/kg/h", "; likely unit error? 22.2 mg/h per 70 kg would be 0.317 mg/kg/h; or "
                     "22.2 mcg/kg/h would be 0.022 mg/kg/h"),
    # a reading exactly at the soft limit is still offered
    ("35 mg/kg/h", "; likely unit error? 35 mg/h per 70 kg would be 0.5 mg/kg/h; or "
                   "35 mcg/kg/h would be 0.035 mg/kg/h"),
    ("5000 mg/kg/h", ""),
])
def test_unit_hint_at_the_soft_limit(qty, expected):
    [f] = check(limit_library(), ctx(), "rate_per_kg", parse_quantity(qty), "rate")
    assert f.message.endswith("refused, no override" + expected)


def test_unit_hint_falls_back_to_the_hard_limit_when_there_is_no_soft_one():
    raw = {"version": "t", "limits": [{
        "id": "KD-LIM-T1", "name": "test", "what": "a test dose", "drug": "any", "route": "iv",
        "measure": "mass", "unit": "mg", "soft": None, "hard": 100, "source": "test"}]}
    lib = library_from_data(raw)
    [f] = check(lib, ctx(), "mass", parse_quantity("150 mg"), "dose")
    assert f.message == ("dose 150 mg is above the hard limit of 100 mg for a test dose "
                         "(racemic-ketamine); refused, no override; likely unit error? "
                         "150 mcg would be 0.15 mg")
    [g] = check(lib, ctx(), "mass", parse_quantity("150000 mg"), "dose")
    assert g.message.endswith("refused, no override")  # 150 mg as mcg is still above 100 mg


def test_kind_names_are_written_in_words():
    _raises(lambda: parse_quantity("5 mg/kg", ("rate",)),
            "'5 mg/kg' is a mass per kg; expected rate (e.g. mg/h)")


@pytest.mark.parametrize("value, kinds, message", [
    (72, ("body_weight",), "'72' has no unit; write it with one, e.g. '72 kg' or '72 lb' "
                          "(body weight: kg, lb)"),
    ("0.35", ("rate_per_kg", "rate"),
     "'0.35' has no unit; write it with one, e.g. '0.35 mg/kg/h' "
     "(rate per kg: mg/kg/h, mcg/kg/min, mg/kg/day; rate: mg/h, mg/day, mg/24 h, mg/min)"),
    ("170", ("length",), "'170' has no unit; write it with one, e.g. '170 cm' (length: cm, m, in, ft (5ft6, 5'6\"))"),
    (-3, ("duration",), "'-3' is negative; a negative quantity is never valid here"),
])
def test_a_bare_number_gets_units_of_its_own_dimension(value, kinds, message):
    # issue 16: only the units of the field's dimension, never the whole ~400-character list
    _raises(lambda: parse_quantity(value, kinds), message)
