"""Results in, renderers out (issue 17 item 1) for validate, simulate, compare, list and show:
every renderer writes only to the stream it is given, and the formats of one result agree
(the text summary counts what the JSON lists; the CSV has a row per JSON series point)."""

from __future__ import annotations

import io
import json
import sys

import pytest
import yaml

from conftest import TEMPLATE_NAMES, template_text
from ketadose.findings import Finding
from ketadose.io.library import limit_library, vocabulary
from ketadose.patient import Patient
from ketadose.plan import make_plan
from ketadose.render.data import to_json
from ketadose.render.documents import library as library_doc
from ketadose.render.documents import simulation as simulation_doc
from ketadose.render.documents import validation as validation_doc
from ketadose.render.library import listing_table, template_tables
from ketadose.render.simulation import simulation_tables
from ketadose.render.validation import github, text
from ketadose.templates import Template, listing
from ketadose.validate import validate
from ketadose.validation import FileValidation, Validation


def _template(name: str) -> Template:
    raw = template_text(name)
    regimen, findings = validate(yaml.safe_load(raw), limit_library(),
                                 substances=vocabulary().substances)
    assert regimen is not None
    return Template(name, "0" * 64, raw, regimen, tuple(findings))


class _NoStdout(io.StringIO):
    def write(self, s):  # pragma: no cover - reached only by a renderer that breaks the contract
        raise AssertionError(f"a renderer wrote to standard output: {s[:80]!r}")


@pytest.fixture
def stdout_forbidden(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _NoStdout())


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_show_writes_the_whole_regimen_to_its_stream(name, stdout_forbidden):
    t = _template(name)
    buf = io.StringIO()
    template_tables(t, buf)
    shown = buf.getvalue()
    assert t.regimen.id in shown and "Evidence" in shown and "Monitoring" in shown
    assert all(p.name in shown for p in t.regimen.phases)
    doc = library_doc.template_document(t)
    assert doc["regimen"]["id"] == t.regimen.id and doc["sha256"] == t.sha256


def test_list_writes_one_row_per_template_to_its_stream(stdout_forbidden):
    templates = [_template(n) for n in TEMPLATE_NAMES]
    result = listing(templates, None, "iv")
    buf = io.StringIO()
    listing_table(result, buf)
    rows = library_doc.listing_document(result)
    assert [r["id"] for r in rows] == [t.regimen.id for t in templates if t.regimen.route == "iv"]
    assert f"{len(rows)} regimen template(s)" in buf.getvalue()


def _validation(n_files: int) -> Validation:
    files = []
    for i in range(n_files):
        findings = tuple(Finding(f"KD-V00{k % 6 + 1}", ("error", "warning", "info")[k % 3],
                                 f"message {k}", "src", where=f"f{i}.yaml:{k + 1}:1")
                         for k in range(i))
        files.append(FileValidation(f"f{i}.yaml", findings))
    return Validation(tuple(files))


@pytest.mark.parametrize("n_files", [0, 1, 2, 5])
def test_validate_formats_agree(n_files, stdout_forbidden):
    result = _validation(n_files)
    out, gh = io.StringIO(), io.StringIO()
    text(result, out)
    github(result, gh)
    listed = json.loads(to_json(validation_doc.document(result)))
    lines = out.getvalue().splitlines()
    assert len(lines) == len(listed) + 1 == len(gh.getvalue().splitlines()) + 1
    errors = sum(f["severity"] == "error" for f in listed)
    warnings = sum(f["severity"] == "warning" for f in listed)
    assert lines[-1].startswith(f"{n_files} file(s) checked: {errors} error(s), "
                                f"{warnings} warning(s)")
    assert result.exit_code == (1 if errors else 0)
    quiet = io.StringIO()
    text(result, quiet, summary=False)
    assert quiet.getvalue().splitlines() == lines[:-1]


def test_simulation_formats_agree(stdout_forbidden):
    from ketadose.simulation import simulation

    regimen = _template("sci-amr-2010.yaml").regimen
    from ketadose.units import parse_quantity

    patient = Patient(weight=parse_quantity("70 kg"), age=50, sex="female")
    plan = make_plan(regimen, patient, limit_library())
    run = simulation(plan, "0" * 64, None, 10.0, None, None, explain=True, spread=True)
    doc = json.loads(to_json(simulation_doc.document(run)))
    assert len(doc["series"]) == len(simulation_doc.csv_rows(run)) == len(run.result.t_h)
    assert doc["explain"] == list(run.explain)
    buf = io.StringIO()
    simulation_tables(run, buf)
    assert run.title in buf.getvalue() and "Explanation (--explain):" in buf.getvalue()


def test_models_formats_agree(stdout_forbidden):
    """`models`: the table and the JSON list show the same models, the JSON rounding the core's
    exact clearance, and Css = 1000 / 60 / CL (ng/mL per mg/h)."""
    from ketadose.pk.catalogue import model_catalogue
    from ketadose.pk.models import MODELS
    from ketadose.render.documents.models import document
    from ketadose.render.models import models_table

    result = model_catalogue()
    rows = json.loads(to_json(document(result)))
    assert [r["id"] for r in rows][:len(MODELS)] == list(MODELS)
    buf = io.StringIO()
    models_table(result, buf)
    shown = buf.getvalue()
    for m, r in zip(result.models, rows, strict=True):
        assert m.id in shown and r["clearance_l_per_min_70kg"] == round(
            m.clearance_l_per_min_70kg, 4)
        assert r["css_ng_per_ml_per_mg_per_h"] == pytest.approx(
            1000 / 60 / m.clearance_l_per_min_70kg, abs=0.005)
        assert f"{r['css_ng_per_ml_per_mg_per_h']:.2f} ng/mL" in shown
        assert (r["variability"] is None) == (m.variability is None)
