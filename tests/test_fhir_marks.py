"""Every UNVERIFIED number of a template keeps its mark in the FHIR export, as in the table,
HTML and CSV: beside the dose text it qualifies, and with its reason in the request's notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import TEMPLATE_NAMES
from ketadose.io.regimens import load_regimen

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "patient.yaml")


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_fhir_bundle_carries_every_unverified_mark(run, template):
    rid = template.removesuffix(".yaml")
    regimen = load_regimen(rid)[1]
    result = run("plan", rid, "--patient", EXAMPLE, "--format", "fhir", "--override",
                 "reviewed for this test")
    if result.exit_code != 0:
        pytest.skip(f"no plan for the example patient: {result.stderr.splitlines()[:1]}")
    bundle = json.loads(result.stdout)
    texts = []
    for entry in bundle["entry"]:
        res = entry["resource"]
        texts += [n["text"] for n in res.get("note", [])]
        texts += [d["text"] for d in res.get("dosageInstruction", [])]
    notes = "\n".join(texts)
    for where, key, why in regimen.unverified():
        if where.startswith(("monitoring", "stop rule")):
            continue  # not part of a medication request
        assert f"{where} {key}: {why}" in notes, (where, key)
    for phase in regimen.phases:
        if phase.unverified:
            dose_texts = [t for t in texts if t.startswith(f"{phase.name}: ")]
            assert dose_texts and all("[UNVERIFIED: " in t for t in dose_texts), phase.name
