"""The `models` command's result: every PK model with its status, population, citation, typical
parameters at 70 kg and, where published, its between-patient variability (for --population).

Pure: built from the model tables (pk/models.py, pk/popmodels.py); renderers round and lay it
out (render/models.py, render/documents/models.py).
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_KG = 70.0  # the weight the listing shows typical parameters at


@dataclass(frozen=True)
class Variability:
    """One published between-patient variability (CV %), with its status and source."""

    parameter: str
    cv_percent: float
    status: str
    source: str


@dataclass(frozen=True)
class ModelEntry:
    """One PK model as listed: status, routes it is the default for."""

    id: str
    name: str
    drug: str
    status: str
    default_for: tuple[str, ...]  # routes it is the one-patient default for
    population: str
    citation: str
    covariates: str
    sampling: str
    notes: str
    parameters_70kg: dict
    clearance_l_per_min_70kg: float
    variability: tuple[Variability, ...] | None  # None: none published (not for --population)
    population_default_for: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()

    @property
    def css_ng_per_ml_per_mg_per_h(self) -> float:
        """Steady-state concentration per mg/h infused: 1000 ng/mg / 60 min/h / CL (L/min)."""
        return 1000 / 60 / self.clearance_l_per_min_70kg


@dataclass(frozen=True)
class ModelCatalogue:
    """The PK models as `ketadose models` lists them."""

    models: tuple[ModelEntry, ...]


def model_catalogue() -> ModelCatalogue:
    """The one-patient models, then the models for --population only."""
    from ketadose.pk.models import DEFAULT_MODEL, MODELS
    from ketadose.pk.popmodels import SYSTEM_MODELS

    entries = []
    for m in MODELS.values():
        p = m.params(REFERENCE_KG)
        entries.append(_entry(m, tuple(d for d, mid in DEFAULT_MODEL.items() if mid == m.id),
                              p.as_dict(), p.cl_l_min))
    for sm in SYSTEM_MODELS.values():  # models for --population only (not one patient)
        entries.append(_entry(sm.model, (), {k: v.value for k, v in sm.typical.items()},
                              sm.clearance_l_per_min))
    return ModelCatalogue(tuple(entries))


def _entry(m, default_for: tuple, parameters: dict, clearance: float) -> ModelEntry:
    return ModelEntry(m.id, m.name, m.drug, m.status, default_for, m.population, m.citation,
                      m.covariates, m.sampling, m.notes, parameters, clearance,
                      **_variability(m.id))


def _variability(model_id: str) -> dict:
    """Published between-patient variability (for --population), with status and source."""
    from ketadose.pk.popmodels import POPULATION_MODELS
    from ketadose.pk.population import DEFAULT_POPULATION_MODEL

    pop = POPULATION_MODELS.get(model_id)
    if pop is None:
        return {"variability": None}
    # the CV as the source gives it, in percent (the fraction times 100, float noise removed)
    return {"variability": tuple(Variability(k, round(v.value * 100, 2), v.status, v.source)
                                 for k, v in pop.iiv.items()),
            "population_default_for": tuple(d for d, mid in DEFAULT_POPULATION_MODEL.items()
                                            if mid == model_id),
            "unverified": tuple(pop.marks() + [n for n in pop.notes if "UNVERIFIED" in n
                                               or "ASSUMPTION" in n])}
