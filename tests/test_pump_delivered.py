"""A phase's dose and every total are what the pump delivers at its programmed (rounded) rate,
not the rate asked, wherever a concentration is known; without one (no pump rate) they stay
the rate asked.

The reproducer: an SC infusion written at 499.9 mg/24 h, at 10 mg/mL, is programmed at 2.0 mL/h
(20 mg/h = 480 mg a day); the plan used to show 499.9 mg as the phase's dose and in every total
(session, day, course), and to check the daily limit on 499.9 mg. The hypothesis property
recomputes the totals from the delivered rates with its own arithmetic, over generated
regimens, patients and concentrations, and checks the delivered figures against every hard
limit (fuzz/plan_properties.check_plan, on the plan's days, which must equal them).
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fuzz"))

from plan_properties import check_plan
from test_gate_properties import _num, patients, regimens

from conftest import budget, template_data
from ketadose.errors import KetadoseError
from ketadose.io.library import limit_library, vocabulary
from ketadose.patient import build
from ketadose.plan import make_plan
from ketadose.units import parse_quantity
from ketadose.validate import validate

SRC = "reproducer (tests/test_pump_delivered.py), not a clinical regimen"


def _sc_regimen(rate="499.9 mg/24 h", route="sc"):
    """One continuous 24 h infusion at ``rate``, on the burst template's confirmations
    (KD-LIM-010's soft 300 mg/24 h is confirmed there)."""
    doc = copy.deepcopy(template_data("cancer-pain-burst-ketamine.yaml"))
    doc.update(id="pump-delivered", route=route)
    if route == "iv":
        doc["setting"] = "inpatient"
    doc["schedule"] = {"pattern": "continuous", "days": 1, "source": SRC,
                       "phases": [{"name": "infusion", "kind": "infusion", "rate": rate,
                                   "duration": "24 h", "source": SRC}]}
    regimen, findings = validate(doc, limit_library(), substances=vocabulary().substances)
    assert regimen is not None and not [f for f in findings if f.severity == "error"], findings
    return regimen, findings, doc


def _plan(conc, route="sc", explain=True):
    regimen, findings, _doc = _sc_regimen(route=route)
    patient, _ = build({"weight": "72 kg", "height": "168 cm", "sex": "female"}, vocabulary())
    return make_plan(regimen, patient, limit_library(), regimen_findings=findings,
                     concentration=parse_quantity(conc) if conc else None, explain=explain,
                     override="reproducer: a concentrated solution, confirmed")


@pytest.mark.parametrize("route", ["sc", "iv"])
def test_totals_are_the_delivered_pump_rate_not_the_rate_asked(route):
    plan = _plan("10 mg/mL", route)
    [p] = plan.phases
    assert p.pump.ml_h == 2.0 and p.pump.mg_h_delivered == pytest.approx(20.0)
    assert p.mg_h == pytest.approx(499.9 / 24)  # the rate asked stays shown as asked
    assert p.dose_mg_max == pytest.approx(480.0) and p.dose_mg_min == pytest.approx(480.0)
    t = plan.totals
    for key in ("max_session_mg", "min_session_mg", "max_daily_mg", "course_mg_min",
                "course_mg_max"):
        assert t[key] == pytest.approx(480.0), key
    [day] = plan.days
    assert (day.dose_mg_min, day.dose_mg_max, day.cumulative_mg_max) == pytest.approx((480, 480, 480))
    if route == "sc":  # the syringe driver holds what the pump delivers in 24 h
        [(_name, mg, ml)] = plan.preparation.syringes
        assert (mg, ml) == pytest.approx((480.0, 48.0))
    else:  # the bag holds the day's delivered dose
        assert plan.preparation.need_mg == pytest.approx(480.0)


def test_the_daily_limit_is_checked_on_the_delivered_dose():
    plan = _plan("10 mg/mL")
    daily = [f for f in plan.findings if f.rule == "KD-LIM-010" and "highest daily dose" in f.message]
    assert daily and all("480 mg/day" in f.message for f in daily), [f.message for f in daily]
    assert not any("499.9" in f.message for f in plan.findings if f.rule.startswith("KD-LIM"))


def test_without_a_concentration_the_totals_are_the_rate_asked():
    plan = _plan(None)
    [p] = plan.phases
    assert p.pump is None and p.dose_mg_max == pytest.approx(499.9)
    assert plan.totals["course_mg_max"] == pytest.approx(499.9)
    assert plan.totals["max_daily_mg"] == pytest.approx(499.9)


def test_the_derivation_shows_the_delivered_step():
    [p] = _plan("10 mg/mL").phases
    [dose] = [w for w in p.derivation if w.what == "dose in this phase"]
    assert "delivered at 2.0 mL/h x 10 mg/mL = 20 mg/h" in dose.expression, dose.expression
    assert dose.value == pytest.approx(480.0) and dose.unit == "mg"
    whats = [w.what for w in p.derivation]
    assert whats.index("pump rate") < whats.index("dose in this phase")


def test_the_plan_through_the_cli_shows_the_delivered_totals(tmp_path):
    import yaml

    _regimen, _findings, doc = _sc_regimen()
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = subprocess.run([sys.executable, "-m", "ketadose", "plan", str(path), "--weight", "72 kg",
                          "--concentration", "10mg/mL", "--format", "json", "--reproducible",
                          "--override", "reproducer: a concentrated solution, confirmed"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["totals"]["course_mg_max"] == pytest.approx(480.0)
    assert data["totals"]["max_daily_mg"] == pytest.approx(480.0)
    assert data["sessions"][0]["phases"][0]["dose_mg"] == pytest.approx(480.0)


# ------------------------------------------------------------------- the property

def _given(pump, asked):
    """Written afresh: the programmed pump's delivered mg/h, else the rate asked."""
    return asked if pump is None else pump.ml_h * pump.conc_mg_ml


def _pieces(p):
    """(start h, end h, mg/h) of a planned phase in the maximum case, from its delivered rates;
    a bolus is its dose over its push time (a volume, not a programmed rate)."""
    if p.kind == "bolus":
        return [(p.start_h, p.start_h + p.duration_h, p.bolus_mg / p.duration_h)]
    if p.kind == "titration":
        steps = list(p.steps)
        if any(math.isnan(s.t_h) for s in steps):  # to effect: the top throughout
            return [(p.start_h, p.start_h + p.duration_h, _given(steps[-1].pump, steps[-1].mg_h))]
        out = []
        for here, nxt in zip(steps, steps[1:] + [None]):
            begin = min(here.t_h, p.duration_h)
            end = min(nxt.t_h, p.duration_h) if nxt else p.duration_h
            out.append((p.start_h + begin, p.start_h + end, _given(here.pump, here.mg_h)))
        return out
    return [(p.start_h, p.start_h + p.duration_h, _given(p.pump, p.mg_h_max))]


def _expected(plan):
    """(phase maxima, session maximum, highest day, course maximum) from delivered rates."""
    r = plan.regimen
    per_phase = []
    for p in plan.phases:
        if p.duration_h is None:  # given per day (oral, topical): its daily dose as planned
            per_phase.append(p.dose_mg_max)
        else:
            per_phase.append(sum((b - a) * mg_h for a, b, mg_h in _pieces(p)))
    if any(x is None for x in per_phase):
        return None
    session = sum(per_phase)
    if r.pattern == "daily":
        return per_phase, session, session, session * r.days
    days = []
    for d in range(r.days):
        t0, t1 = 24.0 * d, 24.0 * (d + 1)
        days.append(sum(max(0.0, min(b, t1) - max(a, t0)) * mg_h
                        for p in plan.phases for a, b, mg_h in _pieces(p)))
    return per_phase, session, max(days), sum(days)


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# Infused regimens (IV, SC) mostly with a concentration (so a pump rate is programmed), and soft
# limits confirmed, so that many plans are printed; sometimes none (the rate asked is kept).
INFUSED = regimens().filter(lambda doc: doc["route"] in ("iv", "sc"))
PUMPED = st.fixed_dictionaries({
    "basis": st.sampled_from([None, "actual", "ideal", "adjusted"]),
    "concentration": st.one_of(st.floats(0.2, 20).map(lambda c: f"{_num(c)} mg/mL"),
                               st.floats(0.2, 20).map(lambda c: f"{_num(c)} mg/mL"),
                               st.floats(0.2, 20).map(lambda c: f"{_num(c)} mg/mL"),
                               st.none()),
    "priming_ml": st.one_of(st.none(), st.floats(0, 30)),
    "override": st.just("generated: the clinician confirms"),
})


def test_shown_totals_are_the_delivered_rates_times_durations():
    """Over generated regimens, patients and concentrations: each phase's maximum dose, the
    session, the highest day and the course are the sum of delivered rate x duration (+ bolus
    doses); and no hard limit is exceeded by the delivered figures (check_plan)."""
    seen = {"pumped": 0, "rounded": 0, "checked": 0}

    @settings(max_examples=budget(150), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(INFUSED, patients(), PUMPED)
    def each(doc, patient, opts):
        library = limit_library()
        regimen, findings = validate(doc, library, substances=vocabulary().substances)
        if regimen is None or any(f.severity == "error" for f in findings):
            return
        conc = parse_quantity(opts["concentration"]) if opts["concentration"] else None
        try:
            plan = make_plan(regimen, patient, library, basis=opts["basis"], concentration=conc,
                             priming_ml=opts["priming_ml"], regimen_findings=findings,
                             override=opts["override"], explain=False)
        except KetadoseError:
            return
        if plan.blocked:
            return
        expected = _expected(plan)
        if expected is None:
            return
        per_phase, session, day, course = expected
        for p, want in zip(plan.phases, per_phase):
            assert _close(p.dose_mg_max, want), (p.name, p.dose_mg_max, want)
        t = plan.totals
        assert _close(t["max_session_mg"], session), (t["max_session_mg"], session)
        assert _close(t["max_daily_mg"], day), (t["max_daily_mg"], day)
        assert _close(t["course_mg_max"], course), (t["course_mg_max"], course)
        check_plan(plan, library)
        seen["checked"] += 1
        pumps = [x for p in plan.phases if p.kind != "bolus"
                 for x in [p.pump] + [s.pump for s in p.steps] if x is not None]
        seen["pumped"] += bool(pumps)
        seen["rounded"] += any(x.mg_h_delivered < x.mg_h * (1 - 1e-6) for x in pumps)

    each()
    # the generator reaches printed plans with programmed pumps whose rounding changes the dose
    assert seen["checked"] >= 20 and seen["rounded"] >= 5, seen


def test_a_rate_below_the_pump_step_is_refused_not_an_internal_error():
    """1 mg/h at 50 mg/mL is 0.02 mL/h, programmed 0 mL/h: the pump delivers nothing, so the
    dose and totals are 0; KD-GATE-003 refuses the plan (exit 1), the invariants (exit 3) do not
    fire on the zeros it causes."""
    regimen, findings, _doc = _sc_regimen("1 mg/h", route="iv")
    patient, _ = build({"weight": "72 kg"}, vocabulary())
    plan = make_plan(regimen, patient, limit_library(), regimen_findings=findings,
                     concentration=parse_quantity("50 mg/mL"),
                     override="reproducer: a concentrated solution, confirmed")
    assert plan.blocked and [f.severity for f in plan.findings if f.rule == "KD-GATE-003"] == ["error"]
    assert plan.phases[0].dose_mg_max == 0.0 and plan.totals["course_mg_max"] == 0.0
