
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import budget, template_data, template_text
from ketadose.io.library import limit_library, vocabulary
from ketadose.io.yamlsrc import load_text
from ketadose.units import format_number
from ketadose.validate import validate


def findings_of(data):
    _regimen, findings = validate(data, limit_library(), substances=vocabulary().substances)
    return findings


def rules_of(data, severity="error"):
    return {f.rule for f in findings_of(data) if severity is None or f.severity == severity}


def phase(data, i=0):
    return data["schedule"]["phases"][i]


def test_shipped_template_is_valid():
    regimen, findings = validate(template_data(), limit_library(), substances=vocabulary().substances)
    assert regimen is not None
    assert not [f for f in findings if f.severity == "error"]


def test_unknown_key_suggests_the_right_one():
    data = template_data()
    phase(data)["max_rte"] = phase(data).pop("max_rate")
    [f] = [f for f in findings_of(data) if f.rule == "KD-V002"]
    assert "did you mean 'max_rate'" in f.message and f.at_key


def test_missing_key_points_at_parent():
    data = template_data()
    del phase(data)["duration"]
    found = findings_of(data)
    assert "KD-V013" in {f.rule for f in found}


def test_missing_required_key():
    data = template_data()
    del data["drug"]
    [f] = [f for f in findings_of(data) if f.rule == "KD-V003"]
    assert "'drug'" in f.message and f.path == ()


@pytest.mark.parametrize("value, rule", [
    (0.35, "KD-V005"),                # number without a unit
    ([0.35], "KD-V004"),              # wrong type
    ("0.35", "KD-V005"),              # text without a unit
    ("0.35 mg/kg/fortnight", "KD-V005"),
    ("0,35 mg/kg/h", "KD-V005"),
    ("nan mg/kg/h", "KD-V005"),
    ("0 mg/kg/h", "KD-V006"),
    ("-0.35 mg/kg/h", "KD-V005"),
    ("4 h", "KD-V005"),               # a duration where a rate belongs
    ("22.2 mg/hr/kg", "KD-LIM-001"),  # review article's unit error
    ("0.35 mg/kg/min", "KD-LIM-001"), # per minute for per hour: 60-fold
])
def test_bad_rates_are_refused(value, rule):
    data = template_data()
    phase(data)["rate"] = value
    assert rule in rules_of(data)


@pytest.mark.parametrize("value", ["0 h", "-4 h", ".inf h"])
def test_zero_negative_infinite_durations(value):
    data = template_data()
    phase(data)["duration"] = value
    assert rules_of(data) & {"KD-V005", "KD-V006"}


def test_duplicate_rate_key_in_file_is_refused():
    text = template_text().replace("      rate: 0.35 mg/kg/h", "      rate: 0.35 mg/kg/h\n      rate: 3.5 mg/kg/h")
    with pytest.raises(Exception, match="duplicate key 'rate'"):
        load_text(text, "x.yaml")


def test_v010_weight_basis_required():
    data = template_data()
    del data["weight_basis"]
    assert "KD-V010" in rules_of(data)


def test_v011_phase_route():
    data = template_data()
    data["route"] = "oral"
    assert "KD-V011" in rules_of(data)


def test_v012_daily_session_too_long():
    data = template_data()
    phase(data)["duration"] = "25 h"
    assert "KD-V012" in rules_of(data)


def test_v012_continuous_days_must_match():
    data = template_data()
    data["schedule"]["pattern"] = "continuous"
    phase(data)["duration"] = "100 h"
    data["schedule"]["days"] = 3
    assert "KD-V012" in rules_of(data)
    data["schedule"]["days"] = 5
    assert "KD-V012" not in rules_of(data)


def test_v013_rate_and_dose_both():
    data = template_data()
    phase(data)["dose"] = "80 mg over 5 h"
    assert "KD-V013" in rules_of(data)


def test_v014_titration_must_rise():
    data = template_data()
    data["schedule"]["phases"] = [{
        "name": "t", "kind": "titration", "start": "7.2 mcg/kg/min", "step": "1.2 mcg/kg/min",
        "max": "1.2 mcg/kg/min", "duration": "4 h", "titrate_to": "effect", "source": "x"}]
    assert "KD-V014" in rules_of(data)


def test_v015_unverified_must_name_a_field():
    data = template_data()
    phase(data)["unverified"] = {"max": "no such number here"}
    assert "KD-V015" in rules_of(data)


def test_v016_primary_evidence():
    data = template_data()
    for e in data["evidence"]:
        e["role"] = "background"
    assert "KD-V016" in rules_of(data)


def test_v017_confirm_unknown_rule():
    data = template_data()
    data["confirm"] = {"KD-LIM-999": "because we always do"}
    assert "KD-V017" in rules_of(data)


def test_v018_drug_form_mismatch():
    data = template_data()
    data["title"] = "CRPS - S-ketamine infusion"
    assert "KD-V018" in rules_of(data)


def test_v020_low_session_is_info_not_error():
    data = template_data()
    del phase(data)["rate"], phase(data)["duration"], phase(data)["max_rate"]
    phase(data)["dose"] = "40 mg over 1 h"
    found = findings_of(data)
    assert [f.severity for f in found if f.rule == "KD-V020"] == ["info"]
    assert not [f for f in found if f.severity == "error"]


def test_soft_limit_in_regimen_needs_confirm():
    data = template_data()
    phase(data)["rate"] = "0.45 mg/kg/h"
    data["preparation"]["concentration"] = "3 mg/mL"
    warned = rules_of(data, "warning")
    assert "KD-LIM-006" in warned
    data["confirm"] = {"KD-LIM-006": "fluid-restricted patient, pharmacy-prepared"}
    assert "KD-LIM-006" not in rules_of(data, "warning")


@settings(max_examples=budget(60), deadline=None)
@given(st.floats(min_value=0.01, max_value=50, allow_nan=False))
def test_any_rate_above_the_hard_limit_is_an_error(rate):
    data = template_data()
    phase(data)["rate"] = f"{format_number(rate)} mg/kg/h"
    errors = rules_of(data)
    assert ("KD-LIM-001" in errors) == (rate > 1.0)


def test_resource_bounds_on_lists_and_titration_steps():
    data = template_data()
    data["schedule"]["phases"] = data["schedule"]["phases"] * 21
    assert "KD-V006" in rules_of(data)
    data = template_data()
    data["schedule"]["pattern"] = "continuous"
    data["schedule"]["days"] = 5
    data["schedule"]["phases"] = [{
        "name": "t", "kind": "titration", "start": "1 mcg/kg/min", "step": "0.001 mcg/kg/min",
        "max": "7 mcg/kg/min", "duration": "100 h", "titrate_to": "effect", "source": "x"}]
    assert "KD-V014" in rules_of(data)
    data = template_data()
    data["schedule"]["days"] = 400
    assert "KD-V006" in rules_of(data)


def test_non_text_phase_kind_is_a_finding_not_a_crash():
    # found by the fuzz harness: `kind: []` raised TypeError (unhashable list)
    data = template_data()
    phase(data)["kind"] = []
    assert "KD-V006" in rules_of(data) or "KD-V004" in rules_of(data)
