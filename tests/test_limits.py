import pytest
import yaml

from ketadose.io.library import data_text, limit_library
from ketadose.limits import LimitContext, check
from ketadose.units import parse_quantity


def ctx(drug="racemic-ketamine", route="iv", setting="monitored-outpatient", confirmed=None):
    return LimitContext(drug, route, setting, confirmed or {})


def fire(measure, text, **kw):
    return check(limit_library(), ctx(**kw), measure, parse_quantity(text), "rate")


def test_library_loads_and_every_limit_has_a_source():
    lib = limit_library()
    assert lib.limits
    raw = yaml.safe_load(data_text("limits.yaml"))
    assert len(raw["limits"]) == len(lib.limits)
    for lim in lib.limits:
        if lim.kind == "guard":  # no clinical source: it says so, and the user sees the mark
            assert "guard" in lim.source and lim.unverified
            continue
        assert lim.source and ("PMID" in lim.source or "doi" in lim.source or "[D]" in lim.source
                               or "label" in lim.source)
        assert lim.soft is not None or lim.hard is not None


def test_review_article_unit_error_hits_a_hard_limit_with_a_hint():
    # Hana 2018 misquotes Sigtermans' 22.2 mg/h per 70 kg as "22.2 mg/hr/kg"
    [f] = fire("rate_per_kg", "22.2 mg/hr/kg")
    assert f.severity == "error" and f.rule == "KD-LIM-001"
    assert "per 70 kg" in f.message and "0.317 mg/kg/h" in f.message


def test_mcg_written_as_mg_hits_hard_limit_and_suggests_mcg():
    [f] = fire("rate_per_kg", "1.2 mg/kg/min", drug="esketamine")
    assert f.severity == "error" and f.rule == "KD-LIM-101"
    assert "1.2 mcg/kg/min would be 0.072 mg/kg/h" in f.message


def test_within_limits_is_silent():
    assert fire("rate_per_kg", "0.35 mg/kg/h") == []
    assert fire("rate", "25 mg/h") == []


def test_soft_limit_warns_until_confirmed():
    [f] = fire("rate_per_kg", "0.6 mg/kg/h")
    assert f.severity == "warning" and "confirm" in f.message
    [g] = fire("rate_per_kg", "0.6 mg/kg/h", confirmed={"KD-LIM-001": "trial protocol X"})
    assert g.severity == "info" and "trial protocol X" in g.message


def test_confirmation_never_overrides_a_hard_limit():
    [f] = fire("rate_per_kg", "1.5 mg/kg/h", confirmed={"KD-LIM-001": "please"})
    assert f.severity == "error"


def test_icu_setting_moves_the_limit_only_with_the_regimens_confirm():
    icu = {"KD-LIM-001": "ICU protocol with continuous monitoring"}
    assert fire("rate_per_kg", "1.5 mg/kg/h", setting="icu", confirmed=icu) == []
    assert fire("rate_per_kg", "2.5 mg/kg/h", setting="icu", confirmed=icu)[0].severity == "info"
    assert fire("rate_per_kg", "7.5 mg/kg/h", setting="icu", confirmed=icu)[0].severity == "error"
    # declaring setting: icu alone lifts nothing
    assert fire("rate_per_kg", "1.5 mg/kg/h", setting="icu")[0].severity == "error"
    assert fire("rate", "41 mg/h", setting="icu")[0].severity == "error"


def test_limits_differ_by_drug_form():
    assert fire("rate_per_kg", "0.3 mg/kg/h") == []
    [f] = fire("rate_per_kg", "0.3 mg/kg/h", drug="esketamine")
    assert f.severity == "warning" and f.rule == "KD-LIM-101"
    assert f.unverified is None or "Sigtermans" in f.unverified


def test_hard_inclusive_bolus():
    [f] = check(limit_library(), ctx(), "bolus_per_kg", parse_quantity("1 mg/kg"), "bolus")
    assert f.severity == "error"


@pytest.mark.parametrize("text, severity", [("300 mg/day", None), ("400 mg/24 h", "warning"),
                                            ("600 mg/day", "error")])
def test_subcutaneous_burst_limits(text, severity):
    found = fire("rate", text, route="sc")
    assert (found[0].severity if found else None) == severity
