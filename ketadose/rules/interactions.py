"""Drug interactions (KD-DDI-...). Exposure changes are route-specific: ketamine has a high
hepatic extraction, so CYP modulation changes oral exposure a lot and IV exposure little
(rifampicin: oral AUC -86%, IV -14%). Numbers are from healthy-volunteer studies with oral
S-ketamine unless stated (docs/evidence.md D)."""

from __future__ import annotations

import dataclasses

from ketadose.findings import Finding
from ketadose.questions import ask
from ketadose.rules import rule
from ketadose.screen import Missing, needs

LABEL7 = "US Ketalar label, drug interactions"

# Published exposure changes, by study key in the vocabulary (docs/evidence.md D).
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
                     "effect); UNVERIFIED", "docs/evidence.md D (ketoconazole: no study found)", "unknown"),
}


def _f(rid, severity, title, message, source, meds=None):
    """A finding about ``meds``: a medicine stopped with no sourced washout window is counted as
    still acting, marked UNVERIFIED; when only such medicines make an absolute finding, it becomes
    relative (a clinician judges whether the medicine still acts and records why)."""
    unverified = None
    if meds is not None and meds.unknown:
        unverified = (f"washout after stopping {', '.join(meds.unknown)}: no source gives one; "
                      "counted as still acting")
        if severity == "absolute" and not meds.firm:
            severity = "relative"
    return Finding(rid, severity, message, source, title=title, unverified=unverified)


class Taking(list):
    """The medicines of some classes that still act, with what the reader must know about each:
    current ones; ones stopped inside a sourced washout window (with the days left); ones stopped
    when no source gives a window (counted, UNVERIFIED)."""

    def __init__(self, items):
        if not items:  # most calls: none of the classes is taken (the same state, sooner)
            super().__init__()
            self.notes, self.firm, self.unknown = {}, False, []
            return
        super().__init__(m for m, _note, _firm in items)
        self.notes = {id(m): note for m, note, _firm in items}
        self.firm = any(firm for _m, _note, firm in items)
        self.unknown = [m.name for m, _note, firm in items if not firm]

    def label(self, med) -> str:
        note = self.notes.get(id(med))
        return (med.name + (" (regimen adjunct)" if med.adjunct else "")
                + (f" ({note})" if note else ""))

    def only(self, med) -> Taking:
        return Taking([(med, self.notes.get(id(med)), med.name not in self.unknown)])


def taking(patient, ctx, *classes) -> Taking:
    """Medicines of these classes that count today. Washout windows come from the vocabulary
    (MAOI: 14 days, docs/evidence.md D); a medicine past its window does not count."""
    items, seen = [], set()
    for cls in classes:
        for med in patient.with_class(cls):
            if id(med) in seen:
                continue
            seen.add(id(med))
            if med.stopped is None or med.stopped > ctx.today:
                items.append((med, "", True))
                continue
            days = (ctx.today - med.stopped).days
            window = med.washout(cls)
            if window is None:
                items.append((med, f"stopped {med.stopped}, {days} days ago; no washout window "
                                   "is published", False))
            elif days < window[0]:
                items.append((med, f"stopped {med.stopped}: {window[0] - days} of {window[0]} "
                                   "washout days left", True))
    return Taking(items)


MEDICINES_QUESTION = "Which medicines does the patient take ({answer})?"
medicines_asked = needs("medications", MEDICINES_QUESTION)


def _names(meds):
    return ", ".join(meds.label(m) for m in meds)


def xanthines(patient, ctx):
    """Theophylline or aminophylline: do not co-administer (lower seizure threshold).

    FAIL: medications: [{name: theophylline}]
    PASS: medications: []
    """
    meds = taking(patient, ctx, "xanthine")
    return [_f("KD-DDI-001", "absolute", "Xanthine co-medication",
               f"{_names(meds)}: do not give with ketamine (unpredictable seizures, label 7.1).",
               f"{LABEL7} 7.1", meds)] if meds else None


def nmda(patient, ctx):
    """Memantine, amantadine or dextromethorphan: concomitant NMDA antagonists should be avoided.

    FAIL: medications: [{name: memantine}]
    PASS: medications: []
    """
    meds = taking(patient, ctx, "nmda-antagonist")
    return [_f("KD-DDI-002", "relative", "Another NMDA antagonist",
               f"{_names(meds)}: another NMDA antagonist; the memantine SmPC says to avoid the "
               "combination (more CNS effects, risk of psychosis).",
               "memantine SmPC (Ebixa-type; MIMS; Swiss Fachinfo)", meds)] if meds else None


def sedatives(patient, ctx):
    """Opioids, benzodiazepines and other CNS depressants: profound sedation, respiratory depression.

    FAIL: medications: [{name: diazepam}]
    PASS: medications: []
    """
    out = []
    opioids = taking(patient, ctx, "opioid")
    if opioids:
        mme = [m.mme_per_day for m in opioids]
        total = f" (about {sum(mme):g} mg oral morphine equivalents a day, CDC 2022 factors)" \
            if all(x is not None for x in mme) else ""
        out.append(_f("KD-DDI-003", "caution", "Opioid co-medication",
                      f"{_names(opioids)}{total}: sedation and respiratory depression add up; "
                      "monitor sedation and breathing, and expect slower recovery.", f"{LABEL7} 7.3",
                      opioids))
    other = taking(patient, ctx, "benzodiazepine", "cns-depressant")
    if other:
        out.append(_f("KD-DDI-003", "caution", "Sedative co-medication",
                      f"{_names(other)}: profound sedation and respiratory depression possible; "
                      "benzodiazepines also prolong ketamine's effect.",
                      f"{LABEL7} 7.3; ketamine SmPC (benzodiazepines prolong the effect)", other))
    return out


def pressors(patient, ctx):
    """Sympathomimetics, vasopressin, thyroid hormone, ergot alkaloids, MAO inhibitors: additive pressor effect.

    MAO inhibitors: not in the US label; a consumer leaflet (Cerner Multum) says not within 14
    days, so this is a soft rule where sources disagree.

    FAIL: medications: [{name: levothyroxine}]
    PASS: medications: []
    """
    out = []
    pressor = taking(patient, ctx, "sympathomimetic", "thyroid-hormone")
    if pressor:
        out.append(_f("KD-DDI-004", "caution", "Pressor co-medication",
                      f"{_names(pressor)}: additive rise in blood pressure and heart rate; monitor "
                      "vital signs closely.", f"{LABEL7} 7.2; ketamine SmPC (thyroid hormones)",
                      pressor))
    ergot = taking(patient, ctx, "ergot")
    if ergot:
        sev = "absolute" if ctx.drug == "esketamine" else "caution"
        out.append(_f("KD-DDI-004", sev, "Ergot alkaloid",
                      f"{_names(ergot)}: hypertension; contraindicated with esketamine (Ketanest SPC).",
                      "Ketanest (esketamine) SPC, Norway 2019; ketamine SmPC", ergot))
    maoi = taking(patient, ctx, "maoi")
    if maoi:
        out.append(_f("KD-DDI-004", "caution", "MAO inhibitor",
                      f"{_names(maoi)}: possible pressor interaction; one consumer source says not "
                      "within 14 days of an MAO inhibitor (not in the US label).",
                      "Cerner Multum consumer leaflet (docs/evidence.md D; sources disagree)", maoi))
    return out


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
        meds = taking(patient, ctx, cls)
        for med in meds:
            effect, source, _direction = STUDIES.get(med.study) or (
                f"{med.name} ({cls.replace('-', ' ')}): no ketamine study; SmPCs say inhibitors "
                "may require a lower and inducers a higher dose",
                "ketamine SmPC (Ketamax/Rotexmedica), docs/evidence.md D", "unknown")
            route = "oral ketamine" if ctx.route == "oral" else (
                "ketamine (oral changes are large, IV small)" if ctx.route is None else
                f"{ctx.route.upper()} ketamine (IV exposure changes little)")
            out.append(_f("KD-DDI-005", "caution" if oral else "info", "Exposure interaction",
                          f"{meds.label(med)} with {route}: {effect}.", source, meds.only(med)))
    return out


def lamotrigine(patient, ctx):
    """Lamotrigine may blunt ketamine's dissociative effects; data conflict.

    FAIL (info): medications: [{name: lamotrigine}]
    PASS: medications: []
    """
    meds = taking(patient, ctx, "lamotrigine")
    return [_f("KD-DDI-006", "info", "Lamotrigine",
               f"{_names(meds)}: reduced ketamine's dissociative effects in volunteers (Anand "
               "2000) but not in later studies; some trials exclude it.",
               "Anand A et al. Arch Gen Psychiatry 2000;57(3):270-6", meds)] if meds else None


def antihypertensives(patient, ctx):
    """Antihypertensives: hypotension (ketamine SmPC, docs/evidence.md D). While ketamine acts it
    raises blood pressure (label), which can hide the combination's fall; blood pressure is
    checked again after the infusion ends, before the patient leaves.

    FAIL (caution): medications: [{name: amlodipine}]
    PASS: medications: []
    """
    meds = taking(patient, ctx, "antihypertensive")
    if not meds:
        return None
    if ctx.route in ("iv", "sc", "im"):
        when = ("check blood pressure during the infusion and again after it ends, before the "
                "patient leaves")
    elif ctx.route is None:
        when = "check blood pressure during ketamine and again after it ends"
    else:
        when = "check blood pressure at every review, and standing, after dose changes"
    return [_f("KD-DDI-007", "caution", "Antihypertensive co-medication",
               f"{_names(meds)}: hypotension with ketamine is listed in the SmPC; {when}.",
               "ketamine SmPC interactions (antihypertensives: hypotension), docs/evidence.md D; US "
               "Ketalar label adverse reactions (raised blood pressure)", meds)]


def adjuncts(patient, ctx):
    """The regimen's own adjuncts (midazolam, clonidine, gabapentin ...) screened like the
    patient's medicines: against the patient's allergies, against medicines the patient already
    takes (the same medicine twice), and through every interaction rule, so that an opioid taken
    by the patient and a benzodiazepine given by the regimen are reported together.

    FAIL (caution): regimen crps-schwartzman-2009 (midazolam) and medications: [{name: morphine}]
    PASS: a regimen without adjuncts
    """
    # Two parts, one reading the allergies and one the medicines (PARTS: a batch keeps each
    # by what it reads). The findings of the allergy part come first; before, each adjunct's
    # allergy findings came just before its own "already taken" ones, which the screen's sort
    # (severity, then rule) put after every allergy finding anyway (relative before caution).
    allergic = adjunct_allergies(patient, ctx)
    rest = adjunct_medicines(patient, ctx)
    if rest is None or isinstance(rest, Missing):  # no adjuncts to screen, or no vocabulary
        return rest
    return allergic + rest


def _given(ctx):
    """(adjunct, its Medication or None when the vocabulary does not know it) of the regimen's
    adjuncts, or None when there is nothing to screen or nothing to screen it with."""
    regimen = ctx.regimen
    if regimen is None or not getattr(regimen, "adjuncts", ()) or ctx.vocabulary is None:
        return None
    from ketadose.patient import adjunct_medicine

    return [(a, adjunct_medicine(a.name, a.route, ctx.vocabulary)) for a in regimen.adjuncts]


def adjunct_allergies(patient, ctx) -> list:
    """KD-DDI-008, the part that reads the allergies: a regimen adjunct the patient is
    allergic to."""
    return [f for a, med in _given(ctx) or () if med is not None
            for f in _adjunct_allergies(a, med, patient, ctx)]


def adjunct_medicines(patient, ctx):
    """KD-DDI-008, the part that reads the medicines: None when the regimen gives no adjunct,
    Missing without a vocabulary; otherwise the adjuncts the vocabulary does not know, those
    the patient already takes, what they add through every interaction rule and with an
    opioid, and the medicines question when it is unanswered."""
    given = _given(ctx)
    if given is None:
        regimen = ctx.regimen
        if regimen is None or not getattr(regimen, "adjuncts", ()):
            return None
        return Missing("The regimen's adjuncts could not be screened (no vocabulary); screen "
                       f"{', '.join(a.name for a in regimen.adjuncts)} by hand")
    out, known = [], []
    for a, med in given:
        if med is None:
            out.append(Missing(f"The regimen's adjunct {a.name!r} is not a medicine ketadose "
                               "knows: screen it against the patient's medicines and allergies "
                               "by hand"))
            continue
        known.append(med)
        out += _adjunct_taken(a, med, patient)
    if known:
        out += _adjunct_interactions(patient, ctx, known) + _adjunct_sedation(patient, ctx, known)
    if patient.medications is None:
        # the same question as the other interaction rules: asked once, naming every rule
        out.append(Missing(MEDICINES_QUESTION.replace("{answer}", ask("medications", ctx))))
    return out


def _adjunct_allergies(a, med, patient, ctx) -> list:
    """A regimen adjunct the patient is allergic to."""
    subs = ctx.vocabulary.substances.substances
    return [Finding(
        "KD-DDI-008", "relative", f"The regimen gives {med.name} ({a.dose}, {a.route}) "
        f"but the patient is allergic to it ({allergy.text!r}): do not give it; change "
        "the adjunct and record why.", "the regimen's adjuncts; the adjunct's own "
        "label (hypersensitivity contraindicates a medicine)",
        title="Allergy to a regimen adjunct")
        for allergy in patient.allergies or ()
        if any(subs[s].medicine == med.name for s in allergy.substances)]


def _adjunct_taken(a, med, patient) -> list:
    """A regimen adjunct the patient already takes (the same medicine twice)."""
    if not any(m.name == med.name for m in patient.medications or ()):
        return []
    return [Finding(
        "KD-DDI-008", "caution", f"The regimen gives {med.name} ({a.dose}, {a.route}) and "
        f"the patient already takes it: review the total dose.",
        "the regimen's adjuncts", title="Regimen adjunct already taken")]


def _adjunct_interactions(patient, ctx, given) -> list:
    """Every interaction rule on the patient's medicines plus the adjuncts: the findings that
    the adjuncts add, under KD-DDI-008."""
    out = []
    combined = patient.with_medications(tuple(patient.medications or ()) + tuple(given))
    for other in _INTERACTIONS:
        before = other.check(patient, ctx)
        seen = {f.message for f in before if isinstance(f, Finding)} \
            if isinstance(before, list) else set()
        for f in other.check(combined, ctx) or ():
            if isinstance(f, Finding) and f.message not in seen:
                out.append(dataclasses.replace(
                    f, rule="KD-DDI-008", title=f"Regimen adjunct: {f.title}",
                    source=f"{f.source}; the regimen's adjuncts ({other.id})"))
    return out


def _adjunct_sedation(patient, ctx, given) -> list:
    """An opioid the patient takes with a sedative the regimen gives, and ketamine."""
    sedating = [m for m in given if {"benzodiazepine", "cns-depressant"} & set(m.classes)]
    opioids = taking(patient, ctx, "opioid")
    if not (sedating and opioids):
        return []
    return [Finding(
        "KD-DDI-008", "caution", f"{_names(opioids)} taken with "
        f"{', '.join(m.name for m in sedating)} given by the regimen, and ketamine: "
        "profound sedation and respiratory depression are possible; monitor sedation and "
        "breathing throughout and after each session.", f"{LABEL7} 7.3; the regimen's "
        "adjuncts", title="Opioid with a sedative adjunct", unverified=_f(
            "", "caution", "", "", "", opioids).unverified)]


_INTERACTIONS = (
    rule(
        "KD-DDI-001", "xanthines", "absolute", f"{LABEL7} 7.1; Ketanest (esketamine) SPC, Norway 2019",
        check=medicines_asked(xanthines)),
    rule(
        "KD-DDI-002", "nmda-antagonists", "relative", "memantine SmPC (Ebixa-type; MIMS; Swiss Fachinfo)",
        check=medicines_asked(nmda)),
    rule(
        "KD-DDI-003", "sedatives", "caution", f"{LABEL7} 7.3",
        check=medicines_asked(sedatives)),
    rule(
        "KD-DDI-004", "pressor-drugs", "caution", f"{LABEL7} 7.2; ketamine SmPC; Ketanest SPC",
        check=medicines_asked(pressors)),
    rule(
        "KD-DDI-005", "exposure-changes", "caution",
        "Hagelberg 2010, PMID 19897389; Peltoniemi 2011, 2012; docs/evidence.md D",
        check=medicines_asked(exposure)),
    rule(
        "KD-DDI-006", "lamotrigine", "info",
        "Anand A et al. Arch Gen Psychiatry 2000;57(3):270-6; Mathew 2010; Abdallah 2017",
        check=medicines_asked(lamotrigine)),
    rule(
        "KD-DDI-007", "antihypertensives", "caution",
        "ketamine SmPC interactions (antihypertensives: hypotension), docs/evidence.md D",
        check=medicines_asked(antihypertensives)),
)
RULES = _INTERACTIONS + (
    rule(
        "KD-DDI-008", "regimen-adjuncts", "relative",
        "the regimen's adjuncts; the interaction rules KD-DDI-001 to KD-DDI-007",
        check=adjuncts),
)


# The patient fields each rule reads (see contraindications.READS).
READS = {r.id: ("medications",) for r in _INTERACTIONS} | {
    "KD-DDI-008": ("medications", "allergies"),
}
# A rule whose outcome is its parts' outcomes one after the other, each part with the fields
# it reads: a batch keeps each part by its own fields (screen.Memo), so that a new allergy
# list does not run the interaction rules again for medicines already seen.
PARTS = {"KD-DDI-008": ((adjunct_allergies, ("allergies",)), (adjunct_medicines, ("medications",)))}
