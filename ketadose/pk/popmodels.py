"""Published models with their between-patient variability, as published, each value cited.

Pure data and arithmetic (no numpy): typical values as clearances and volumes at a given weight,
the variability of each parameter as published (a percentage), correlations, residual error and,
where the model has one, the norketamine (metabolite) part. Every entry names where it comes from
and how firm it is; `ketadose models` and every population output show these marks.

Convention (an interpretation, shown to the user): a published "CV%" or "BSV%" is read as the
coefficient of variation of a log-normal parameter, so omega^2 = ln(1 + CV^2). NONMEM papers
sometimes report sqrt(omega^2) instead; for CV <= 40% the two differ by under 4% of the CV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ketadose.pk.models import CODE, UNVERIFIED, VERIFIED

ASSUMPTION = "ASSUMPTION"

CV_CONVENTION = ("published variability read as the CV of a log-normal parameter: "
                 "omega^2 = ln(1 + CV^2) (an interpretation; a paper may mean sqrt(omega^2))")


@dataclass(frozen=True)
class Sourced:
    """One published number with where it comes from and how firm it is."""

    value: float
    source: str
    status: str


@dataclass(frozen=True)
class Metabolite:
    """Norketamine formed from the parent's elimination (apparent units, fm folded in)."""

    cl_70_l_h: Sourced  # apparent clearance CL/fm at 70 kg, L/h
    v_70_l: Sourced  # apparent volume V/fm at 70 kg, L
    cl_slope_per_h: Sourced  # linear rise of the clearance with time since the first dose
    fm: Sourced  # fraction of the parent's elimination that forms the metabolite (apparent: 1)
    name: str = "norketamine"


@dataclass(frozen=True)
class PopulationModel:
    model_id: str  # the key in models.MODELS
    typical_70: dict  # name -> Sourced, clearances in L/h and volumes in L at 70 kg
    scaling: str  # how typical values follow weight
    iiv: dict  # parameter name -> Sourced (CV as a fraction)
    correlations: tuple = ()  # (name1, name2, Sourced(r))
    residual: dict = field(default_factory=dict)  # analyte -> Sourced (proportional SD fraction)
    metabolite: Metabolite | None = None
    notes: tuple = ()  # assumptions and missing pieces, shown with every population output

    def typical(self, weight_kg: float) -> dict:
        """Typical clearances (L/min) and volumes (L) for this weight (allometric, 70-kg based)."""
        s = weight_kg / 70.0
        out = {}
        for name, p in self.typical_70.items():
            if name.startswith("v"):
                out[name] = p.value * s
            else:
                out[name] = p.value / 60.0 * s ** 0.75
        return out

    def marks(self) -> list:
        """Every entry that is not verified in a primary source, in words (shown everywhere)."""
        out = []
        items = [(f"typical {k}", v) for k, v in self.typical_70.items()]
        items += [(f"variability of {k}", v) for k, v in self.iiv.items()]
        items += [(f"correlation {a}-{b}", r) for a, b, r in self.correlations]
        items += [(f"residual error ({k})", v) for k, v in self.residual.items()]
        if self.metabolite:
            m = self.metabolite
            items += [("norketamine clearance", m.cl_70_l_h), ("norketamine volume", m.v_70_l),
                      ("norketamine clearance time trend", m.cl_slope_per_h)]
        for what, s in items:
            if s.status != VERIFIED:
                out.append(f"{what}: {s.status} ({s.source})")
        return out


def omega2(cv: float) -> float:
    return math.log(1.0 + cv * cv)


_HERD_SRC = "Herd DW, Anderson BJ, Holford NHG. Paediatr Anaesth 2007;17:622-629, PMID 17564643, abstract"
_FLINT_ABS = ("Flint RB et al. Pharmacokinetics of S-ketamine during prolonged sedation at the "
              "pediatric intensive care unit. Paediatr Anaesth 2017;27:1098-1107, "
              "doi:10.1111/pan.13239, abstract")
_FLINT_T3 = ("Flint 2017 Table 3 as transcribed by nlmixr2lib "
             "(inst/modeldb/specificDrugs/Flint_2017_s_ketamine.R); not checked against the paper")

POPULATION_MODELS = {
    "herd-2007": PopulationModel(
        "herd-2007",
        {"cl": Sourced(90.0, _HERD_SRC, VERIFIED), "v1": Sourced(38.7, _HERD_SRC, VERIFIED),
         "q2": Sourced(215.0, _HERD_SRC, VERIFIED), "v2": Sourced(102.0, _HERD_SRC, VERIFIED)},
        "volumes x (W/70); clearances x (W/70)^0.75 (Herd 2007: standardised to 70 kg with "
        "allometric models)",
        {"v1": Sourced(0.64, _HERD_SRC, VERIFIED), "v2": Sourced(0.517, _HERD_SRC, VERIFIED),
         "cl": Sourced(0.381, _HERD_SRC, VERIFIED), "q2": Sourced(0.19, _HERD_SRC, VERIFIED)},
        notes=("Correlations between the parameters are not in the abstract: drawn independently "
               "(ASSUMPTION).",
               "Residual error is not in the abstract: not shown (UNVERIFIED).",
               "Fitted in 54 children (8.3 +/- 3.5 y); adults are an allometric extrapolation.",
               "No norketamine part: racemic courses get no norketamine prediction from this model."),
    ),
    "flint-2017": PopulationModel(
        "flint-2017",
        {"cl": Sourced(112.0, _FLINT_ABS, VERIFIED), "v1": Sourced(7.73, _FLINT_T3, CODE),
         "q2": Sourced(196.0, _FLINT_ABS, VERIFIED), "v2": Sourced(545.0, _FLINT_ABS, VERIFIED)},
        "volumes x (W/70); clearances x (W/70)^0.75 (exponents fixed; Flint 2017 Methods as "
        "transcribed by nlmixr2lib)",
        {"cl": Sourced(0.402, _FLINT_T3 + "; 40% in the abstract", VERIFIED),
         "cl_m": Sourced(1.04, _FLINT_T3 + "; 104% in the abstract", VERIFIED)},
        correlations=(("cl", "cl_m", Sourced(0.506, _FLINT_T3, CODE)),),
        residual={"ketamine": Sourced(0.419, _FLINT_T3, CODE),
                  "norketamine": Sourced(0.475, _FLINT_T3, CODE)},
        metabolite=Metabolite(
            Sourced(53.2, _FLINT_T3 + "; 53 L/h/70 kg in the abstract", VERIFIED),
            Sourced(1.0, _FLINT_T3 + " (fixed; fm not identifiable)", CODE),
            Sourced(0.0087, _FLINT_T3 + " (0.870%/h)", CODE),
            Sourced(1.0, "apparent units: fm folded into CL/fm and V/fm (" + _FLINT_T3 + ")", CODE),
            name="S-norketamine"),
        notes=("Fitted in 25 ventilated children (0.02-12.5 y) in intensive care; adults are an "
               "allometric extrapolation.",
               "Between-patient variability was identifiable only for the two clearances "
               "(Flint 2017): V1, Q and V2 are the same for every virtual patient.",
               "S-norketamine is in apparent units (CL/fm, V/fm): the prediction is of the "
               "measured concentration only if fm is as in the study."),
    ),
}


def population_model(model_id: str) -> PopulationModel | None:
    return POPULATION_MODELS.get(model_id)
