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

from ketadose.pk.models import CODE, VERIFIED

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
    """A PK model's typical values and between-patient variability (--population)."""

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


# ----------------------------------------------------------------------------- system models
# Models whose structure does not fit the mammillary layout of models.Params: solved by
# batch.SystemBatchSolver from one matrix per virtual patient. Used with --population only.

_PR_ABS = ("Perez-Ruixo C, Rossenu S, Zannikos P, Nandy P, Singh J, Drevets WC, Perez-Ruixo JJ. "
           "Population Pharmacokinetics of Esketamine Nasal Spray and its Metabolite "
           "Noresketamine in Healthy Subjects and Patients with Treatment-Resistant Depression. "
           "Clin Pharmacokinet 2021;60:501-516, doi:10.1007/s40262-020-00953-4, abstract")
_PR_T3 = ("Perez-Ruixo 2021 Table 3 as transcribed by nlmixr2lib "
          "(inst/modeldb/specificDrugs/PerezRuixo_2020_esketamine.R); not checked against the paper")


@dataclass(frozen=True)
class SystemPopulationModel:
    """A population model given as a system of compartments (typical values, variability)."""

    model: object  # a models.Model (metadata: name, citation, drug, status)
    typical: dict  # name -> Sourced, per hour and litres, as published
    iiv: dict  # name -> Sourced (CV as a fraction)
    covariates_text: str
    residual: dict = field(default_factory=dict)
    notes: tuple = ()
    warnings: tuple = ()  # shown with every run (known disagreements of the transcription)
    metabolite_name: str = "S-norketamine"
    correlations: tuple = ()
    units: str = ("as published, for every weight: volumes L, clearances and flows L/h, rate "
                  "constants 1/h, fgut fraction, dpo_h hours")

    @property
    def scaling(self) -> str:
        return self.covariates_text

    @property
    def metabolite(self):
        return _MetaboliteLabel(self.metabolite_name, self.typical["cln"], self.typical["vcn"])

    @property
    def clearance_l_per_min(self) -> float:
        """Typical S-ketamine clearance: hepatic blood flow x extraction (well-stirred liver)."""
        t = {k: v.value for k, v in self.typical.items()}
        cl_int = t["vh"] * (t["kel"] + t["kmet"])
        return t["qh"] * cl_int / (t["qh"] + cl_int) / 60.0

    def marks(self) -> list:
        out = []
        for what, s in [(f"typical {k}", v) for k, v in self.typical.items()] + \
                [(f"variability of {k}", v) for k, v in self.iiv.items()] + \
                [(f"residual error ({k})", v) for k, v in self.residual.items()]:
            if s.status != VERIFIED:
                out.append(f"{what}: {s.status} ({s.source})")
        return out


@dataclass(frozen=True)
class _MetaboliteLabel:
    """What the output shows about the metabolite of a system model."""

    name: str
    cl_70_l_h: Sourced
    v_70_l: Sourced
    cl_slope_per_h: Sourced = Sourced(0.0, "no time trend in this model", VERIFIED)


def _perez_ruixo():
    from ketadose.pk.models import Model

    model = Model(
        "perezruixo-2021", "Perez-Ruixo 2021 (S-ketamine and S-norketamine, adults)",
        "esketamine",
        "820 adults (256 healthy volunteers, 564 patients with treatment-resistant depression), "
        "intranasal, IV and oral S-ketamine",
        _PR_ABS.replace(", abstract", ""), CODE,
        "no weight effect (screened, not retained); hepatic blood flow falls 2.19 L/h per year "
        "above 60 years; Asian race (not asked by ketadose: non-Asian values used)",
        "UNVERIFIED",
        "Three compartments for S-ketamine plus a hepato-portal (liver) compartment where it is "
        "cleared and metabolised, two apparent compartments for S-norketamine. Used with "
        "--population only.")
    t = {"vc": Sourced(192.0, _PR_T3, CODE), "q1": Sourced(84.3, _PR_T3, CODE),
         "vp1": Sourced(143.0, _PR_T3, CODE), "q2": Sourced(37.6, _PR_T3, CODE),
         "vp2": Sourced(417.0, _PR_T3 + "; Vc + Vp1 + Vp2 = 752 L, the abstract's esketamine "
                        "volume at steady state", CODE),
         "qh": Sourced(151.0, _PR_T3, CODE), "vh": Sourced(101.0, _PR_T3, CODE),
         "kel": Sourced(1.11, _PR_T3 + " (1/h)", CODE),
         "kmet": Sourced(2.77, _PR_T3 + " (1/h)", CODE),
         "vcn": Sourced(70.0, _PR_T3 + " (V/F)", CODE),
         "cln": Sourced(38.0, _PR_ABS + " (apparent clearance 38 L/h)", VERIFIED),
         "vpn": Sourced(115.0, _PR_T3 + "; Vcn + Vpn = 185 L as in the abstract", CODE),
         "q3": Sourced(26.1, _PR_T3, CODE),
         "fgut": Sourced(0.64, _PR_T3, CODE), "dpo_h": Sourced(0.32, _PR_T3, CODE),
         "ka_po": Sourced(0.97, _PR_T3 + " (1/h)", CODE)}
    iiv = {"vc": Sourced(0.275, _PR_T3, CODE), "vp1": Sourced(0.493, _PR_T3, CODE),
           "qh": Sourced(0.232, _PR_T3, CODE), "vh": Sourced(0.346, _PR_T3, CODE),
           "kel": Sourced(1.20, _PR_T3, CODE), "vcn": Sourced(0.316, _PR_T3, CODE),
           "cln": Sourced(0.254, _PR_T3, CODE), "ka_po": Sourced(1.32, _PR_T3, CODE)}
    return SystemPopulationModel(
        model, t, iiv,
        "no weight effect (screened, not retained); hepatic blood flow -2.19 L/h per year of "
        "age above 60; Asian race not asked (non-Asian values used)",
        residual={"ketamine": Sourced(0.276, _PR_T3 + " (log-scale SD, phase I/II)", CODE),
                  "norketamine": Sourced(0.422, _PR_T3 + " (log-scale SD, phase I/II)", CODE)},
        notes=("The paper reports between-patient variability on kmet but Table 3 gives no value "
               "(per nlmixr2lib): none is applied here (UNVERIFIED).",
               "Fitted in adults (18-86 years); body weight had no effect, so every virtual "
               "patient has the same typical volumes whatever the weight.",
               "Oral: the dose enters over 0.32 h, 64% escapes the gut wall and passes the liver "
               "first (first-pass S-norketamine included); the tool's default oral F is not used.",
               "Intranasal absorption (the model's main route) is not a ketadose route."),
        warnings=("Perez-Ruixo 2021 as transcribed: nlmixr2lib reports that this encoding "
                  "over-predicts the paper's noresketamine AUC (Table 4) by about 1.4-1.6x while "
                  "matching S-ketamine; treat S-norketamine exposure as an upper estimate.",
                  "The abstract gives esketamine clearance 114 L/h and 18.6% of a swallowed "
                  "dose reaching the circulation; the transcribed liver parameters give 109 L/h "
                  "and 17.8% (Qh x extraction, Fgut x (1 - extraction)): a 4% disagreement not "
                  "resolved here."))


SYSTEM_MODELS = {"perezruixo-2021": _perez_ruixo()}
POPULATION_MODELS.update(SYSTEM_MODELS)


def system_matrices(pop: SystemPopulationModel, eta: dict, n: int, age_years, oral: bool):
    """Per-patient system matrices (1/min) and the volumes of the observed compartments."""
    import numpy as np

    t = {k: v.value for k, v in pop.typical.items()}

    def draw(name):
        base = np.full(n, t[name])
        return base * np.exp(eta[name]) if name in eta else base

    vc, vp1, vh, vcn = draw("vc"), draw("vp1"), draw("vh"), draw("vcn")
    q1, q2, vp2, q3, vpn = t["q1"], t["q2"], t["vp2"], t["q3"], t["vpn"]
    qh_typ = t["qh"] - 2.19 * max(0.0, (age_years or 0.0) - 60.0)
    qh = qh_typ * (np.exp(eta["qh"]) if "qh" in eta else 1.0)
    kel, kmet, cln = draw("kel"), np.full(n, t["kmet"]), draw("cln")
    ka = draw("ka_po")
    d = 7 if oral else 6
    k = np.zeros((n, d, d))
    c, p1, p2, liv, mc, mp = range(6)
    h = 60.0  # parameters are per hour; the engine works in minutes
    k[:, c, c] = -(q1 + q2 + qh) / vc / h
    k[:, c, p1], k[:, p1, c], k[:, p1, p1] = q1 / vp1 / h, q1 / vc / h, -q1 / vp1 / h
    k[:, c, p2], k[:, p2, c], k[:, p2, p2] = q2 / vp2 / h, q2 / vc / h, -q2 / vp2 / h
    k[:, c, liv], k[:, liv, c] = qh / vh / h, qh / vc / h
    k[:, liv, liv] = -(qh / vh + kel + kmet) / h
    k[:, mc, liv] = kmet / h
    k[:, mc, mc] = -(cln + q3) / vcn / h
    k[:, mc, mp], k[:, mp, mc], k[:, mp, mp] = q3 / vpn / h, q3 / vcn / h, -q3 / vpn / h
    if oral:
        k[:, 6, 6] = -ka / h
        k[:, liv, 6] = ka / h
    return k, vc, vcn
