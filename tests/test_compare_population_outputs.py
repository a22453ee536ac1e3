"""`compare --population N` in every format (issue 20 item 3, issue 16 item 6): CSV with the
percentile rows of each regimen and its model, and --explain with the derivation of the
population summary (what was drawn, seed, N, which parameters vary and by how much as
published, the percentile method); the JSON contract is schema-checked, with and without
--explain, and every UNVERIFIED or assumed entry is carried in each format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import template_data
from ketadose.output_schemas import SCHEMAS
from ketadose.pk.popmodels import POPULATION_MODELS
from ketadose.render.documents.comparison import POPULATION_CSV_COLUMNS

PATIENT = ["--weight", "70kg", "--height", "175cm", "--age", "45", "--sex", "male"]
REGIMENS = ["crps-schwartzman-2009", "crps-schwartzman-2009", "crps-sigtermans-2009",
            "topical-rabi-2016"]
DOCS = Path(__file__).parent.parent / "docs" / "pk-population.md"


@pytest.fixture(scope="module")
def outputs():
    from click.testing import CliRunner

    from ketadose.cli import cli

    def go(*extra):
        r = CliRunner().invoke(cli, ["compare", *REGIMENS, *PATIENT, "--population", "40",
                                     "--seed", "7", *extra], catch_exceptions=False)
        assert r.exit_code == 0, r.stderr
        return r.stdout

    return {"json": json.loads(go("--format", "json")),
            "json_explain": json.loads(go("--format", "json", "--explain")),
            "yaml_explain": yaml.safe_load(go("--format", "yaml", "--explain")),
            "csv": list(csv.DictReader(io.StringIO(go("--format", "csv")))),
            "csv_explain": list(csv.DictReader(io.StringIO(go("--format", "csv", "--explain")))),
            "table_explain": go("--explain"),
            "schema": json.loads(CliRunner().invoke(cli, ["schema", "compare-population"]).stdout)}


def test_json_contract_with_and_without_explain(outputs):
    for key in ("json", "json_explain", "yaml_explain"):
        jsonschema.validate(outputs[key], SCHEMAS["compare-population"])
        jsonschema.validate(outputs[key], outputs["schema"])
    assert "explain" not in outputs["json"]
    assert outputs["json_explain"]["regimens"] == outputs["json"]["regimens"]  # same numbers
    assert outputs["yaml_explain"] == outputs["json_explain"]


def test_the_schema_can_fail():
    doc = {"ketadose_version": "x", "format_version": 1, "kind": "population-compare",
           "population": {"n": 0, "seed": 1, "common_random_numbers": True}, "regimens": []}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMAS["compare-population"])


def test_explain_says_what_was_drawn_and_what_varies(outputs):
    e = outputs["json_explain"]["explain"]
    assert "40 virtual patients drawn with seed 7" in e["virtual_patients"]
    assert "PCG64" in e["virtual_patients"] and "same virtual patients" in e["common_random_numbers"]
    assert "numpy.percentile" in e["percentiles"] and "linear" in e["percentiles"]
    assert {"peak", "course_auc", "peak_ratio_to_first", "p_peak_above"} <= set(e["measures"])
    by_model = {m["model"]: m for m in e["models"]}
    assert set(by_model) == {"herd-2007", "flint-2017"}  # topical: no model, not listed
    assert by_model["herd-2007"]["regimens"] == ["crps-schwartzman-2009"] * 2
    for mid, m in by_model.items():
        published = POPULATION_MODELS[mid].iiv
        assert [v["parameter"] for v in m["varying"]] == list(published)
        for v in m["varying"]:
            assert v["cv_percent"] == pytest.approx(published[v["parameter"]].value * 100)
            assert v["source"] == published[v["parameter"]].source
        assert m["held"]["weight_kg"] == 70 and "not applied" in m["residual_error"]
    assert [c["parameters"] for c in by_model["flint-2017"]["correlations"]] == [["cl", "cl_m"]]


def test_explain_on_the_terminal(outputs):
    out = outputs["table_explain"]
    assert "How the population summary was derived (--explain):" in out
    assert "40 virtual patients drawn with seed 7" in out
    assert "model herd-2007 (verified (abstract)) for crps-schwartzman-2009" in out
    assert "cl (typical 1.5) CV 38.1%" in out and "correlation cl-cl_m: r = 0.506" in out


def test_csv_rows_are_the_json_numbers(outputs):
    rows, doc = outputs["csv"], outputs["json"]["regimens"]
    assert list(rows[0]) == POPULATION_CSV_COLUMNS
    for i, r in enumerate(doc):
        mine = [row for row in rows if row["regimen"] == r["id"]]
        if i == 1:  # the same id twice: its rows come twice, in order
            mine = mine[len(mine) // 2:]
        elif i == 0:
            mine = mine[:len(mine) // 2]
        if r["model"] is None:
            assert [(m["measure"], m["note"]) for m in mine] == [("not simulated", r["note"])]
            continue
        peak = next(m for m in mine if m["measure"] == "peak")
        assert {k: float(peak[k]) for k in r["peak_ng_per_ml"]} == r["peak_ng_per_ml"]
        auc = next(m for m in mine if m["measure"] == "course_auc")
        assert float(auc["p50"]) == r["course_auc_ng_h_per_ml"]["p50"]
        for t in r["thresholds"]:
            above = next(m for m in mine if m["measure"] == "p_peak_above"
                         and float(m["threshold_ng_per_ml"]) == t["ng_per_ml"])
            assert float(above["value"]) == t["p_peak_above"] and above["source"] == t["source"]
            assert [float(above["ci95_low"]), float(above["ci95_high"])] == t["p_peak_above_ci95"]
        assert all(m["unverified"] == " | ".join(r["unverified"]) for m in mine)
        assert all(m["model"] == r["model"] and m["model_status"] == r["model_status"]
                   and m["n"] == "40" and m["seed"] == "7" for m in mine)
        days = {int(m["day"]) for m in mine if m["measure"] == "cmax"}
        assert days == set(range(1, max(days) + 1)) and len(days) >= 2
    ratio = [row for row in rows if row["measure"] == "peak_ratio_to_first"]
    assert all(float(ratio[0][f"p{p}"]) == 1.0 for p in (5, 25, 50, 75, 95))  # same patients


def test_csv_percentiles_are_ordered_and_marks_present(outputs):
    for row in outputs["csv"]:
        if row["p5"]:
            values = [float(row[f"p{p}"]) for p in (5, 25, 50, 75, 95)]
            assert values == sorted(values)
    sig = [r for r in outputs["csv"] if r["regimen"] == "crps-sigtermans-2009"]
    assert all("model flint-2017: transcribed in code" in r["unverified"] for r in sig)
    assert all("phase 'titrated infusion' max: 7.2 mcg/kg/min" in r["unverified"] for r in sig)


def test_csv_explain_column(outputs):
    rows = outputs["csv_explain"]
    assert list(rows[0]) == [*POPULATION_CSV_COLUMNS, "explain"]
    for row in rows:
        if row["model"]:
            assert "40 virtual patients drawn with seed 7" in row["explain"]
            assert f"varying ({row['model']})" in row["explain"]
        else:
            assert row["explain"] == ""
    assert [{k: v for k, v in r.items() if k != "explain"} for r in rows] == outputs["csv"]


def test_every_csv_column_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for column in [*POPULATION_CSV_COLUMNS, "explain"]:
        assert f"`{column}`" in text, column


def test_csv_text_from_files_is_literal(tmp_path):
    from click.testing import CliRunner

    from ketadose.cli import cli

    data = template_data("crps-sigtermans-2009.yaml")
    data["id"] = "evil-sigtermans"
    data["schedule"]["phases"][0]["unverified"]["max"] = "=cmd|' \x1b[2J <b>"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(cli, ["compare", str(path), *PATIENT, "--population", "10",
                                 "--format", "csv"], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert "\x1b" not in r.stdout and "max: =cmd|' \\x1b[2J <b>" in r.stdout
