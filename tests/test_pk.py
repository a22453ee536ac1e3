"""The PK engine against an independent ODE solution, published values and properties."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from conftest import budget
from ketadose.pk.engine import CENTRAL, DEPOT, ELIMINATED, Inputs, Solver
from ketadose.pk.models import MODELS, Params


# The ODE reference is written from the published constants (../shared/clinical/pk.md, table
# section 1), not from the engine: its own compartment equations, its own unit conversions
# (L/h -> L/min) and its own solver, so an error in the engine's micro-constants, its matrix or
# its model transcription shows up as a disagreement.
def domino_published(weight_kg):
    # STANPUMP / stanpumpR (pk.md 1): V1 = 0.063 L/kg; k10 .438, k12 .592, k21 .247, k13 .590,
    # k31 .0146 per min
    return {"v1": 0.063 * weight_kg, "k10": 0.438, "k12": 0.592, "k21": 0.247,
            "k13": 0.590, "k31": 0.0146}


def herd_published(weight_kg):
    # Herd 2007 abstract (PMID 17564643): V1 38.7 L, V2 102 L, CL 90 L/h, Q 215 L/h per 70 kg;
    # volumes x (W/70), clearances x (W/70)^0.75
    s = weight_kg / 70
    v1, v2 = 38.7 * s, 102 * s
    cl, q = 90 / 60 * s ** 0.75, 215 / 60 * s ** 0.75
    return {"v1": v1, "k10": cl / v1, "k12": q / v1, "k21": q / v2, "k13": 0.0, "k31": 0.0}


def kamp_opentiva(weight_kg):
    # opentiva "Klamp" (pk.md 1, UNVERIFIED transcription): V1 25 L, k10 .056, k12 .1073,
    # k21 .0479, k13 .0527, k31 .00839 per min at 70 kg; rate constants x (W/70)^-0.25
    s = weight_kg / 70
    c = s ** -0.25
    return {"v1": 25 * s, "k10": 0.056 * c, "k12": 0.1073 * c, "k21": 0.0479 * c,
            "k13": 0.0527 * c, "k31": 0.00839 * c}


def reference_rhs(m, ka, infusion_rate):
    """dA/dt for amounts [depot, central, peripheral 2, peripheral 3, metabolite, eliminated]
    (mg), written out compartment by compartment."""
    fm, kme = m.get("fm"), m.get("kme")

    def rhs(_t, a, rates):
        depot, central, p2, p3, met, _gone = a
        absorbed = ka * depot if ka else 0.0
        eliminated = m["k10"] * central
        return np.array([
            -absorbed + rates[0],
            absorbed - eliminated - m["k12"] * central + m["k21"] * p2
            - m["k13"] * central + m["k31"] * p3 + rates[1],
            m["k12"] * central - m["k21"] * p2,
            m["k13"] * central - m["k31"] * p3,
            (fm * eliminated - kme * met) if fm is not None else 0.0,
            eliminated,
        ])

    return rhs


def ode(m, ka, infusions, impulses, times):
    """Amounts at `times` from an explicit-equation ODE (LSODA, tight tolerances), restarted at
    every infusion edge and dose (where the right-hand side is discontinuous)."""
    def rates(t):
        r = [0.0, 0.0]
        for t0, t1, rate, where in infusions:
            if t0 <= t < t1:
                r[where] += rate
        return r

    rhs = reference_rhs(m, ka, rates)
    edges = sorted({0.0, *[e for t0, t1, _r, _w in infusions for e in (t0, t1)],
                    *[t for t, _mg, _w in impulses], float(times[-1])})
    x = np.zeros(6)
    results = {}
    for a, b in zip(edges, edges[1:]):
        for t, mg, where in impulses:
            if t == a:
                x[where] += mg
        r = rates(a)
        sol = solve_ivp(lambda t, y, r=r: rhs(t, y, r), (a, b), x, dense_output=True,
                        rtol=1e-11, atol=1e-13, method="LSODA")
        for t in times:
            if a <= t <= b:
                results[float(t)] = sol.sol(t)
        x = sol.y[:, -1]
    return np.array([results[float(t)] for t in times])


DOMINO = MODELS["domino-1984"].params(70)
TIMES = np.array([0.5, 1.0, 5.0, 30.0, 60.0, 239.0, 240.0, 241.0, 300.0, 600.0, 1440.0])


# index 0 of an infusion/impulse target is the depot, 1 the central compartment
@pytest.mark.parametrize("name, model, weight, reference, ka, infusions, impulses", [
    ("iv infusion", "domino-1984", 70, domino_published(70), None,
     ((0.0, 240.0, 25 / 60, 1),), ()),
    ("bolus as 1-min infusion", "domino-1984", 70, domino_published(70), None,
     ((0.0, 1.0, 24.5, 1),), ()),
    ("two compartments", "herd-2007", 70, herd_published(70), None,
     ((10.0, 250.0, 0.3, 1),), ()),
    ("two compartments, 95 kg", "herd-2007", 95, herd_published(95), None,
     ((0.0, 600.0, 0.5, 1),), ()),
    ("sc absorption", "domino-1984", 70, domino_published(70), math.log(2) / 20,
     ((0.0, 1440.0, 100 / 1440 * 0.9, 0),), ()),
    ("oral doses", "kamp-2020-opentiva", 80, kamp_opentiva(80), math.log(2) / 59,
     (), ((0.0, 7.0, 0), (480.0, 7.0, 0))),
])
def test_engine_matches_an_ode_solver(name, model, weight, reference, ka, infusions, impulses):
    where = {0: DEPOT, 1: CENTRAL}
    inputs = Inputs(tuple((a, b, r, where[w]) for a, b, r, w in infusions),
                    tuple((t, mg, where[w]) for t, mg, w in impulses))
    exact = Solver(MODELS[model].params(weight), ka).run(inputs, TIMES)
    ref = ode(reference, ka, infusions, impulses, TIMES)
    assert MODELS[model].params(weight).v1_l == pytest.approx(reference["v1"], rel=1e-12)
    for col, ref_col in ((CENTRAL, 1), (ELIMINATED, 5)):
        scale = np.abs(ref[:, ref_col]).max()
        assert scale > 0, name
        assert np.allclose(exact[:, col], ref[:, ref_col], rtol=1e-6, atol=scale * 1e-9), name


def test_metabolite_matches_an_ode_solver():
    # the engine's metabolite compartment: fm of ketamine's elimination forms it, kme clears it
    m = {"v1": 4.4, "k10": 0.4, "k12": 0.5, "k21": 0.25, "k13": 0.0, "k31": 0.0,
         "fm": 0.8, "kme": 0.02}
    params = Params(4.4, 0.4, 0.5, 0.25, fm=0.8, vm_l=50.0, kme=0.02)
    exact = Solver(params).run(Inputs(((0.0, 120.0, 0.5, CENTRAL),)), TIMES)
    ref = ode(m, None, ((0.0, 120.0, 0.5, 1),), (), TIMES)
    for col, ref_col in ((CENTRAL, 1), (4, 4), (ELIMINATED, 5)):
        scale = np.abs(ref[:, ref_col]).max()
        assert np.allclose(exact[:, col], ref[:, ref_col], rtol=1e-6, atol=scale * 1e-9)


def test_domino_steady_state_per_mg_h_matches_pk_notes():
    out = Solver(DOMINO).run(Inputs(((0.0, 1e6, 1 / 60, CENTRAL),)), np.array([0.0, 9e5]))
    assert round(out[-1, CENTRAL] / DOMINO.v1_l * 1000, 2) == 8.63  # docs/evidence.md PK0


def test_domino_bolus_coefficients_match_stanpumpr():
    # docs/evidence.md PK1.1: C(t) = 211.93 e^-1.724037t + 12.96 e^-0.151516t + 1.870 e^-0.006047t ng/mL per mg
    out = Solver(DOMINO).run(Inputs((), ((0.0, 1.0, CENTRAL),)), np.array([0.0, 10.0, 100.0]))
    c = out[:, CENTRAL] / DOMINO.v1_l * 1000
    for t, value in zip((0.0, 10.0, 100.0), c):
        expected = (211.93 * math.exp(-1.724037 * t) + 12.96 * math.exp(-0.151516 * t)
                    + 1.870 * math.exp(-0.006047 * t))
        assert math.isclose(value, expected, rel_tol=2e-3)


def test_icu_steady_state_prediction_matches_pk_notes():
    # docs/evidence.md PK1.4: 84 mg/h -> Domino predicts 725 ng/mL
    out = Solver(DOMINO).run(Inputs(((0.0, 1e6, 84 / 60, CENTRAL),)), np.array([0.0, 9e5]))
    assert round(out[-1, CENTRAL] / DOMINO.v1_l * 1000) == 725


rates = st.floats(min_value=0.01, max_value=5)
starts = st.floats(min_value=0, max_value=600)
lengths = st.floats(min_value=1, max_value=600)
GRID = np.linspace(0, 1500, 301)


@settings(max_examples=budget(40), deadline=None)
@given(rates, starts, lengths, st.floats(min_value=0.1, max_value=10))
def test_linearity(rate, start, length, k):
    one = Solver(DOMINO).run(Inputs(((start, start + length, rate, CENTRAL),)), GRID)
    scaled = Solver(DOMINO).run(Inputs(((start, start + length, rate * k, CENTRAL),)), GRID)
    assert np.allclose(scaled, one * k, rtol=1e-9, atol=1e-12)


@settings(max_examples=budget(40), deadline=None)
@given(rates, starts, lengths, rates, starts, lengths)
def test_superposition(r1, s1, l1, r2, s2, l2):
    a = (s1, s1 + l1, r1, CENTRAL)
    solver = Solver(DOMINO, math.log(2) / 30)
    both = solver.run(Inputs((a, (s2, s2 + l2, r2, DEPOT))), GRID)
    sum_ = solver.run(Inputs((a,)), GRID) + solver.run(Inputs(((s2, s2 + l2, r2, DEPOT),)), GRID)
    assert np.allclose(both, sum_, rtol=1e-9, atol=1e-10)


@settings(max_examples=budget(40), deadline=None)
@given(rates, starts, lengths, st.sampled_from(list(MODELS)))
def test_non_negative_and_mass_balance(rate, start, length, model):
    params = MODELS[model].params(70)
    out = Solver(params).run(Inputs(((start, start + length, rate, CENTRAL),)), GRID)
    assert (out > -1e-9).all()
    given_mg = rate * np.clip(GRID - start, 0, length)
    in_body = out[:, CENTRAL] + out[:, 2] + out[:, 3]
    assert np.allclose(given_mg, in_body + out[:, ELIMINATED], rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- CLI

IDS = ["crps-schwartzman-2009", "crps-sigtermans-2009", "sci-amr-2010", "cancer-pain-burst-ketamine",
       "consensus-cohen-2018", "oral-marchetti-2015", "crps-goldberg-2010", "crps-ketcrps2-esketamine"]
PATIENT = ["--weight", "72kg", "--height", "168cm", "--sex", "female"]


@pytest.mark.parametrize("rid", IDS)
def test_simulate_json_contract(run, rid):
    r = run("simulate", rid, *PATIENT, "--format", "json", "--resolution", "10 min")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    params = data["model"]["parameters"]
    assert {"v1_l", "k10_per_min", "k12_per_min", "k21_per_min", "k13_per_min", "k31_per_min"} <= set(params)
    if data["route"] in ("oral", "sc"):
        assert {"ka_per_min", "f"} <= set(params)
    assert {"id", "citation", "drug", "parameters"} <= set(data["model"])
    s = data["series"][5]
    assert set(s) == {"t_h", "ketamine_ng_per_ml", "norketamine_ng_per_ml"}
    assert {"day", "cmax_ng_per_ml", "tmax_h", "trough_ng_per_ml", "auc_ng_h_per_ml"} <= set(data["days"][0])
    assert all({"name", "ng_per_ml", "hours_above", "source"} <= set(t) for t in data["thresholds"])


def test_topical_cannot_be_simulated(run):
    r = run("simulate", "topical-rabi-2016", *PATIENT)
    assert r.exit_code == 2 and "cannot be simulated" in r.stderr


def test_sc_assumption_is_visible_and_overridable(run):
    data = json.loads(run("simulate", "cancer-pain-burst-ketamine", *PATIENT, "--format", "json",
                          "--resolution", "10 min").stdout)
    assert "ASSUMPTION" in data["model"]["absorption_source"]
    assert any("assumptions" in w for w in data["warnings"])
    data = json.loads(run("simulate", "cancer-pain-burst-ketamine", *PATIENT, "--format", "json",
                          "--f", "0.8", "--ka", "0.05", "--resolution", "10 min").stdout)
    assert data["model"]["parameters"]["f"] == 0.8 and data["model"]["parameters"]["ka_per_min"] == 0.05


def test_oral_warns_norketamine_not_modelled(run):
    data = json.loads(run("simulate", "oral-marchetti-2015", *PATIENT, "--format", "json",
                          "--resolution", "30 min").stdout)
    assert any("understate" in n for n in data["notes"])


def test_wrong_drug_model_warns(run):
    data = json.loads(run("simulate", "crps-sigtermans-2009", *PATIENT, "--model", "domino-1984",
                          "--format", "json", "--resolution", "10 min").stdout)
    assert any("extrapolation" in w for w in data["warnings"])


def test_table_chart_fits_80_columns(run):
    r = run("simulate", "crps-schwartzman-2009", *PATIENT)
    assert r.exit_code == 0
    chart = [ln for ln in r.stdout.splitlines() if "|" in ln and ln.strip()[0].isdigit()]
    assert chart and max(len(ln) for ln in chart) <= 80


def test_plot_svg(run, tmp_path):
    path = tmp_path / "c.svg"
    r = run("simulate", "sci-amr-2010", *PATIENT, "--plot", str(path), "--format", "csv")
    assert r.exit_code == 0 and path.read_text().startswith("<svg")
    assert r.stdout.startswith("t_h,ketamine_ng_per_ml,norketamine_ng_per_ml")


def test_compare(run):
    r = run("compare", "crps-schwartzman-2009", "crps-sigtermans-2009", "topical-rabi-2016",
            *PATIENT, "--format", "json")
    rows = json.loads(r.stdout)["regimens"]
    assert [x["id"] for x in rows] == ["crps-schwartzman-2009", "crps-sigtermans-2009", "topical-rabi-2016"]
    assert rows[0]["peak_ng_per_ml"] > 0 and rows[2]["peak_ng_per_ml"] is None and rows[2]["note"]
    assert run("compare", "crps-schwartzman-2009", "sci-amr-2010", *PATIENT).exit_code == 0


def test_models_lists_status(run):
    data = json.loads(run("models", "--format", "json").stdout)
    ids = {m["id"]: m for m in data}
    assert ids["domino-1984"]["css_ng_per_ml_per_mg_per_h"] == 8.63
    assert {m["status"] for m in data} >= {"transcribed in code", "verified (abstract)", "UNVERIFIED"}


def test_numpy_is_not_imported_by_other_commands():
    code = ("import sys; from ketadose.cli import main; sys.argv=['ketadose','validate',"
            "'crps-schwartzman-2009']\ntry:\n  main()\nexcept SystemExit:\n  pass\n"
            "print('NUMPY' if 'numpy' in sys.modules else 'CLEAN', file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stderr.strip().endswith("CLEAN")
