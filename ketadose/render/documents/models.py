"""The `models --format json` contract: one object per model (a list), from the ModelCatalogue."""

from __future__ import annotations

from ketadose.pk.catalogue import ModelCatalogue, ModelEntry


def document(result: ModelCatalogue) -> list:
    return [model_data(m) for m in result.models]


def model_data(m: ModelEntry) -> dict:
    return {"id": m.id, "name": m.name, "drug": m.drug, "status": m.status,
            "default_for": list(m.default_for), "population": m.population,
            "citation": m.citation, "covariates": m.covariates, "sampling": m.sampling,
            "notes": m.notes, "parameters_70kg": m.parameters_70kg,
            "clearance_l_per_min_70kg": round(m.clearance_l_per_min_70kg, 4),
            "css_ng_per_ml_per_mg_per_h": round(m.css_ng_per_ml_per_mg_per_h, 2),
            "variability": None if m.variability is None else [
                {"parameter": v.parameter, "cv_percent": v.cv_percent, "status": v.status,
                 "source": v.source} for v in m.variability],
            "population_default_for": list(m.population_default_for),
            "unverified": list(m.unverified)}
