"""docs/pk-validation.md is what bench/pk_validation.py produces, and the code's default models
are the ones that table selects (not chosen by habit)."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import pk_validation  # noqa: E402

from ketadose.pk.models import DEFAULT_MODEL, MODELS  # noqa: E402
from ketadose.pk.population import DEFAULT_POPULATION_MODEL  # noqa: E402


def test_document_is_generated_from_the_script():
    rows = pk_validation.results()
    assert pk_validation.DOC.read_text(encoding="utf-8") == pk_validation.render(rows), \
        "docs/pk-validation.md is stale: run python bench/pk_validation.py --write"


def test_defaults_are_chosen_from_the_validation_table():
    chosen = pk_validation.choose_defaults(pk_validation.results())
    for drug, model in chosen["population"].items():
        assert DEFAULT_POPULATION_MODEL[drug] == model
    for drug, model in chosen["one_patient"].items():
        assert DEFAULT_MODEL[drug] == model


def test_every_study_names_its_source_and_observation():
    for s in pk_validation.studies():
        assert s.source and s.spread and s.observed > 0
        assert any(m.drug == s.drug for m in MODELS.values())
    assert any(s.chronic_pain for s in pk_validation.studies())
