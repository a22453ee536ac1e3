import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketadose.errors import UnitError
from ketadose.units import OverTime, format_quantity, parse_quantity, parse_unit

FORMS = ["mg", "mcg", "g", "mg/kg", "mg/h", "mg/day", "mg/24 h", "mg/kg/h", "mcg/kg/min",
         "mg/kg/day", "mg/mL", "mL", "L", "mL/h", "kg", "lb", "min", "h", "day", "%"]


@pytest.mark.parametrize("text, kind, canonical", [
    ("0.35 mg/kg/h", "rate_per_kg", 0.35),
    ("1.2 mcg/kg/min", "rate_per_kg", 0.072),
    ("100 mg/day", "rate", 100 / 24),
    ("100 mg/24 h", "rate", 100 / 24),
    ("2 µg/kg/min", "rate_per_kg", 0.12),
    ("2 ug/kg/min", "rate_per_kg", 0.12),
    ("154 lb", "body_weight", 154 * 0.45359237),
    ("0.5 g", "mass", 500.0),
    ("1 L", "volume", 1000.0),
    ("90 min", "duration", 1.5),
    ("1e-3 mg", "mass", 0.001),
])
def test_parse_and_convert_to_canonical(text, kind, canonical):
    q = parse_quantity(text)
    assert q.kind == kind
    assert math.isclose(q.canonical(), canonical, rel_tol=1e-12)


def test_mcg_is_displayed_never_micro_sign():
    q = parse_quantity("5 µg")
    assert format_quantity(q) == "5 mcg"


def test_review_unit_order_is_normalised():
    # "22.2 mg/hr/kg" (the review article's misquote) reads as 22.2 mg/kg/h, so limits catch it
    q = parse_quantity("22.2 mg/hr/kg")
    assert q.unit.symbol == "mg/kg/h" and q.value == 22.2


def test_over_form_gives_rate():
    q = parse_quantity("80 mg over 5 h")
    assert isinstance(q, OverTime)
    assert q.rate().unit.symbol == "mg/h" and math.isclose(q.rate().value, 16.0)


def test_sigtermans_conversions_match_basis_oracles():
    # docs/evidence.md A1 check values: 1.2 mcg/kg/min -> 0.072 mg/kg/h; 7.2 -> 0.432 mg/kg/h
    assert math.isclose(parse_quantity("1.2 mcg/kg/min").magnitude("mg/kg/h"), 0.072, rel_tol=1e-12)
    assert math.isclose(parse_quantity("7.2 mcg/kg/min").magnitude("mg/kg/h"), 0.432, rel_tol=1e-12)


@pytest.mark.parametrize("text, needle", [
    ("0.35", "no unit"),
    ("0,2 mg", "decimal comma"),
    ("5 furlongs", "accepted"),
    ("5 kg/mg", "not a dose"),
    ("nan mg", "finite"),
    ("inf mg/h", "finite"),
    ("-1 mg", "negative"),
    ("mg", "not a number"),
    ("5 mg/mg", "not a dose"),
])
def test_refusals_name_the_problem(text, needle):
    with pytest.raises(UnitError, match=needle):
        parse_quantity(text)


def test_bare_number_is_refused_with_accepted_list():
    with pytest.raises(UnitError) as err:
        parse_quantity(0.35)
    assert "mcg/kg/min" in str(err.value)


def test_kind_is_enforced():
    with pytest.raises(UnitError, match="expected"):
        parse_quantity("4 h", ("rate",))


def test_incompatible_conversion_refused():
    with pytest.raises(UnitError):
        parse_quantity("4 h").to("mg")


values = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(values, st.sampled_from(FORMS))
def test_format_parse_round_trip(value, unit):
    q = parse_quantity(f"{value!r} {unit}" if unit != "%" else f"{value!r}%")
    assert parse_quantity(format_quantity(q)) == q


@given(values, st.sampled_from(["mg/kg/h", "mcg/kg/min", "mg/kg/day", "mg/kg/min"]))
def test_conversions_are_invertible(value, unit):
    q = parse_quantity(f"{value!r} {unit}")
    back = q.to("mg/kg/h").to(unit)
    assert math.isclose(back.value, value, rel_tol=1e-12)


@given(values, st.floats(min_value=1e-3, max_value=1e3), st.sampled_from(["mg/h", "mcg/kg/min", "mg/day"]))
def test_scaling_a_dose_scales_its_conversions(value, k, unit):
    q = parse_quantity(f"{value!r} {unit}")
    target = "mg/kg/h" if q.unit.per_kg else "mg/h"
    assert math.isclose(q.scaled(k).magnitude(target), k * q.magnitude(target), rel_tol=1e-12)


def test_unit_parse_is_cached_and_stable():
    assert parse_unit("mcg/kg/min") is parse_unit("mcg/kg/min")


def test_display_keeps_absurd_values_short():
    from ketadose.units import display, parse_quantity

    assert display(parse_quantity("1e300 mg/mL")) == "1e+300 mg/mL"
    assert display(parse_quantity("2.5e12 mL/h")) == "2.5e+12 mL/h"
    assert display(parse_quantity("999999 mL/h")) == "999999 mL/h"
    assert display(parse_quantity("1e-300 mg/mL")) == "1e-300 mg/mL"
