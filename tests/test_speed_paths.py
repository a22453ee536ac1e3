"""Short cuts taken for speed (issue 18) give the same answers as the long way."""

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REGIMENS, template_text
from ketadose.io import regimens as io_regimens
from ketadose.io.regimens import catalogue, resolve
from ketadose.render.data import Rows, to_json


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
