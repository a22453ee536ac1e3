"""Drug interactions (KD-DDI-...). Exposure changes are route-specific: ketamine has a high
hepatic extraction, so CYP modulation changes oral exposure a lot and IV exposure little
(rifampicin: oral AUC -86%, IV -14%). Numbers are from healthy-volunteer studies with oral
S-ketamine unless stated (basis notes D)."""

from __future__ import annotations

from ketadose.findings import Finding
from ketadose.rules import rule
from ketadose.screen import needs

LABEL7 = "US Ketalar label, drug interactions"

# Published exposure changes, by study key in the vocabulary (basis notes D).
STUDIES = {
    "clarithromycin": ("oral S-ketamine AUC x 2.6 and Cmax x 3.6 (clarithromycin)",
                       "Hagelberg NM et al. Eur J Pain 2010;14(6):625-9, PMID 19897389", "raise"),
    "itraconazole": ("no increase in oral S-ketamine AUC (itraconazole); drowsiness increased",
                     "Peltoniemi MA et al. Clin Pharmacol Ther 2011;90(2):296-302, "
                     "doi:10.1038/clpt.2011.140", "none"),
    "ticlopidine": ("oral S-ketamine AUC x 2.4 (ticlopidine); the authors advise a lower dose",
                    "Peltoniemi MA et al. Clin Pharmacol Ther 2011;90(2):296-302, "
                    "doi:10.1038/clpt.2011.140", "raise"),
    "grapefruit-juice": ("oral S-ketamine AUC x 3.0 (range 2.4-3.6) and Cmax x 2.1 (grapefruit juice)",
                         "Peltoniemi MA et al. Eur J Clin Pharmacol 2012;68(6):979-86, PMID 22286159",
                         "raise"),
    "rifampicin": ("oral S-ketamine AUC -86%; IV AUC only -10 to -14% but S-norketamine -50% "
                   "(rifampicin)", "Peltoniemi MA et al. Basic Clin Pharmacol Toxicol "
                   "2012;111(5):325-32; Noppers I et al. Anesthesiology 2011", "lower"),
    "st-johns-wort": ("oral S-ketamine AUC -58% and Cmax -66% (St John's wort); usual doses may "
                      "become ineffective", "Peltoniemi MA et al. Fundam Clin Pharmacol "
                      "2012;26(6):743-50, doi:10.1111/j.1472-8206.2011.00954.x", "lower"),
    "ketoconazole": ("no human ketamine study (itraconazole, also a strong CYP3A inhibitor, had no "
                     "effect); UNVERIFIED", "basis notes D (ketoconazole: no study found)", "unknown"),
}


def _f(rid, severity, title, message, source):
    return Finding(rid, severity, message, source, title=title)


medicines_asked = needs("medications", "Which medicines does the patient take (generic names; "
                                       "[] for none)?")


def _names(meds):
    return ", ".join(m.name for m in meds)


def xanthines(patient, ctx):
    """Theophylline or aminophylline: do not co-administer (lower seizure threshold).

    FAIL: medications: [{name: theophylline}]
    PASS: medications: []
    """
    meds = patient.with_class("xanthine")
    return [_f("KD-DDI-001", "absolute", "Xanthine co-medication",
               f"{_names(meds)}: do not give with ketamine (unpredictable seizures, label 7.1).",
               f"{LABEL7} 7.1")] if meds else None


xanthines = rule(
    "KD-DDI-001", "xanthines", "absolute", f"{LABEL7} 7.1; Ketanest (esketamine) SPC, Norway 2019",
    check=medicines_asked(xanthines))


def nmda(patient, ctx):
    """Memantine, amantadine or dextromethorphan: concomitant NMDA antagonists should be avoided.

    FAIL: medications: [{name: memantine}]
    PASS: medications: []
    """
    meds = patient.with_class("nmda-antagonist")
    return [_f("KD-DDI-002", "relative", "Another NMDA antagonist",
               f"{_names(meds)}: another NMDA antagonist; the memantine SmPC says to avoid the "
               "combination (more CNS effects, risk of psychosis).",
               "memantine SmPC (Ebixa-type; MIMS; Swiss Fachinfo)")] if meds else None


nmda = rule(
    "KD-DDI-002", "nmda-antagonists", "relative", "memantine SmPC (Ebixa-type; MIMS; Swiss Fachinfo)",
    check=medicines_asked(nmda))


def sedatives(patient, ctx):
    """Opioids, benzodiazepines and other CNS depressants: profound sedation, respiratory depression.

    FAIL: medications: [{name: diazepam}]
    PASS: medications: []
    """
    out = []
    opioids = patient.with_class("opioid")
    if opioids:
        mme = [m.mme_per_day for m in opioids]
        total = f" (about {sum(mme):g} mg oral morphine equivalents a day, CDC 2022 factors)" \
            if all(x is not None for x in mme) else ""
        out.append(_f("KD-DDI-003", "caution", "Opioid co-medication",
                      f"{_names(opioids)}{total}: sedation and respiratory depression add up; "
                      "monitor sedation and breathing, and expect slower recovery.", f"{LABEL7} 7.3"))
    other = patient.with_class("benzodiazepine") + patient.with_class("cns-depressant")
    if other:
        out.append(_f("KD-DDI-003", "caution", "Sedative co-medication",
                      f"{_names(other)}: profound sedation and respiratory depression possible; "
                      "benzodiazepines also prolong ketamine's effect.",
                      f"{LABEL7} 7.3; ketamine SmPC (benzodiazepines prolong the effect)"))
    return out


sedatives = rule(
    "KD-DDI-003", "sedatives", "caution", f"{LABEL7} 7.3",
    check=medicines_asked(sedatives))


def pressors(patient, ctx):
    """Sympathomimetics, vasopressin, thyroid hormone, ergot alkaloids, MAO inhibitors: additive pressor effect.

    MAO inhibitors: not in the US label; a consumer leaflet (Cerner Multum) says not within 14
    days, so this is a soft rule where sources disagree.

    FAIL: medications: [{name: levothyroxine}]
    PASS: medications: []
    """
    out = []
    pressor = patient.with_class("sympathomimetic") + patient.with_class("thyroid-hormone")
    if pressor:
        out.append(_f("KD-DDI-004", "caution", "Pressor co-medication",
                      f"{_names(pressor)}: additive rise in blood pressure and heart rate; monitor "
                      "vital signs closely.", f"{LABEL7} 7.2; ketamine SmPC (thyroid hormones)"))
    ergot = patient.with_class("ergot")
    if ergot:
        sev = "absolute" if ctx.drug == "esketamine" else "caution"
        out.append(_f("KD-DDI-004", sev, "Ergot alkaloid",
                      f"{_names(ergot)}: hypertension; contraindicated with esketamine (Ketanest SPC).",
                      "Ketanest (esketamine) SPC, Norway 2019; ketamine SmPC"))
    maoi = patient.with_class("maoi")
    if maoi:
        out.append(_f("KD-DDI-004", "caution", "MAO inhibitor",
                      f"{_names(maoi)}: possible pressor interaction; one consumer source says not "
                      "within 14 days of an MAO inhibitor (not in the US label).",
                      "Cerner Multum consumer leaflet (basis notes D; sources disagree)"))
    return out


pressors = rule(
    "KD-DDI-004", "pressor-drugs", "caution", f"{LABEL7} 7.2; ketamine SmPC; Ketanest SPC",
    check=medicines_asked(pressors))


def exposure(patient, ctx):
    """CYP3A4/CYP2B6 inhibitors and inducers: large changes in ORAL exposure, small IV changes.

    Says by how much, with the study. Oral regimens: caution; IV and SC: info (hepatic extraction
    is high, so systemic exposure changes little), except that inducers halve S-norketamine.

    FAIL (oral regimen): medications: [{name: clarithromycin}]
    PASS: medications: []
    """
    out = []
    oral = ctx.route in ("oral", None)
    for cls in ("cyp3a4-strong-inhibitor", "cyp3a4-moderate-inhibitor", "cyp2b6-inhibitor",
                "cyp3a4-inducer"):
        for med in patient.with_class(cls):
            effect, source, _direction = STUDIES.get(med.study) or (
                f"{med.name} ({cls.replace('-', ' ')}): no ketamine study; SmPCs say inhibitors "
                "may require a lower and inducers a higher dose",
                "ketamine SmPC (Ketamax/Rotexmedica), basis notes D", "unknown")
            route = "oral ketamine" if ctx.route == "oral" else (
                "ketamine (oral changes are large, IV small)" if ctx.route is None else
                f"{ctx.route.upper()} ketamine (IV exposure changes little)")
            out.append(_f("KD-DDI-005", "caution" if oral else "info", "Exposure interaction",
                          f"{med.name} with {route}: {effect}.", source))
    return out


exposure = rule(
    "KD-DDI-005", "exposure-changes", "caution",
    "Hagelberg 2010, PMID 19897389; Peltoniemi 2011, 2012; basis notes D",
    check=medicines_asked(exposure))


def lamotrigine(patient, ctx):
    """Lamotrigine may blunt ketamine's dissociative effects; data conflict.

    FAIL (info): medications: [{name: lamotrigine}]
    PASS: medications: []
    """
    meds = patient.with_class("lamotrigine")
    return [_f("KD-DDI-006", "info", "Lamotrigine",
               "lamotrigine: reduced ketamine's dissociative effects in volunteers (Anand 2000) "
               "but not in later studies; some trials exclude it.",
               "Anand A et al. Arch Gen Psychiatry 2000;57(3):270-6")] if meds else None


lamotrigine = rule(
    "KD-DDI-006", "lamotrigine", "info",
    "Anand A et al. Arch Gen Psychiatry 2000;57(3):270-6; Mathew 2010; Abdallah 2017",
    check=medicines_asked(lamotrigine))


RULES = (xanthines, nmda, sedatives, pressors, exposure, lamotrigine)
