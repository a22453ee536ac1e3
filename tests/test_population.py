"""Virtual patients (simulate/compare --population): against the one-patient engine, an
independent ODE solution of the published equations, sampling theory, and properties."""

import json
import math

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from conftest import budget
from ketadose.io.library import limit_library
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.output_schemas import SCHEMAS
from ketadose.pk.batch import BatchSolver, SystemBatchSolver
from ketadose.pk.engine import CENTRAL, DEPOT, Inputs
from ketadose.pk.popmodels import POPULATION_MODELS, SYSTEM_MODELS, omega2, system_matrices
from ketadose.pk.population import (
    PERCENTILES,
    _Summary,
    draw_etas,
    patients,
    percentiles_over_patients,
    simulate_population,
)
from ketadose.pk.simulate import simulate
from ketadose.plan import make_plan

PATIENT = ["--weight", "72kg", "--height", "168cm", "--sex", "female"]


def plan_for(rid, weight="72 kg"):
    patient, _ = load_patient(None, {"weight": weight})
    _src, regimen, findings = load_regimen(rid)
    return make_plan(regimen, patient, limit_library(), regimen_findings=findings)


def run_blocks(pts, inputs, times):
    ks, ms = [], []
    BatchSolver(pts).run(inputs, times, lambda t, ck, cm: (ks.append(ck), ms.append(cm)))
    k = np.concatenate(ks, axis=1)
    m = None if ms[0] is None else np.concatenate(ms, axis=1)
    return k, m


# ----------------------------------------------------------------------------- zero variability

@pytest.mark.parametrize("rid, model", [
    ("crps-schwartzman-2009", "herd-2007"), ("crps-goldberg-2010", "herd-2007"),
    ("oral-marchetti-2015", "herd-2007"), ("cancer-pain-burst-ketamine", "herd-2007"),
    ("crps-sigtermans-2009", "flint-2017"), ("crps-ketcrps2-esketamine", "flint-2017"),
])
def test_zero_variability_equals_the_deterministic_prediction(rid, model):
    plan = plan_for(rid)
    one = simulate(plan, model, 10.0)
    pop = simulate_population(plan, model, n=20, seed=3, resolution_min=10.0, scale=0.0)
    assert np.array_equal(pop.t_h, one.t_h)
    scale = one.ketamine.max()
    for row in pop.ketamine:  # every percentile is the one patient
        assert np.allclose(row, one.ketamine, rtol=1e-9, atol=scale * 1e-11)
    for d_one, d_pop in zip(one.days, pop.days):
        assert math.isclose(d_pop["cmax_ng_per_ml"]["p50"], d_one["cmax_ng_per_ml"], rel_tol=1e-9)
        assert math.isclose(d_pop["auc_ng_h_per_ml"]["p95"], d_one["auc_ng_h_per_ml"],
                            rel_tol=1e-8, abs_tol=1e-9)
    if pop.norketamine is not None:
        for row in pop.norketamine:
            assert np.allclose(row, one.norketamine, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- independent ODE

def flint_ode(weight, infusions, t_eval, cl_mult=1.0, clm_mult=1.0):
    """Flint 2017 as published (Table 3 via nlmixr2lib), written out from its constants:
    d/dt central = -(CL+Q)/V1 central + Q/V2 periph + rate
    d/dt periph  = Q/V1 central - Q/V2 periph
    d/dt snk     = CL/V1 central - CLsnk(t)/Vsnk snk, CLsnk(t) = CLsnk (1 + 0.0087 t[h])
    """
    s = weight / 70.0
    cl = 112.0 * s ** 0.75 * cl_mult  # L/h
    q = 196.0 * s ** 0.75
    v1, v2 = 7.73 * s, 545.0 * s
    clm, vm = 53.2 * s ** 0.75 * clm_mult, 1.0 * s

    def rate(t_h):
        return sum(r for a, b, r in infusions if a <= t_h < b)  # mg/h

    def rhs(t, y):
        c, p, m = y
        return [-(cl + q) / v1 * c + q / v2 * p + rate(t), q / v1 * c - q / v2 * p,
                cl / v1 * c - clm * (1 + 0.0087 * t) / vm * m]

    edges = sorted({0.0, *[e for a, b, _r in infusions for e in (a, b)], float(t_eval[-1])})
    y = [0.0, 0.0, 0.0]
    out = {}
    for a, b in zip(edges, edges[1:]):
        pts = [t for t in t_eval if a <= t <= b]
        sol = solve_ivp(rhs, (a, b), y, t_eval=pts or None, method="LSODA", rtol=1e-10, atol=1e-12)
        for t, yy in zip(sol.t, sol.y.T):
            out[t] = (yy[0] / v1 * 1000, yy[2] / vm * 1000)
        y = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=1e-10, atol=1e-12).y[:, -1]
    return np.array([out[t] for t in t_eval])


def test_parent_metabolite_matches_an_ode_of_the_published_equations():
    pop = POPULATION_MODELS["flint-2017"]
    infusions = [(0.0, 4.0, 20.0), (4.0, 30.0, 10.0), (48.0, 60.0, 15.0)]  # h, h, mg/h
    t_h = np.array([0.25, 1, 3.9, 4.1, 6, 24, 29.9, 30.5, 40, 48.2, 59.9, 61, 72])
    weight = 72.0
    pts, _ = patients(pop, weight, 4, seed=11)
    inputs = Inputs(tuple((a * 60, b * 60, r / 60, CENTRAL) for a, b, r in infusions))
    k, m = run_blocks(pts, inputs, t_h * 60)
    typ = pop.typical(weight)
    s = weight / 70.0
    for i in range(4):
        cl_mult = pts.cl[i] / typ["cl"]
        clm_mult = pts.cl_m[i] / (53.2 / 60 * s ** 0.75)
        ref = flint_ode(weight, infusions, t_h, cl_mult, clm_mult)
        assert np.allclose(k[i], ref[:, 0], rtol=1e-6, atol=1e-6)
        # the metabolite clearance is held constant over 15-min steps: < 0.1% by design
        assert np.allclose(m[i], ref[:, 1], rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("rid, model", [
    ("crps-sigtermans-2009", "perezruixo-2021"), ("oral-marchetti-2015", "perezruixo-2021"),
    ("crps-schwartzman-2009", "flint-2017"), ("crps-schwartzman-2009", "herd-2007")])
def test_no_negative_concentration_and_no_negative_zero_in_the_output(run, rid, model):
    """Round-off made exactly-zero concentrations (t = 0) come out at -1e-11, printed "-0.0"."""
    r = run("simulate", rid, "--weight", "70kg", "--population", "60", "--model", model,
            "--resolution", "30min", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "-0.0" not in r.output
    doc = json.loads(r.output)

    def numbers(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from numbers(v)
        elif isinstance(x, list):
            for v in x:
                yield from numbers(v)
        elif isinstance(x, float):
            yield x

    assert min(numbers(doc)) >= 0.0


def test_drifting_metabolite_clearance_is_exact_over_its_15_min_steps():
    """The solver holds Flint's drifting S-norketamine clearance at its mid-step value over each
    15-min step (by design) and handles the steps of one input interval at once: against an ODE
    with that same stepped clearance it must agree to the ODE's own tolerance, for intervals
    that start and end off the 15-min grid and across many steps."""
    pop = POPULATION_MODELS["flint-2017"]
    pts, _ = patients(pop, 64.0, 3, seed=5)
    infusions = [(7.0, 251.0, 0.3), (251.0, 1003.0, 0.12), (1500.0, 1530.5, 0.5)]  # min, mg/min
    times = np.array([0.0, 6.0, 7.5, 22.0, 37.0, 250.9, 251.0, 260.0, 600.0, 1003.0, 1010.0,
                      1499.0, 1515.25, 1530.5, 1800.0, 2000.0])
    k, m = run_blocks(pts, Inputs(tuple((a, b, r, CENTRAL) for a, b, r in infusions)), times)
    step = 15.0
    cuts = sorted({0.0, times[-1], *(e for a, b, _r in infusions for e in (a, b)),
                   *np.arange(0.0, times[-1], step)})
    for i in range(3):
        v1, v2, vm = pts.v1[i], pts.v2[i], pts.v_m[i]
        cl, q, kf = pts.cl[i], pts.q2[i], pts.fm * pts.cl[i] / pts.v1[i]
        y = np.zeros(3)
        got = {}
        for a, b in zip(cuts, cuts[1:]):
            rate = sum(r for t0, t1, r in infusions if t0 <= a and b <= t1)
            km = pts.cl_m[i] * (1 + pts.cl_m_slope_per_min * (a + b) / 2) / vm

            def rhs(t, x, rate=rate, km=km, cl=cl, q=q, v1=v1, v2=v2, kf=kf):
                c, p, n = x
                return [-(cl + q) / v1 * c + q / v2 * p + rate, q / v1 * c - q / v2 * p,
                        kf * c - km * n]

            at = [t for t in times if a <= t <= b]
            sol = solve_ivp(rhs, (a, b), y, t_eval=at or None, method="LSODA", rtol=1e-11,
                            atol=1e-13)
            got.update({t: (x[0] / v1 * 1000, x[2] / vm * 1000) for t, x in zip(sol.t, sol.y.T)})
            y = sol.y[:, -1] if at and at[-1] == b else solve_ivp(
                rhs, (a, b), y, method="LSODA", rtol=1e-11, atol=1e-13).y[:, -1]
        ref = np.array([got[t] for t in times])
        assert np.allclose(k[i], ref[:, 0], rtol=1e-6, atol=1e-7)
        assert np.allclose(m[i], ref[:, 1], rtol=1e-6, atol=1e-7)


def test_metabolite_with_oral_absorption_matches_an_ode():
    pop = POPULATION_MODELS["flint-2017"]
    pts, _ = patients(pop, 70.0, 1, seed=0, ka=math.log(2) / 59.0, scale=0.0)
    pts.cl_m_slope_per_min = 0.0  # time-invariant case: exact up to the ODE's tolerance
    doses = ((0.0, 50.0 * 0.08, DEPOT), (480.0, 50.0 * 0.08, DEPOT))  # F applied to the dose
    t = np.array([5.0, 30, 60, 200, 479, 481, 700, 1400])
    k, m = run_blocks(pts, Inputs((), doses), t)
    cl, q, v1, v2, clm, vm = 112 / 60, 196 / 60, 7.73, 545.0, 53.2 / 60, 1.0
    ka = math.log(2) / 59.0

    def rhs(_t, y):
        d, c, p, mm = y
        return [-ka * d, ka * d - (cl + q) / v1 * c + q / v2 * p, q / v1 * c - q / v2 * p,
                cl / v1 * c - clm / vm * mm]

    y = [50 * 0.08, 0, 0, 0]
    a = solve_ivp(rhs, (0, 480), y, t_eval=t[t < 480], rtol=1e-11, atol=1e-13, method="LSODA")
    y2 = solve_ivp(rhs, (0, 480), y, rtol=1e-11, atol=1e-13, method="LSODA").y[:, -1]
    y2[0] += 50 * 0.08
    b = solve_ivp(rhs, (480, 1400), y2, t_eval=t[t > 480], rtol=1e-11, atol=1e-13, method="LSODA")
    ref = np.concatenate([a.y, b.y], axis=1)
    assert np.allclose(k[0], ref[1] / v1 * 1000, rtol=1e-6, atol=1e-8)
    assert np.allclose(m[0], ref[3] / vm * 1000, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- sampling

@pytest.mark.parametrize("model", list(POPULATION_MODELS))
def test_log_normal_sample_cv_matches_the_published_cv(model):
    pop = POPULATION_MODELS[model]
    n = 40_000
    eta = draw_etas(pop, n, seed=5)
    for name, cv in pop.iiv.items():
        x = np.exp(eta[name])
        sample_cv = x.std(ddof=1) / x.mean()
        # standard error of a log-normal's sample CV, roughly CV sqrt((1 + 2 CV^2) / (2n)),
        # wider for heavy tails: allow 5 standard errors (plus slack for CV > 1)
        se = cv.value * math.sqrt((1 + 2 * cv.value ** 2) / (2 * n)) * (1 + cv.value)
        assert abs(sample_cv - cv.value) < 5 * se, (name, sample_cv, cv.value)
        assert abs(eta[name].var() - omega2(cv.value)) < 5 * omega2(cv.value) * math.sqrt(2 / n)
    for a, b, r in pop.correlations:
        got = np.corrcoef(eta[a], eta[b])[0, 1]
        assert abs(got - r.value) < 5 * (1 - r.value ** 2) / math.sqrt(n)


def test_same_seed_same_patients_and_different_seed_differs():
    pop = POPULATION_MODELS["herd-2007"]
    a, _ = patients(pop, 70.0, 100, seed=9)
    b, _ = patients(pop, 70.0, 100, seed=9)
    c, _ = patients(pop, 70.0, 100, seed=10)
    assert np.array_equal(a.cl, b.cl) and not np.array_equal(a.cl, c.cl)


def test_median_cmax_converges_as_n_grows():
    plan = plan_for("crps-schwartzman-2009")

    def medians(n):
        return [simulate_population(plan, "herd-2007", n=n, seed=s, resolution_min=30.0)
                .days[0]["cmax_ng_per_ml"]["p50"] for s in range(6)]

    small, large = np.array(medians(50)), np.array(medians(3200))
    # the median's sampling spread shrinks like 1/sqrt(N): 8x here; ask for at least 3x
    assert large.std() < small.std() / 3
    # and the large-N medians agree with each other to within a few percent
    assert large.max() - large.min() < 0.05 * large.mean()


# ----------------------------------------------------------------------------- properties

infusion = st.tuples(st.floats(0, 2000), st.floats(5, 600), st.floats(0.01, 2.0))


@settings(max_examples=budget(25), deadline=None)
@given(st.lists(infusion, min_size=1, max_size=4), st.sampled_from(list(POPULATION_MODELS)),
       st.integers(0, 2 ** 31 - 1))
def test_percentiles_are_ordered_at_every_time(infs, model, seed):
    pop = POPULATION_MODELS[model]
    inputs = Inputs(tuple((a, a + d, r, CENTRAL) for a, d, r in infs))
    times = np.arange(0.0, 3000.0, 7.0)
    summary = _Summary(60, [0.0, 1440.0, 2880.0, 2993.0], [50.0, 100.0], pop.metabolite is not None)
    if model in SYSTEM_MODELS:
        k, vc, vcn = system_matrices(pop, draw_etas(pop, 60, seed), 60, 70, oral=False)
        SystemBatchSolver(k, [(0, vc), (4, vcn)], {CENTRAL: 0}).run(inputs, times, summary)
    else:
        pts, _ = patients(pop, 70.0, 60, seed)
        BatchSolver(pts).run(inputs, times, summary)
    for rows in (summary.pk, summary.pm):
        for block in rows:
            assert (np.diff(block, axis=0) >= -1e-9 * (1 + np.abs(block[:-1]))).all()


@settings(max_examples=budget(25), deadline=None)
@given(st.lists(infusion, min_size=1, max_size=3), st.floats(0.05, 3.0), st.floats(1.01, 4.0),
       st.floats(5.0, 800.0), st.integers(0, 1000))
def test_chance_of_crossing_a_threshold_is_monotone_in_dose(infs, dose, factor, level, seed):
    pop = POPULATION_MODELS["herd-2007"]
    pts, _ = patients(pop, 70.0, 80, seed)
    times = np.arange(0.0, 3000.0, 10.0)

    def p_above(k):
        summary = _Summary(80, [0.0, 3000.0], [level], False)
        inputs = Inputs(tuple((a, a + d, r * k, CENTRAL) for a, d, r in infs))
        BatchSolver(pts).run(inputs, times, summary)
        peak = summary.day_max.max(axis=1)
        return (peak > level).mean(), summary.above_min[:, 0]

    low, hours_low = p_above(dose)
    high, hours_high = p_above(dose * factor)
    assert high >= low
    assert (hours_high >= hours_low - 1e-9).all()


def test_percentiles_match_numpy():
    x = np.random.default_rng(0).lognormal(size=(101, 7))
    assert np.allclose(percentiles_over_patients(x), np.percentile(x, PERCENTILES, axis=0))


# ----------------------------------------------------------------------------- CLI

@pytest.mark.parametrize("rid, model", [
    ("crps-schwartzman-2009", None), ("crps-sigtermans-2009", None), ("oral-marchetti-2015", None),
    ("cancer-pain-burst-ketamine", None), ("crps-ketcrps2-esketamine", "perezruixo-2021"),
    ("oral-marchetti-2015", "perezruixo-2021")])
def test_population_json_contract(run, rid, model):
    r = run("simulate", rid, *PATIENT, "--population", "50", "--format", "json",
            "--resolution", "30 min", *(("--model", model) if model else ()))
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    jsonschema.validate(data, SCHEMAS["simulate-population"])
    schema = json.loads(run("schema", "simulate-population").stdout)
    jsonschema.validate(data, schema)
    assert data["population"]["n"] == 50 and data["population"]["seed"] == 1
    assert data["unverified"]  # every model carries at least one mark today
    for t in data["thresholds"]:
        assert t["source"] and 0 <= t["p_peak_above"] <= 1
        assert math.isclose(t["p_peak_above"] + t["p_never_above"], 1.0)
    if data["regimen"]["drug"] == "esketamine" or model:
        assert data["series"][3]["norketamine_ng_per_ml"] is not None
        assert "norketamine_cmax_ng_per_ml" in data["days"][0]


def test_population_default_n_and_reproducible(run):
    args = ("simulate", "crps-sigtermans-2009", *PATIENT, "--population", "--format", "json",
            "--resolution", "60 min")
    a, b = run(*args), run(*args)
    assert a.exit_code == 0, a.stderr
    assert json.loads(a.stdout)["population"]["n"] == 1000
    assert a.stdout == b.stdout
    c = run(*args, "--seed", "2")
    assert c.stdout != a.stdout


def test_population_marks_show_in_table_and_csv(run, tmp_path):
    r = run("simulate", "crps-sigtermans-2009", *PATIENT, "--population", "40",
            "--resolution", "30 min")
    assert r.exit_code == 0, r.stderr
    assert "UNVERIFIED/assumed" in r.stdout and "transcribed in code" in r.stdout
    assert "S-norketamine" in r.stdout
    r = run("simulate", "crps-sigtermans-2009", *PATIENT, "--population", "40", "--format", "csv",
            "--resolution", "30 min", "--plot", str(tmp_path / "c.svg"))
    header, first = r.stdout.splitlines()[:2]
    assert header.split(",")[:3] == ["t_h", "ketamine_p5", "ketamine_p25"]
    assert "transcribed in code" in first
    assert "<polygon" in (tmp_path / "c.svg").read_text()


@pytest.mark.parametrize("args, message", [
    (("--population", "0"), "between 1 and"),
    (("--population", "10", "--model", "domino-1984"), "no published between-patient variability"),
    (("--population", "10", "--model", "nope"), "no model"),
    (("--population", "10", "--seed", "-1"), "--seed must be"),
    (("--model", "perezruixo-2021"), "for --population only"),
    (("--population", "10", "--model", "perezruixo-2021", "--f", "0.5"), "its own absorption"),
])
def test_population_bad_input_is_exit_2(run, args, message):
    r = run("simulate", "crps-schwartzman-2009", *PATIENT, *args)
    assert r.exit_code == 2 and message in r.stderr


def test_compare_population_uses_the_same_virtual_patients(run):
    r = run("compare", "crps-schwartzman-2009", "crps-schwartzman-2009", "sci-amr-2010",
            "topical-rabi-2016", *PATIENT, "--population", "60", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["regimens"]
    # the same regimen twice on the same virtual patients: every patient's ratio is exactly 1
    assert all(v == 1.0 for v in rows[1]["peak_ratio_to_first"].values())
    assert rows[2]["peak_ratio_to_first"] is not None
    assert rows[3]["model"] is None and rows[3]["note"]
    assert run("compare", "crps-schwartzman-2009", "crps-sigtermans-2009", *PATIENT,
               "--population", "30").exit_code == 0


def test_population_through_the_installed_command_and_a_pipe():
    import shutil
    import subprocess

    exe = shutil.which("ketadose")
    assert exe, "the ketadose command is installed with the package"
    r = subprocess.run([exe, "simulate", "crps-schwartzman-2009", *PATIENT, "--population", "30",
                        "--seed", "4", "--resolution", "60 min", "--format", "csv"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("t_h,ketamine_p5") and len(lines) == 11 * 24 + 2
    r = subprocess.run([exe, "simulate", "crps-schwartzman-2009", *PATIENT, "--population", "-5"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_population_text_charts_fit_80_columns(run):
    r = run("simulate", "crps-sigtermans-2009", *PATIENT, "--population", "30",
            "--resolution", "30 min")
    chart = [ln for ln in r.stdout.splitlines() if "|" in ln and ln.strip()[:1].isdigit()]
    assert len(chart) >= 28 and max(len(ln) for ln in chart) <= 80


@pytest.mark.parametrize("extra", [(), ("--population", "20")])
def test_oral_metabolite_model_warns_of_missing_first_pass_formation(run, extra):
    r = run("simulate", "oral-marchetti-2015", *PATIENT, "--model", "flint-2017", *extra,
            "--format", "json", "--resolution", "60 min")
    assert r.exit_code == 0, r.stderr
    warnings = json.loads(r.stdout)["warnings"]
    assert any("UNDER-predicts norketamine" in w for w in warnings)
    assert any("extrapolation" in w for w in warnings)


def perez_ruixo_ode(p, iv, oral, t_eval):
    """Perez-Ruixo 2021 (Table 3 via nlmixr2lib) written out from the published constants, in
    hours: central, two peripherals, liver (hepato-portal), S-norketamine central and peripheral,
    and an oral depot filled at a constant rate over Dpo then emptied into the liver at ka_po."""
    def rhs(t, y):
        c, p1, p2, liv, mc, mp, dep = y
        rate_iv = sum(r for a, b, r in iv if a <= t < b)
        rate_po = sum(mg * 0.64 / 0.32 for t0, mg in oral if t0 <= t < t0 + 0.32)
        return [rate_iv - (84.3 + 37.6 + p["qh"]) / p["vc"] * c + 84.3 / p["vp1"] * p1
                + 37.6 / 417 * p2 + p["qh"] / p["vh"] * liv,
                84.3 / p["vc"] * c - 84.3 / p["vp1"] * p1,
                37.6 / p["vc"] * c - 37.6 / 417 * p2,
                p["qh"] / p["vc"] * c - (p["qh"] / p["vh"] + p["kel"] + 2.77) * liv
                + p["ka"] * dep,
                2.77 * liv - (p["cln"] + 26.1) / p["vcn"] * mc + 26.1 / 115 * mp,
                26.1 / p["vcn"] * mc - 26.1 / 115 * mp,
                rate_po - p["ka"] * dep]
    edges = sorted({0.0, float(t_eval[-1]), *[e for a, b, _r in iv for e in (a, b)],
                    *[e for t0, _mg in oral for e in (t0, t0 + 0.32)]})
    y, out = [0.0] * 7, {}
    for a, b in zip(edges, edges[1:]):
        pts = [t for t in t_eval if a <= t <= b]
        sol = solve_ivp(rhs, (a, b), y, t_eval=pts or None, method="LSODA", rtol=1e-10, atol=1e-12)
        for t, yy in zip(sol.t, sol.y.T):
            out[t] = (yy[0] / p["vc"] * 1000, yy[4] / p["vcn"] * 1000)
        y = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=1e-10, atol=1e-12).y[:, -1]
    return np.array([out[t] for t in t_eval])


@pytest.mark.parametrize("oral", [False, True])
def test_system_model_matches_an_ode_of_the_published_equations(oral):
    pop = SYSTEM_MODELS["perezruixo-2021"]
    n = 3
    eta = draw_etas(pop, n, seed=7)
    k, vc, vcn = system_matrices(pop, eta, n, 67, oral=oral)
    iv = [] if oral else [(0.0, 2.0, 20.0), (24.0, 26.0, 10.0)]  # h, h, mg/h
    po = [(0.0, 50.0), (8.0, 50.0)] if oral else []  # h, mg
    inputs = Inputs(tuple((a * 60, b * 60, r / 60, CENTRAL) for a, b, r in iv)
                    + tuple((t * 60, t * 60 + 19.2, mg * 0.64 / 19.2, DEPOT) for t, mg in po))
    t_h = np.array([0.1, 0.3, 1.0, 2.0, 2.5, 6.0, 8.2, 12.0, 24.5, 30.0, 40.0])
    ks, ms = [], []
    SystemBatchSolver(k, [(0, vc), (4, vcn)], {CENTRAL: 0, DEPOT: 6}).run(
        inputs, t_h * 60, lambda t, ck, cm: (ks.append(ck), ms.append(cm)))
    got_k, got_m = np.concatenate(ks, axis=1), np.concatenate(ms, axis=1)
    typical = {name: s.value for name, s in pop.typical.items()}
    for i in range(n):
        def ind(name, i=i):
            return typical[name] * math.exp(eta[name][i])
        p = {"vc": ind("vc"), "vp1": ind("vp1"), "vh": ind("vh"), "kel": ind("kel"),
             "vcn": ind("vcn"), "cln": ind("cln"), "ka": ind("ka_po"),
             "qh": (151.0 - 2.19 * (67 - 60)) * math.exp(eta["qh"][i])}
        ref = perez_ruixo_ode(p, iv, po, t_h)
        assert np.allclose(got_k[i], ref[:, 0], rtol=1e-6, atol=1e-7)
        assert np.allclose(got_m[i], ref[:, 1], rtol=1e-6, atol=1e-7)
