"""Published ketamine PK models, each with its parameters as published or as transcribed by
established simulators, its covariates, population, drug form and verification status
(docs/evidence.md PK1). Pure data and arithmetic: no numpy here."""

from __future__ import annotations

import math
from dataclasses import dataclass

VERIFIED = "verified (abstract)"
CODE = "transcribed in code"
UNVERIFIED = "UNVERIFIED"


@dataclass(frozen=True)
class Params:
    """Micro-constants for one patient (volumes L, rate constants 1/min)."""

    v1_l: float
    k10: float
    k12: float = 0.0
    k21: float = 0.0
    k13: float = 0.0
    k31: float = 0.0
    # norketamine (metabolite) compartment, where the model has one
    fm: float | None = None  # fraction of ketamine elimination forming the metabolite
    vm_l: float | None = None
    kme: float | None = None  # metabolite elimination, 1/min

    @property
    def cl_l_min(self) -> float:
        return self.k10 * self.v1_l

    def as_dict(self) -> dict:
        return {"v1_l": self.v1_l, "k10_per_min": self.k10, "k12_per_min": self.k12,
                "k21_per_min": self.k21, "k13_per_min": self.k13, "k31_per_min": self.k31}


@dataclass(frozen=True)
class Model:
    """A published PK model: its constants, population, citation and status."""

    id: str
    name: str
    drug: str  # racemic-ketamine | esketamine
    population: str
    citation: str
    status: str
    covariates: str
    sampling: str
    notes: str

    def params(self, weight_kg: float) -> Params:
        return _PARAMS[self.id](weight_kg)


def _from_clearances(v1, v2, v3, cl, q2, q3) -> Params:
    """Micro-constants (1/min) from volumes (L) and clearances (L/min)."""
    return Params(v1, cl / v1, q2 / v1 if v2 else 0.0, q2 / v2 if v2 else 0.0,
                  q3 / v1 if v3 else 0.0, q3 / v3 if v3 else 0.0)


def _domino(w):
    # STANPUMP / stanpumpR: vc = .063 * mass; k10 .438, k12 .592, k13 .590, k21 .247, k31 .0146
    return Params(0.063 * w, 0.438, 0.592, 0.247, 0.590, 0.0146)


def _herd(w):
    # Herd 2007 abstract: V1 38.7 L, V2 102 L, CL 90 L/h, Q 215 L/h per 70 kg; CL scaled ^0.75
    s = w / 70.0
    return _from_clearances(38.7 * s, 102.0 * s, 0.0, 90.0 / 60 * s ** 0.75, 215.0 / 60 * s ** 0.75, 0.0)


def _kamp(w):
    # opentiva "Klamp" 3-compartment transcription at 70 kg (UNVERIFIED); scaled like Herd
    s = w / 70.0
    v1 = 25.0 * s  # V2 56 and V3 157 L enter only through k12/k21 and k13/k31
    k10, k12, k21, k13, k31 = 0.056, 0.1073, 0.0479, 0.0527, 0.00839
    c = s ** 0.75 / s  # clearances scale ^0.75, volumes ^1: rate constants scale ^-0.25
    return Params(v1, k10 * c, k12 * c, k21 * c, k13 * c, k31 * c)


def _flint(w):
    # Flint 2017, 70-kg standardised: CL 112 L/h, Q 196 L/h, V2 545 L (abstract), V1 7.73 L
    # (nlmixr2lib transcription of Table 3); volumes x (W/70), clearances x (W/70)^0.75 (Methods,
    # as transcribed). The same numbers as popmodels.py, so one patient equals the typical one.
    s = w / 70.0
    return _from_clearances(7.73 * s, 545.0 * s, 0.0, 112.0 / 60 * s ** 0.75,
                            196.0 / 60 * s ** 0.75, 0.0)


_PARAMS = {"domino-1984": _domino, "herd-2007": _herd, "kamp-2020-opentiva": _kamp,
           "flint-2017": _flint}

MODELS = {
    "domino-1984": Model(
        "domino-1984", "Domino 1984 (STANPUMP constants)", "racemic-ketamine",
        "adult surgical patients, racemic ketamine (the TIVA/TCI standard)",
        "Domino EF, Domino SE, Smith RE, et al. Ketamine kinetics in unmedicated and "
        "diazepam-premedicated subjects. Clin Pharmacol Ther 1984;36:645-653",
        CODE, "V1 = 0.063 L/kg x weight; rate constants fixed (clearance proportional to weight)",
        "UNVERIFIED (paper not retrieved)",
        "Identical constants in STANPUMP, stanpumpR and opentiva; the paper was not retrieved. "
        "Clearance about 1.5x the 2020 meta-analytic value, so it predicts ~30% lower "
        "steady-state concentrations; it under-predicted an ICU steady state (docs/evidence.md PK1.4)."),
    "herd-2007": Model(
        "herd-2007", "Herd 2007 (paediatric, allometric to 70 kg)", "racemic-ketamine",
        "54 children (8 +/- 3.5 y), emergency-department sedation",
        "Herd DW, Anderson BJ, Holford NHG. Paediatr Anaesth 2007;17:622-629, PMID 17564643",
        VERIFIED, "volumes x (W/70); clearances x (W/70)^0.75", "UNVERIFIED",
        "A paediatric model scaled to adult size: an extrapolation for adults; shows the spread "
        "between models."),
    "kamp-2020-opentiva": Model(
        "kamp-2020-opentiva", "Kamp 2020-like (opentiva 3-compartment)", "racemic-ketamine",
        "pooled raw data of 14 studies (meta-analysis, adults)",
        "Kamp J et al. Anesthesiology 2020;133:1192-1213, doi:10.1097/ALN.0000000000003577 "
        "(parameters as transcribed by opentiva)",
        UNVERIFIED, "volumes x (W/70); clearances x (W/70)^0.75 (scaling assumed)", "arterial",
        "The paper's meta-analytic clearance (79 L/h/70 kg) is verified; these 3-compartment "
        "constants (no venous delay) are an UNVERIFIED transcription. Arterial models run higher "
        "than venous during infusion."),
    "flint-2017": Model(
        "flint-2017", "Flint 2017 (S-ketamine, 70-kg standardised)", "esketamine",
        "children in paediatric intensive care, S-ketamine",
        "Flint RB et al. 2017 (S-ketamine in PICU children), Table 3 as transcribed by nlmixr2lib",
        CODE, "standardised to 70 kg; volumes x (W/70), clearances x (W/70)^0.75 (assumed)",
        "UNVERIFIED",
        "An S-ketamine model from critically ill children (nlmixr2lib marks its compartment "
        "metadata verified = FALSE). Its S-norketamine part (apparent CL/fm 53.2 L/h/70 kg, "
        "V/fm 1 L, clearance rising 0.87%/h) is solved exactly in closed form, the clearance "
        "held constant over 15-min steps (under 0.1% error)."),
}

# Chosen from docs/pk-validation.md by the rule in bench/pk_validation.py (choose_defaults):
# the smallest mean |log(predicted / observed)| over the cited studies of each drug form.
# tests/test_pk_validation.py fails if the table would choose differently.
DEFAULT_MODEL = {"racemic-ketamine": "herd-2007", "esketamine": "flint-2017"}

# Routes: bioavailability F and absorption rate ka (1/min) with their sources.
ROUTE_DEFAULTS = {
    ("oral", "racemic-ketamine"): (0.20, math.log(2) / 59.0,
                                   "F about 20% (Yanagihara 2003, Biopharm Drug Dispos 24:37); "
                                   "absorption half-time 59 min (Brunette 2011, PMID 21355949, "
                                   "children)"),
    ("oral", "esketamine"): (0.08, math.log(2) / 59.0,
                             "F 8% (Fanta 2015, PMID 25724645); absorption half-time 59 min "
                             "(Brunette 2011, PMID 21355949, racemic, children)"),
    ("sc", "racemic-ketamine"): (0.9, math.log(2) / 20.0,
                                 "ASSUMPTION, no human data: F 0.9 and absorption half-time 20 min "
                                 "(docs/evidence.md PK1.3 suggests these by analogy with IM); override with "
                                 "--f and --ka"),
    ("sc", "esketamine"): (0.9, math.log(2) / 20.0,
                           "ASSUMPTION, no human data: F 0.9 and absorption half-time 20 min "
                           "(docs/evidence.md PK1.3); override with --f and --ka"),
}

# Concentration thresholds (plasma ketamine, mostly venous), each with its source.
THRESHOLDS = {
    "racemic-ketamine": (
        ("psychotomimetic effects begin to rise", 50.0,
         "Bowdle 1998, Anesthesiology 88:82 (effects linear from 50 to 200 ng/mL)"),
        ("analgesia anchor", 100.0, "Herd 2007, PMID 17564643 (0.1 mg/L associated with analgesia)"),
        ("top of the analgesic range (dissociation likely above)", 200.0,
         "Bowdle 1998; Zanos 2018 Table 1 (analgesia 70-160 ng/mL)"),
        ("awakening from ketamine anaesthesia", 640.0,
         "Idvall 1979, BJA 51:1167 (2.7 umol/L)"),
    ),
    "esketamine": (
        ("CRPS analgesic C50 (S-ketamine)", 10.5, "Dahan 2011, PMID 20638877"),
        ("psychotomimetic effects begin to rise (racemic data)", 50.0, "Bowdle 1998, Anesthesiology 88:82"),
    ),
}

# Display bands: a synthesis, not a source (docs/evidence.md PK2).
BANDS = ((50.0, "little effect expected below"), (70.0, "analgesic range 70-200"),
         (200.0, "strong dissociation likely 200-600"), (600.0, "approaching emergence > 600"),
         (1000.0, "anaesthetic > 1000"))
