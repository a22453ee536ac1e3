"""Short cuts taken for speed (issue 18) give the same answers as the long way."""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REGIMENS, template_text
from ketadose.io import regimens as io_regimens
from ketadose.io.regimens import catalogue, resolve
from ketadose.render.data import Rounded, Rows, to_json


def test_every_shipped_template_is_named_after_its_id():
    # what lets a lookup by id read one shipped file instead of all of them
    cat = catalogue()
    assert len(cat) >= 9
    for rid, src in cat.items():
        assert os.path.basename(src.name) == rid + ".yaml"


def test_lookup_by_id_reads_one_file_and_equals_the_catalogue(monkeypatch):
    expected = {rid: (src.name, src.raw, src.doc.data) for rid, src in catalogue().items()}
    reads = []
    real = io_regimens.read_source
    monkeypatch.setattr(io_regimens, "read_source", lambda p: reads.append(p) or real(p))
    monkeypatch.delenv(io_regimens.ENV_VAR, raising=False)
    for rid, want in expected.items():
        reads.clear()
        src = resolve(rid)
        assert (src.name, src.raw, src.doc.data) == want
        assert len(reads) == 1


@pytest.mark.parametrize("where", ["env", "flag"])
def test_a_clinic_folder_still_sees_every_template(tmp_path, monkeypatch, where):
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "copy.yaml").write_text(template_text())  # the shipped id a second time
    extra = ()
    if where == "env":
        monkeypatch.setenv(io_regimens.ENV_VAR, str(folder))
    else:
        extra = (str(folder),)
    with pytest.raises(Exception, match="defined twice"):
        resolve("crps-schwartzman-2009", extra)


def test_names_that_are_not_plain_ids_take_the_long_way(monkeypatch):
    monkeypatch.delenv(io_regimens.ENV_VAR, raising=False)
    assert io_regimens._shipped_by_name(".crps-schwartzman-2009") is None
    assert io_regimens._shipped_by_name("no-such-template") is None
    assert io_regimens._shipped_by_name("crps-schwartzman-2009").name.endswith(
        "crps-schwartzman-2009.yaml")
    assert REGIMENS.joinpath("crps-schwartzman-2009.yaml").is_file()


# ----------------------------------------------------------------- simulate's series as JSON
_scalars = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none(),
                     st.integers(-10**6, 10**6), st.booleans(), st.text(max_size=5))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5), st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4,
                                   unique=True), st.data())
def test_rows_render_exactly_as_the_list_of_dicts(n, names, data):
    columns = {}
    for name in names:
        kind = data.draw(st.sampled_from(["float", "any"]))
        strategy = st.floats(allow_nan=False, allow_infinity=False) if kind == "float" else _scalars
        columns[name] = data.draw(st.lists(strategy, min_size=n, max_size=n))
    rows = Rows(columns)
    before = {"a": 1, "x": {"y": [1.5, None]}}
    assert to_json({**before, "series": rows, "z": "\u202e"}) == \
        to_json({**before, "series": rows.as_list(), "z": "\u202e"})
    assert json.loads(to_json({"series": rows}))["series"] == rows.as_list()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_rows_refuse_what_json_refuses(bad):
    with pytest.raises(ValueError):
        to_json({"series": Rows({"t": [1.0, bad]})})


# every magnitude a series can hold and the awkward ones: -0.0, ties, tiny, huge, NaN, inf
_series_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e-3, 1e-3), st.floats(0, 300), st.floats(-1e12, 1e12),
    st.integers(-10**7, 10**7).map(lambda i: i / 2e4),  # 4th-decimal ties such as 0.00005
    st.integers(0, 10**7).map(lambda i: i / 60 / 60),  # hours of a 1-second grid
    st.sampled_from([0.0, -0.0, 1e-4, 5e-5, -5e-5, 1e-7, 99999999999.99995, 1e11, 1e15, 1e16,
                     float("nan"), float("inf"), float("-inf")]))


def _long_way(values: list, digits: int) -> list:
    """The reference: round() each value (a negative zero written as 0.0), then its JSON text
    as json.dumps writes it."""
    return [json.dumps(round(v, digits) + 0.0, allow_nan=False) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(_series_floats, max_size=40), st.integers(1, 15))
def test_rounded_column_texts_are_round_then_json_dumps(values, digits):
    column = Rounded(np.array(values, dtype=np.float64), digits)
    assert list(map(repr, column)) == [repr(round(v, digits) + 0.0) for v in values]
    texts = column.json_texts()
    finite = all(map(math.isfinite, values))
    if texts is None:
        # only where the short cut may differ: NaN/inf, too large, or tiny with digits > 4
        assert not finite or any(abs(v) >= 10.0 ** (15 - digits) for v in values) or (
            digits > 4 and any(0 < abs(v) < 1e-4 for v in values))
    else:
        assert finite and texts == _long_way(values, digits)
    # Rows writes the column exactly as the list of rounded floats, or refuses as it does
    rows, plain = Rows({"t": column}), {"t": [round(v, digits) + 0.0 for v in values]}
    if finite:
        assert to_json({"series": rows}) == to_json({"series": Rows(plain)})
    else:
        with pytest.raises(ValueError):
            to_json({"series": rows})


def test_rounded_column_takes_the_short_cut_on_a_series():
    t = np.arange(0, 14401) / 60.0
    c = np.abs(np.sin(t)) * 123.456789 + np.where(t > 100, 1e-9, 0.0)
    for values, digits in ((t, 6), (c, 4), (-c, 4)):
        texts = Rounded(values, digits).json_texts()
        assert texts is not None and texts == _long_way(values.tolist(), digits)
    assert Rounded(np.array([1, 2]), 4).json_texts() is None  # round() of an int is an int
    edges = [0.0, -0.0, 1e-5, -2e-6, 5e-7, 1.5e-5, 4.9999e-5, 5e-5, 1e-4, 0.123456789012345,
             12345.678901234567, 99999.99999949999, 1e9 - 1e-7, 1e10 + 0.5, 99999999999.99995]
    for digits in range(1, 16):
        for value in edges:
            texts = Rounded(np.array([value, 1.0]), digits).json_texts()
            assert texts is None or texts == _long_way([value, 1.0], digits), (value, digits)


_LONG_WAY_SIMULATE = """
import sys
from ketadose.commands import simulate as cmd
from ketadose.io.patients import load_patient
from ketadose.render.data import Rounded, Rows, to_json
from ketadose.render.documents.simulation import document, series_columns
from ketadose.simulation import simulation
from ketadose.commands.simulate import resolution_minutes
patient, _ = load_patient(None, {**__import__("ketadose.fastpath").fastpath.PATIENT_DEFAULTS,
                                 "weight": "72kg", "age": 40})
src, plan = cmd._plan((), sys.argv[1], patient)
run = simulation(plan, src.sha256, sys.argv[2] or None, resolution_minutes(sys.argv[3]), None,
                 None, explain=False, spread=False)
doc = document(run)
doc["series"] = Rows(series_columns(run.result, None))  # lists of round()ed floats
sys.stdout.write(to_json(doc))
"""


@pytest.mark.parametrize(("regimen", "model", "resolution"), [
    ("crps-schwartzman-2009", "", "1min"), ("crps-schwartzman-2009", "flint-2017", "6s"),
    ("crps-ketcrps2-esketamine", "", "1min"), ("oral-marchetti-2015", "domino-1984", "60min"),
    ("sci-amr-2010", "flint-2017", "7s")])
def test_simulate_json_through_the_entry_point_equals_the_long_way(regimen, model, resolution):
    import subprocess
    import sys

    args = ["simulate", regimen, "--weight", "72kg", "--age", "40", "--format", "json",
            "--resolution", resolution] + (["--model", model] if model else [])
    code = "import sys; from ketadose.launch import main; sys.argv[0] = 'ketadose'; main()"
    fast = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=120,
                          check=True)
    long = subprocess.run([sys.executable, "-c", _LONG_WAY_SIMULATE, regimen, model, resolution],
                          capture_output=True, timeout=120, check=True)
    assert len(fast.stdout) > 10000 and fast.stdout == long.stdout


@pytest.mark.parametrize(("given", "step_h"), [("6s", 0.001667), ("30 s", 0.008333),
                                               ("0.1 min", 0.001667), ("2min", 0.033333)])
def test_resolution_in_seconds(run, given, step_h):
    r = run("simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "csv",
            "--resolution", given)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[2].split(",")[0] == f"{step_h}"


@pytest.mark.parametrize("given", ["5s", "5.9 s", "3601s", "2h", "6 ms", "-6s"])
def test_resolution_outside_6s_to_1h_is_refused(run, given):
    r = run("simulate", "crps-schwartzman-2009", "--weight", "72kg", "--resolution", given)
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------- the PK engine's fast path
def _direct(solver, inputs, times):
    """The closed form evaluated point by point from each interval's start (the engine before
    issue 18): one exp per point, the state carried in amounts."""
    pos = {c: i for i, c in enumerate(solver.used)}
    edges = sorted({0.0, float(times[-1])} | {t for a, b, _r, _c in inputs.infusions for t in (a, b)}
                   | {t for t, _m, _c in inputs.impulses})
    edges = [e for e in edges if 0.0 <= e <= times[-1]]
    out, x = np.zeros((len(times), 6)), np.zeros(len(solver.used))
    for a, b in zip(edges, [*edges[1:], None]):
        for t, mg, c in inputs.impulses:
            if t == a:
                x[pos[c]] += mg
        u = np.zeros(len(solver.used))
        for t0, t1, rate, c in inputs.infusions:
            if t0 <= a and b is not None and b <= t1:
                u[pos[c]] += rate
        sel = (times >= a) & ((times < b) if b is not None else True)
        if sel.any():
            out[np.ix_(sel, solver.used)] = solver._propagate(x, u, times[sel] - a)
        if b is not None:
            x = solver._propagate(x, u, [b - a])[0]
    return out


_moment = st.one_of(st.integers(-20, 1500).map(float), st.floats(-20, 1500))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([None, 0.02, 0.1]), st.sampled_from([1.0, 0.1, 0.5, 7.0]),
       st.floats(5, 1500), st.booleans(),
       st.lists(st.tuples(_moment, st.floats(0, 400), st.floats(0, 2), st.booleans()), max_size=5),
       st.lists(st.tuples(_moment, st.floats(0, 50), st.booleans()), max_size=3))
def test_engine_equals_the_direct_closed_form(ka, step, horizon, with_edges, infusions, impulses):
    from ketadose.pk.engine import CENTRAL, DEPOT, Inputs, Solver
    from ketadose.pk.models import MODELS

    def where(oral):
        return DEPOT if oral and ka else CENTRAL

    inputs = Inputs(tuple((a, a + d, r, where(o)) for a, d, r, o in infusions),
                    tuple((t, mg, where(o)) for t, mg, o in impulses))
    times = np.arange(0.0, horizon, step)
    if with_edges:
        extra = [e for a, b, _r, _c in inputs.infusions for e in (a, b)] + \
            [t for t, _m, _c in inputs.impulses]
        times = np.union1d(times, [e for e in extra if 0 <= e <= times[-1]])
    solver = Solver(MODELS["domino-1984"].params(72.0), ka)
    fast, direct = solver.run(inputs, times), _direct(solver, inputs, times)
    assert fast.shape == direct.shape == (len(times), 6)
    assert np.allclose(fast, direct, rtol=1e-11, atol=1e-12 * max(1.0, np.abs(direct).max()))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1.0, 0.1, 7.0]), st.integers(1, 300),
       st.lists(st.one_of(st.integers(-5, 400).map(float), st.floats(-5, 400)), max_size=8))
def test_with_points_is_union1d(step, n, points):
    from ketadose.pk.engine import with_points

    grid = np.arange(n) * step
    got = with_points(grid, points)
    assert np.array_equal(got, np.union1d(grid, np.array(points, dtype=float)))
